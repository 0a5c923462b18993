/**
 * Finished jobs leave queue.json so that it stays small and every write stays fast. They
 * leave in batches, so that a job finishing does not rewrite an archive each time.
 */
import type { CompletedJob, Job } from './job.js';

/** How far past `retention` the completed jobs may grow before a batch leaves. */
export const RETENTION_SLACK = 100;

export interface RetentionSplit {
  keep: Job[];
  evicted: CompletedJob[];
}

/**
 * Once more than `retention + RETENTION_SLACK` completed jobs are in `jobs`, the oldest
 * finished ones are evicted until `retention` remain. Every other job is kept, in order.
 */
export function applyRetention(jobs: readonly Job[], retention: number): RetentionSplit {
  const completed = jobs.filter((job): job is CompletedJob => job.state === 'completed');
  if (completed.length <= retention + RETENTION_SLACK) return { keep: [...jobs], evicted: [] };
  const byAge = [...completed].sort((a, b) => (a.finished_at < b.finished_at ? -1 : a.finished_at > b.finished_at ? 1 : 0));
  const evicted = byAge.slice(0, completed.length - retention);
  const leaving = new Set(evicted.map((job) => job.id));
  return { keep: jobs.filter((job) => !leaving.has(job.id)), evicted };
}
