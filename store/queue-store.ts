/**
 * The repository for queue.json and dlq.json. Changes happen in transactions: under the data
 * directory lock, load what is needed, change it in memory with the pure rules of `core/`,
 * write back what changed. Reads for display need no lock (every write is an atomic rename).
 */
import { isAbsolute, resolve } from 'node:path';
import { resolveConfig, type Config } from '../core/config.js';
import { QueuectlError } from '../core/errors.js';
import type { DeadJob, Job } from '../core/job.js';
import { reconcile } from '../core/reconcile.js';
import { mkdirDurably, readJsonIfExists, removeStaleTempFiles, writeFileDurably } from './atomic-json.js';
import { parseJobDocument, serializeJobs } from './job-file.js';
import { withLock, type HeldLock } from './lock.js';
import { dataPaths, type DataPaths } from './paths.js';

export interface Transaction {
  /** The jobs of queue.json, loaded on first use. Change them through `setQueue`. */
  queue(): readonly Job[];
  /** The jobs of dlq.json, loaded on first use (duplicates left by a crashed move are repaired then). */
  dlq(): readonly DeadJob[];
  /**
   * Stages a new queue.json. Files are written in the order they were staged: when a job moves
   * between the files, stage the one that gains it first, so a crash between the two writes
   * leaves a duplicate that the next load repairs, never a loss.
   */
  setQueue(jobs: readonly Job[]): void;
  setDlq(jobs: readonly DeadJob[]): void;
  /** The effective settings. */
  config(): Config;
}

export interface Snapshot {
  queue: Job[];
  dlq: DeadJob[];
}

export class QueueStore {
  readonly paths: DataPaths;

  constructor(root: string) {
    this.paths = dataPaths(isAbsolute(root) ? root : resolve(root));
  }

  /** Creates the data directory on first use, durably: its parent is fsynced too. */
  ensureDir(): void {
    mkdirDurably(this.paths.root);
  }

  /** Runs `body` under the lock and writes what it staged. `body` must be synchronous. */
  async transact<T>(body: (tx: Transaction) => T): Promise<T> {
    this.ensureDir();
    return withLock(this.paths.root, this.paths.lock, (lock) => this.runTransaction(lock, body));
  }

  private runTransaction<T>(lock: HeldLock, body: (tx: Transaction) => T): T {
    const { paths } = this;
    let queue: Job[] | undefined;
    let dlq: DeadJob[] | undefined;
    let config: Config | undefined;
    const staged: { file: 'queue' | 'dlq'; text: string }[] = [];
    const stage = (file: 'queue' | 'dlq', jobs: readonly Job[]) => {
      const at = staged.findIndex((entry) => entry.file === file);
      if (at !== -1) staged.splice(at, 1);
      staged.push({ file, text: serializeJobs(jobs) });
    };
    const loadQueue = () => (queue ??= readJobFile(paths.queue));
    const tx: Transaction = {
      queue: loadQueue,
      dlq: () => {
        if (dlq) return dlq;
        const repaired = reconcile(loadQueue(), readJobFile(paths.dlq) as DeadJob[]);
        queue = repaired.queue;
        dlq = repaired.dlq;
        if (repaired.repaired) {
          stage('queue', queue);
          stage('dlq', dlq);
        }
        return dlq;
      },
      setQueue: (jobs) => {
        queue = [...jobs];
        stage('queue', jobs);
      },
      setDlq: (jobs) => {
        dlq = [...jobs];
        stage('dlq', jobs);
      },
      config: () => (config ??= readConfig(paths.config)),
    };
    const result = body(tx);
    for (const { file, text } of staged) {
      lock.assertHeld();
      writeFileDurably(file === 'queue' ? paths.queue : paths.dlq, text);
    }
    return result;
  }

  /** Both files as they are now, without the lock, with a crashed move's duplicate hidden. */
  snapshot(): Snapshot {
    const { queue, dlq } = reconcile(readJobFile(this.paths.queue), readJobFile(this.paths.dlq) as DeadJob[]);
    return { queue, dlq };
  }

  /** Only queue.json, without the lock. */
  readQueue(): Job[] {
    return readJobFile(this.paths.queue);
  }

  readConfig(): Config {
    return readConfig(this.paths.config);
  }

  /** Clears temp files left by writers killed mid-write. */
  removeStaleTempFiles(): number {
    const { paths } = this;
    return removeStaleTempFiles(paths.root, [paths.queue, paths.dlq, paths.config], 60_000);
  }
}

export function readJobFile(path: string): Job[] {
  return parseJobDocument(readJsonIfExists(path), path);
}

export function readConfig(path: string): Config {
  const stored = readJsonIfExists(path);
  if (stored === undefined) return resolveConfig({}, path);
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    throw new QueuectlError(`${path} must hold a JSON object of settings; fix it or move it away`, 'ECORRUPT');
  }
  return resolveConfig(stored as Record<string, unknown>, path);
}
