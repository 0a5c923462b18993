/**
 * `queuectl stats`: figures about the queue, computed from the jobs of the queue and the DLQ
 * and the time now. Pure; the caller passes them.
 *
 * What each figure is made of:
 * - throughput: jobs that completed or died in the last minute / hour (by `finished_at`),
 *   those retention moved to the archive meanwhile included: on a busy queue, a completed job
 *   leaves the queue minutes after it ends. Canceled jobs are not work done, so they are not
 *   counted.
 * - failure rate: dead / (completed + dead), over the last hour (archived jobs included) and
 *   over every finished job still on file. Retention moves old completed jobs out of the queue
 *   while dead jobs stay in the DLQ until retried or pruned, so the figure over all can read
 *   high on an old data dir.
 * - run time: `finished_at - started_at` of completed and dead jobs: their last run.
 * - oldest pending: the pending job that has been ready (`run_at` passed) the longest, and how
 *   long it has waited since then. Jobs scheduled for later are not waiting yet, nor are jobs
 *   held by their dependencies (`--after`).
 */
import { isWaiting, unfinishedDependencies } from './dependencies.js';
import { zeroCounts, type Job, type JobState } from './job.js';

const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export interface Stats {
  /** The instant the figures are for. */
  at: string;
  counts: Record<JobState, number>;
  /** Jobs that completed or died in the window. */
  throughput: { last_minute: number; last_hour: number };
  /** dead / (completed + dead), from 0 to 1; null when no job finished that way. */
  failure_rate: { last_hour: number | null; all: number | null };
  /** Run time of the last run of completed and dead jobs, in milliseconds; null when there is none. */
  run_time_ms: { runs: number; p50: number | null; p95: number | null };
  /** The ready pending job that has waited longest; null when none waits. */
  oldest_pending: { id: string; waiting_ms: number } | null;
}

/** Nearest-rank percentile (`p` from 0 to 100) of values sorted ascending; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

function rate(dead: number, completed: number): number | null {
  return dead + completed === 0 ? null : dead / (dead + completed);
}

/** A completed job that retention moved to the archive (Store.archivedCompletions). */
export interface ArchivedCompletion {
  id: string;
  queue: string;
  finished_at: string;
}

export interface StatsSources {
  /** Tells a job held by its dependencies; by default, as `jobs` tell (pass it when they are a part of the queue). */
  held?: (job: Job) => boolean;
  /** Completed jobs of the archive that finished within the hour, counted in the figures of the last minute and hour. */
  archived?: readonly ArchivedCompletion[];
}

export function computeStats(jobs: readonly Job[], now: Date, { held = waitingAmong(jobs), archived = [] }: StatsSources = {}): Stats {
  const nowMs = now.getTime();
  const nowIso = now.toISOString();
  const counts = zeroCounts();
  let lastMinute = 0;
  let lastHour = 0;
  const hour = { completed: 0, dead: 0 };
  const all = { completed: 0, dead: 0 };
  const durations: number[] = [];
  let oldest: { id: string; since: number } | null = null;

  for (const job of jobs) {
    counts[job.state]++;
    if (job.state === 'completed' || job.state === 'dead') {
      all[job.state]++;
      const finished = Date.parse(job.finished_at);
      const ago = nowMs - finished;
      if (ago >= 0 && ago < HOUR_MS) {
        lastHour++;
        hour[job.state]++;
        if (ago < MINUTE_MS) lastMinute++;
      }
      const duration = finished - Date.parse(job.started_at);
      if (Number.isFinite(duration) && duration >= 0) durations.push(duration);
    } else if (job.state === 'pending' && job.run_at <= nowIso && !held(job)) {
      const since = Date.parse(job.run_at);
      if (oldest === null || since < oldest.since) oldest = { id: job.id, since };
    }
  }
  // A job in the queue and in the archive at once (a writer that died between the two) counts once.
  const finishedHere = archived.length === 0 ? new Set<string>() : new Set(jobs.map((job) => `${job.id} ${job.finished_at}`));
  for (const job of archived) {
    if (finishedHere.has(`${job.id} ${job.finished_at}`)) continue;
    const ago = nowMs - Date.parse(job.finished_at);
    if (ago >= 0 && ago < HOUR_MS) {
      lastHour++;
      hour.completed++;
      if (ago < MINUTE_MS) lastMinute++;
    }
  }
  durations.sort((a, b) => a - b);
  return {
    at: nowIso,
    counts,
    throughput: { last_minute: lastMinute, last_hour: lastHour },
    failure_rate: { last_hour: rate(hour.dead, hour.completed), all: rate(all.dead, all.completed) },
    run_time_ms: { runs: durations.length, p50: percentile(durations, 50), p95: percentile(durations, 95) },
    oldest_pending: oldest === null ? null : { id: oldest.id, waiting_ms: nowMs - oldest.since },
  };
}

/** Whether a job of `jobs` is held by one of its dependencies among them. */
export function waitingAmong(jobs: readonly Job[]): (job: Job) => boolean {
  const unfinished = unfinishedDependencies(jobs);
  return (job) => isWaiting(job, unfinished);
}
