/**
 * What `queuectl wait` decides, on plain data: which jobs it waits for, how they stand, the
 * exit code, and how fast they go. The polling itself is in operations/wait.ts.
 */
import { QueuectlError } from './errors.js';
import { isFinished, type DeadJob, type Job } from './job.js';

/** Exit codes of `wait` (and `enqueue --wait`). 124 is what GNU `timeout` exits with. */
export const WAIT_EXIT = {
  /** Every job completed. */
  completed: 0,
  /** Every job finished, and at least one is dead or canceled (or left the queue unseen). */
  failed: 1,
  /** `--timeout` passed before every job finished. */
  timeout: 124,
} as const;
export type WaitExitCode = (typeof WAIT_EXIT)[keyof typeof WAIT_EXIT];

/** A job waited on, as last seen. */
export interface Watched {
  id: string;
  job: Job;
  /** It left the queue and the DLQ unfinished as far as we saw, and the archive has no copy (pruned). */
  gone: boolean;
}

/**
 * The jobs to wait for: the ones named (every id must exist, in the queue, the DLQ or, for a
 * job retention moved out, `archived`; else nothing waits), or, with no ids, every job not
 * finished yet. Finished jobs of the past are not waited for by default, or an old DLQ entry
 * would fail every `wait`.
 */
export function waitTargets(
  queue: readonly Job[],
  dlq: readonly DeadJob[],
  ids: readonly string[],
  archived: ReadonlyMap<string, Job> = new Map(),
): Watched[] {
  const all = [...queue, ...dlq];
  if (ids.length === 0) return all.filter((job) => !isFinished(job)).map((job) => ({ id: job.id, job, gone: false }));
  const byId = new Map(all.map((job) => [job.id, job]));
  const unknown = ids.filter((id) => !byId.has(id) && !archived.has(id));
  if (unknown.length > 0) {
    const names = unknown.map((id) => `"${id}"`).join(', ');
    throw new QueuectlError(
      `no ${unknown.length === 1 ? 'job' : 'jobs'} ${names} in the queue, the DLQ or the archive; nothing was waited for; see queuectl list`,
      'ENOTFOUND',
    );
  }
  return [...new Set(ids)].map((id) => ({ id, job: byId.get(id) ?? archived.get(id)!, gone: false }));
}

/** The ids of waited-on jobs that are missing from `present` though last seen unfinished. */
export function vanished(watched: readonly Watched[], present: ReadonlyMap<string, Job>): string[] {
  return watched.filter((entry) => !entry.gone && !present.has(entry.id) && !isFinished(entry.job)).map((entry) => entry.id);
}

/**
 * The new view of the waited-on jobs: the current copy of each (which follows a dead job that
 * `dlq retry` revives), else its archived copy, else the last one seen; one last seen
 * unfinished that is nowhere is `gone` (it was pruned), and stays so.
 */
export function observe(
  watched: readonly Watched[],
  present: ReadonlyMap<string, Job>,
  archived: ReadonlyMap<string, Job> = new Map(),
): Watched[] {
  return watched.map((entry) => {
    if (entry.gone) return entry;
    const job = present.get(entry.id) ?? archived.get(entry.id);
    if (job) return { ...entry, job };
    return isFinished(entry.job) ? entry : { ...entry, gone: true };
  });
}

export interface WaitTally {
  total: number;
  /** Completed, dead, canceled or gone. */
  finished: number;
  completed: number;
  dead: number;
  canceled: number;
  gone: number;
  /** Pending, processing or failed (waiting to retry). */
  unfinished: number;
}

export function tally(watched: readonly Watched[]): WaitTally {
  const t: WaitTally = { total: watched.length, finished: 0, completed: 0, dead: 0, canceled: 0, gone: 0, unfinished: 0 };
  for (const { job, gone } of watched) {
    if (gone) t.gone++;
    else if (job.state === 'completed') t.completed++;
    else if (job.state === 'dead') t.dead++;
    else if (job.state === 'canceled') t.canceled++;
    else t.unfinished++;
  }
  t.finished = t.total - t.unfinished;
  return t;
}

/** 124 while a job is unfinished (after a timeout), else 0 if every job completed, else 1. */
export function waitExitCode(t: WaitTally): WaitExitCode {
  if (t.unfinished > 0) return WAIT_EXIT.timeout;
  return t.completed === t.total ? WAIT_EXIT.completed : WAIT_EXIT.failed;
}

export interface Pace {
  /** Jobs finished per second since the wait began; null before the first one. */
  perSecond: number | null;
  /** Estimated milliseconds until all are finished at that pace; null without a pace. */
  etaMs: number | null;
}

/** Rate and ETA from what finished during the wait (jobs finished before it do not count). */
export function pace(finishedAtStart: number, t: WaitTally, elapsedMs: number): Pace {
  const during = t.finished - finishedAtStart;
  if (during <= 0 || elapsedMs <= 0) return { perSecond: null, etaMs: null };
  const perSecond = during / (elapsedMs / 1000);
  return { perSecond, etaMs: Math.round((t.unfinished / perSecond) * 1000) };
}
