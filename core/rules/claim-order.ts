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
export function pickJobs(
  jobs: readonly Job[],
  now: Date,
  count: number,
  gate: ClaimGate = OPEN,
  /** The positions of `jobs` to consider, in any order, when the caller knows the others cannot be claimed (claim-index.ts); all of them otherwise. */
  among?: Iterable<number>,
): { picked: number[]; nextReadyAt: string | null } {
  const nowIso = now.toISOString();
  const ready: number[] = [];
  let soonest: string | null = null;
  for (const i of among ?? jobs.keys()) {
    const job = jobs[i]!;
    // A queue without room now has none for the whole pick (room only goes down): its jobs are left out once.
    if (!isClaimable(job) || !gate.eligible(job) || !gate.hasRoom(job)) continue;
    if (job.run_at <= nowIso) ready.push(i);
    else if (soonest === null || job.run_at < soonest) soonest = job.run_at;
  }
  if (count === 0) return { picked: [], nextReadyAt: soonest };
  // A heap of the ready jobs, best on top: the picks cost O(ready + count log ready), not
  // count × ready (a cycle may claim dozens among 100,000 ready jobs).
  const first = (a: number, b: number) => runsBefore(jobs[a]!, jobs[b]!) || (!runsBefore(jobs[b]!, jobs[a]!) && a < b);
  const heap = ready;
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i, first);
  const picked: number[] = [];
  while (picked.length < count && heap.length > 0) {
    const index = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      siftDown(heap, 0, first);
    }
    const job = jobs[index] as ClaimableJob;
    // Room only goes down during a pick: a job without it now stays without it.
    if (!gate.hasRoom(job)) continue;
    picked.push(index);
    gate.take(job);
  }
  return { picked, nextReadyAt: soonest };
}

function siftDown(heap: number[], at: number, first: (a: number, b: number) => boolean): void {
  for (;;) {
    const left = 2 * at + 1;
    if (left >= heap.length) return;
    const right = left + 1;
    const child = right < heap.length && first(heap[right]!, heap[left]!) ? right : left;
    if (!first(heap[child]!, heap[at]!)) return;
    [heap[at], heap[child]] = [heap[child]!, heap[at]!];
    at = child;
  }
}

/** Whether the job is under a lease that ran out by `nowIso`: its worker died or froze. */
export function isExpired(job: Job, nowIso: string): boolean {
  return job.state === 'processing' && job.lease.expires_at <= nowIso;
}
