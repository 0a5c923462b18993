/**
 * What a data directory holds for this machine whatever the store: the logs of the runs it
 * started, the registry of its worker managers, and their log. A store that many hosts share
 * (PostgreSQL) has its jobs elsewhere, and these here.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DataDirLoss, Host, ManagerRegistry, RunLogs } from '../../core/ports/host.js';
import { prepareDataDir } from './data-dir.js';
import { watchDataDir } from './data-dir-watch.js';
import { ManagerFiles } from './manager-registry.js';
import { hostPaths, type HostPaths } from './paths.js';
import { LocalRunLogs } from './run-logs.js';

/** This machine's name, or QUEUECTL_HOST where machines share one (containers, tests). */
export function hostName(): string {
  return process.env.QUEUECTL_HOST || hostname();
}

export class LocalHost implements Host {
  readonly root: string;
  readonly name = hostName();
  readonly logs: RunLogs;
  readonly managers: ManagerRegistry;
  readonly managerLog: string;
  /** The manager records of this data directory (what `watchLoss` checks for). */
  private readonly files: ManagerFiles;

  /** `logs`, `managers`: where a store keeps these for every host (a database), else this data dir's files. */
  constructor(
    root: string,
    options: { logs?: (paths: HostPaths, host: string) => RunLogs; managers?: (files: ManagerFiles, host: string) => ManagerRegistry } = {},
  ) {
    const paths: HostPaths = hostPaths(root);
    this.root = root;
    this.logs = options.logs?.(paths, this.name) ?? new LocalRunLogs(paths);
    this.files = new ManagerFiles(paths.managers);
    this.managers = options.managers?.(this.files, this.name) ?? this.files;
    this.managerLog = paths.managerLog;
  }

  prepare(): void {
    prepareDataDir(this.root);
  }

  async rotateManagerLog(path: string): Promise<boolean> {
    // Loaded here: only a detached manager rotates, and every command makes a host.
    const { needsRotation, rotateManagerLog } = await import('./manager-log.js');
    if (!needsRotation(path)) return false;
    const { withLock } = await import('./lock.js');
    // Every detached manager of the data dir appends to the one log: they rotate it in turn.
    return withLock(this.root, this.rotationLock(), () => rotateManagerLog(path));
  }

  watchLoss(pid: number, onLost: (what: DataDirLoss) => void): () => void {
    const watch = watchDataDir(this.root, this.files.recordPath(pid), onLost);
    return () => watch.stop();
  }

  /** The lock the managers take turns under to rotate their log. */
  protected rotationLock(): string {
    return join(this.root, 'manager.log.lock');
  }
}
