/**
 * Which job a worker takes next, and which claims have lapsed. Pure functions over the list
 * of jobs as stored; the list's order is enqueue order.
 */
import { isClaimable, type ClaimableJob, type Job } from './job.js';

/**
 * What besides its time keeps a claimable job from being claimed: its dependencies, its queue
 * (paused, not taken by this manager, or at its limit).
 */
export interface ClaimGate {
  /** Whether the job may be claimed at all, once its `run_at` has come. */
  eligible(job: ClaimableJob): boolean;
  /** Whether one more job of its queue may start now. */
  hasRoom(job: ClaimableJob): boolean;
  /** The job was picked: its queue has one slot less. */
  take(job: ClaimableJob): void;
}

const OPEN: ClaimGate = { eligible: () => true, hasRoom: () => true, take: () => undefined };

function runsBefore(a: Job, b: Job): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.run_at < b.run_at);
}

/**
 * Indexes of the next jobs to run, at most `count`, in claim order: among ready jobs
 * (`run_at <= now`) that the gate lets through, the highest `priority`, then the oldest `run_at`,
 * then the earliest enqueued. Also when the soonest of the others that the gate lets through
 * becomes ready, so an idle worker need not poll before then. One pass over the jobs; held jobs
 * (by their dependencies or their queue) cost a check each, once.
 */
export function pickJobs(jobs: readonly Job[], now: Date, count: number, gate: ClaimGate = OPEN): { picked: number[]; nextReadyAt: string | null } {
  const nowIso = now.toISOString();
  const ready: number[] = [];
  let soonest: string | null = null;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    // A queue without room now has none for the whole pick (room only goes down): its jobs are left out once.
    if (!isClaimable(job) || !gate.eligible(job) || !gate.hasRoom(job)) continue;
    if (job.run_at <= nowIso) ready.push(i);
    else if (soonest === null || job.run_at < soonest) soonest = job.run_at;
  }
  const picked: number[] = [];
  while (picked.length < count) {
    let best = -1;
    for (let r = 0; r < ready.length; r++) {
      const index = ready[r]!;
      if (index === -1) continue;
      const job = jobs[index] as ClaimableJob;
      if ((best === -1 || runsBefore(job, jobs[ready[best]!]!)) && gate.hasRoom(job)) best = r;
    }
    if (best === -1) break;
    const index = ready[best]!;
    picked.push(index);
    ready[best] = -1;
    gate.take(jobs[index] as ClaimableJob);
  }
  return { picked, nextReadyAt: soonest };
}

/** Index of the next job to run, or -1 (see pickJobs). */
export function pickNext(jobs: readonly Job[], now: Date): number {
  return pickJobs(jobs, now, 1).picked[0] ?? -1;
}

/** Whether the job is under a lease that ran out by `nowIso`: its worker died or froze. */
export function isExpired(job: Job, nowIso: string): boolean {
  return job.state === 'processing' && job.lease.expires_at <= nowIso;
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
