/**
 * The worker registry: one file per running manager, `managers/<pid>.json`, listing its
 * worker children. `worker stop` and `status` find managers here. A file whose process is gone
 * (killed with -9) is recognised as stale: the pid is checked, and on Linux so is the process
 * start time, so a reused pid is not mistaken for a manager.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readProcStat } from '../core/proc-stat.js';
import { mkdirInExisting, readJsonIfExists, writeFileDurably } from './atomic-json.js';
import type { DataPaths } from './paths.js';

export interface ProcessIdentity {
  pid: number;
  /** Start time of the process as the kernel counts it (Linux), to tell a reused pid apart. */
  start: string | null;
}

export interface WorkerRecord extends ProcessIdentity {
  started_at: string;
}

export interface ManagerRecord extends ProcessIdentity {
  started_at: string;
  /** How many workers it keeps running. */
  count: number;
  /** The queues it takes jobs from (`worker start --queue`); null or absent for every queue. */
  queues?: string[] | null;
  workers: WorkerRecord[];
}

export function identityOf(pid: number): ProcessIdentity {
  return { pid, start: readProcStat(pid)?.start ?? null };
}

/**
 * Whether the process still runs: it exists, it is not a zombie (a detached manager that exited
 * stays one until its new parent reaps it, and in a container whose pid 1 never does, forever),
 * and where /proc tells, it started when the record says, so a reused pid is not taken for it.
 */
export function isAlive(process_: ProcessIdentity): boolean {
  try {
    process.kill(process_.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = readProcStat(process_.pid);
  if (stat === null) return !existsSync('/proc/self/stat'); // gone meanwhile, unless there is no /proc
  if (stat.state === 'Z') return false;
  return process_.start === null || stat.start === process_.start;
}

/** Where the record of manager `pid` is. */
export function recordPath(paths: DataPaths, pid: number): string {
  return join(paths.managers, `${pid}.json`);
}

export function writeManagerRecord(paths: DataPaths, record: ManagerRecord): void {
  mkdirInExisting(paths.managers);
  writeFileDurably(recordPath(paths, record.pid), `${JSON.stringify(record, null, 2)}\n`);
}

export function removeManagerRecord(paths: DataPaths, pid: number): void {
  rmSync(recordPath(paths, pid), { force: true });
}

/** Managers whose process is alive; files of dead ones are removed on the way. */
export function liveManagers(paths: DataPaths): ManagerRecord[] {
  let names: string[];
  try {
    names = readdirSync(paths.managers).filter((name) => /^\d+\.json$/.test(name));
  } catch {
    return [];
  }
  const live: ManagerRecord[] = [];
  for (const name of names) {
    const path = join(paths.managers, name);
    let record: ManagerRecord | undefined;
    try {
      record = readJsonIfExists(path) as ManagerRecord | undefined;
    } catch {
      continue; // not ours to judge: leave a foreign file alone
    }
    if (!record) continue;
    if (isAlive(record)) live.push(record);
    else rmSync(path, { force: true });
  }
  return live.sort((a, b) => a.pid - b.pid);
}
