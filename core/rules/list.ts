/** Which jobs `list` shows, and in what order, on plain data. */
import { queueOf, type Job, type JobState } from './job.js';

export interface JobFilter {
  states?: readonly JobState[];
  /** One queue's jobs. */
  queue?: string;
  /** The most recent N (by enqueue), still listed oldest first. */
  limit?: number;
}

/** The jobs ordered by one of their times, earliest first; a tie keeps the given order. */
export function byTime<J>(jobs: readonly J[], time: (job: J) => string): J[] {
  return jobs
    .map((job, index) => ({ job, index, at: time(job) }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.index - b.index))
    .map(({ job }) => job);
}

/**
 * In the order the jobs were enqueued (`created_at`; a tie keeps the given order, which is
 * enqueue order), so a job that died is listed where it belongs, not last.
 */
export function oldestFirst<J extends Pick<Job, 'created_at'>>(jobs: readonly J[]): J[] {
  return byTime(jobs, (job) => job.created_at);
}

/** The jobs the filter picks, oldest first; with a limit, the most recent N, still oldest first, as `tail` would. */
export function listJobs<J extends Pick<Job, 'created_at' | 'state' | 'queue'>>(jobs: readonly J[], filter: JobFilter): J[] {
  let listed = oldestFirst(jobs);
  const { states, queue, limit } = filter;
  if (states !== undefined) listed = listed.filter((job) => states.includes(job.state));
  if (queue !== undefined) listed = listed.filter((job) => queueOf(job) === queue);
  if (limit !== undefined && listed.length > limit) listed = listed.slice(listed.length - limit);
  return listed;
}
