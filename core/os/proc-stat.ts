/**
 * What Linux says of a process in /proc/<pid>/stat. Where there is no /proc (other systems),
 * every reader gets null and callers fall back to what `kill(pid, 0)` can tell.
 */
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** R, S, D, T (stopped), Z (exited, not yet reaped by its parent)… */
  state: string;
  ppid: number;
  pgid: number;
  /** Start time in clock ticks since boot (field 22): with the pid, it names one process. */
  start: string | null;
}

/** Parses a stat line, counting fields from the last ')': the command name may hold both. */
export function parseProcStat(stat: string): ProcStat | null {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgid = Number(fields[2]);
  if (!fields[0] || !Number.isSafeInteger(pgid)) return null;
  return { state: fields[0], ppid: Number(fields[1]), pgid, start: fields[19] ?? null };
}

/** The stat of `pid`, or null when it is gone, not ours to read, or there is no /proc. */
export function readProcStat(pid: number | 'self'): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The pids of this process's parent, its parent's, and so on up: null where there is no /proc. */
export function ancestors(): number[] | null {
  const self = readProcStat('self');
  if (self === null) return null;
  const found: number[] = [];
  for (let pid = self.ppid; pid > 1 && found.length < 64; pid = readProcStat(pid)?.ppid ?? 0) found.push(pid);
  return found;
}
