/**
 * Retention, the rule of every store: finished jobs leave the queue (queue.json, the jobs
 * table) so that it stays small and every change stays fast. They leave in batches, so that a
 * job finishing does not write an archive each time.
 *
 * Retention covers the finished jobs of the queue: completed and canceled ones, counted
 * together. Dead jobs stay in the DLQ until a person retries or prunes them. Where
 * evicted jobs are deleted (`archive` off), one that finished a moment ago stays whatever the
 * setting, so that `wait`, which looks a few times a second, always sees how it ended (an
 * archived one it finds in the archive).
 */
import type { CanceledJob, CompletedJob, Job } from './job.js';

/** How far past `retention` the finished jobs may grow before a batch leaves. */
export const RETENTION_SLACK = 100;
/** Where evicted jobs are deleted, a job stays in the queue at least this long after it finished. */
export const RETENTION_GRACE_MS = 10_000;

/** Finished jobs that retention moves out of the queue. */
export type RetainedJob = CompletedJob | CanceledJob;

export interface RetentionSplit {
  keep: Job[];
  evicted: RetainedJob[];
}

function isRetained(job: Job): job is RetainedJob {
  return job.state === 'completed' || job.state === 'canceled';
}

/**
 * Once more than `retention + RETENTION_SLACK` completed or canceled jobs are in `jobs`, the
 * oldest finished ones are evicted until `retention` remain, but none that finished within
 * `graceMs` of `now`. Every other job is kept, in order. `finishedAtMost`: how many finished
 * jobs `jobs` holds at most, when the caller knows (then `keep` may be `jobs` itself).
 */
export function applyRetention(jobs: readonly Job[], retention: number, now: Date, graceMs = 0, finishedAtMost = Infinity): RetentionSplit {
  // A caller that keeps count (claim-index.ts) spares a queue below the bound any pass over it.
  if (finishedAtMost <= retention + RETENTION_SLACK) return { keep: jobs as Job[], evicted: [] };
  // Counted before anything is copied: called for every completion, it must cost little below the bound.
  let count = 0;
  for (let i = 0; i < jobs.length; i++) if (isRetained(jobs[i]!)) count++;
  if (count <= retention + RETENTION_SLACK) return { keep: [...jobs], evicted: [] };
  const finished = jobs.filter(isRetained);
  const graceFrom = new Date(now.getTime() - graceMs).toISOString();
  const byAge = [...finished].sort((a, b) => (a.finished_at < b.finished_at ? -1 : a.finished_at > b.finished_at ? 1 : 0));
  const evicted = byAge.slice(0, finished.length - retention).filter((job) => graceMs === 0 || job.finished_at < graceFrom);
  if (evicted.length === 0) return { keep: [...jobs], evicted: [] };
  const leaving = new Set(evicted.map((job) => job.id));
  return { keep: jobs.filter((job) => !leaving.has(job.id)), evicted };
}
