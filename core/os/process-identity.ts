/**
 * A process as it can be recognised later: its pid, and on Linux its start time, so that a pid
 * the kernel reused for another process is not taken for it.
 */
import { existsSync } from 'node:fs';
import { readProcStat } from './proc-stat.js';

export interface ProcessIdentity {
  pid: number;
  /** Start time of the process as the kernel counts it (Linux), to tell a reused pid apart. */
  start: string | null;
}

export function processIdentity(pid: number): ProcessIdentity {
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
