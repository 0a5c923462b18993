/**
 * Which job a worker takes next, and which claims have lapsed. Pure functions over the list
 * of jobs as stored; the list's order is enqueue order.
 */
import { isClaimable, type Job } from './job.js';

/**
 * Index of the next job to run, or -1: among ready jobs (`run_at <= now`), the highest
 * `priority`, then the oldest `run_at`, then the earliest enqueued. One pass, no sorting.
 */
export function pickNext(jobs: readonly Job[], now: Date): number {
  const nowIso = now.toISOString();
  let best = -1;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    if (!isClaimable(job) || job.run_at > nowIso) continue;
    if (best === -1) {
      best = i;
      continue;
    }
    const current = jobs[best]!;
    if (job.priority > current.priority || (job.priority === current.priority && job.run_at < current.run_at)) {
      best = i;
    }
  }
  return best;
}

/** Processing jobs whose lease ran out: their worker died or froze. */
export function expiredLeases(jobs: readonly Job[], now: Date): number[] {
  const nowIso = now.toISOString();
  const expired: number[] = [];
  jobs.forEach((job, i) => {
    if (job.state === 'processing' && job.lease.expires_at <= nowIso) expired.push(i);
  });
  return expired;
}

/** When the soonest waiting job becomes ready, so an idle worker need not poll before then. */
export function nextReadyAt(jobs: readonly Job[]): string | null {
  let soonest: string | null = null;
  for (const job of jobs) {
    if (isClaimable(job) && (soonest === null || job.run_at < soonest)) soonest = job.run_at;
  }
  return soonest;
}
