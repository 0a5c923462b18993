/** Which jobs `list` shows, and in what order, on plain data. */
import { queueOf, type Job, type JobState } from './job.js';

export interface JobFilter {
  states?: readonly JobState[];
  /** One queue's jobs. */
  queue?: string;
  /** The most recent N (by enqueue), still listed oldest first. */
  limit?: number;
}

/**
 * In the order the jobs were enqueued (`created_at`; a tie keeps the given order, which is
 * enqueue order), so a job that died is listed where it belongs, not last.
 */
export function oldestFirst(jobs: readonly Job[]): Job[] {
  return jobs
    .map((job, index) => ({ job, index }))
    .sort((a, b) => (a.job.created_at < b.job.created_at ? -1 : a.job.created_at > b.job.created_at ? 1 : a.index - b.index))
    .map(({ job }) => job);
}

/** The jobs the filter picks, oldest first; with a limit, the most recent N, still oldest first, as `tail` would. */
export function listJobs(jobs: readonly Job[], filter: JobFilter): Job[] {
  let listed = oldestFirst(jobs);
  const { states, queue, limit } = filter;
  if (states !== undefined) listed = listed.filter((job) => states.includes(job.state));
  if (queue !== undefined) listed = listed.filter((job) => queueOf(job) === queue);
  if (limit !== undefined && listed.length > limit) listed = listed.slice(listed.length - limit);
  return listed;
}
