/**
 * One lock cycle of a worker manager: everything its workers need from the store, decided
 * together. Starts and outcomes of runs are recorded, leases renewed, jobs whose lease ran out
 * taken back, claims that waited too long given back, and new jobs claimed, in one read and one
 * write of queue.json. A worker that finishes a job and starts the next costs one cycle, not
 * three, and four workers finishing together cost one cycle, not twelve.
 *
 * Every write of a run's result is checked against the job's current lease token, so a
 * manager that froze past the lease never overwrites what happened to the job since.
 */
import { isExpired, pickJobs, type ClaimGate } from '../../core/rules/claim-order.js';
import type { Config } from '../../core/rules/config.js';
import { cancelDependents, endings, isWaiting, unfinishedDependencies } from '../../core/rules/dependencies.js';
import { queueOf, type CanceledJob, type ClaimableJob, type ClaimedJob, type Job, type ProcessingJob } from '../../core/rules/job.js';
import { QueueSlots } from '../../core/rules/queues.js';
import { isSuccess } from '../../core/rules/outcome.js';
import { evictFinished } from './evict.js';
import { claim } from '../../core/rules/transitions.js';
import { processingIndexes, settleRuns } from '../../core/rules/cycle.js';
import type { CycleRequest, CycleResult } from '../../core/ports/store.js';
import type { Transaction } from './job-files.js';

/**
 * `runStarted(job)` tells whether the run of a claim did start though its start is not recorded:
 * asked only for an expired claim, to tell a run that started just before its manager died (a
 * lost run, counted) from a claim that never started (given back).
 */
export function dispatchCycle(
  tx: Transaction,
  request: CycleRequest,
  now: Date,
  newToken: () => string,
  runStarted: (job: ProcessingJob) => boolean = () => false,
): Omit<CycleResult, 'config'> {
  const config = tx.config();
  const hasFailure = request.outcomes.some(({ outcome }) => !isSuccess(outcome));
  const nowIso = now.toISOString();
  let loaded = tx.queue();
  // Every run this cycle records, renews or takes back is a processing job: one pass finds them.
  let processing = processingIndexes(loaded);
  // A job may move to the DLQ: load it (repairing a move a crash cut in half) before deciding.
  if (hasFailure || processing.some((index) => isExpired(loaded[index]!, nowIso))) {
    tx.dlq();
    if (tx.queue() !== loaded) {
      loaded = tx.queue(); // repaired
      processing = processingIndexes(loaded);
    }
  }
  const settled = settleRuns(loaded, request, config, now, runStarted, processing);
  let jobs = settled.jobs;
  const { dead, recorded, lostClaims, lost, recovered } = settled;
  let { changed, completed } = settled;

  // In the same write as the deaths: no job ever waits on a dead job.
  let canceled: CanceledJob[] = [];
  if (dead.length > 0) {
    const cascade = cancelDependents(jobs, endings(dead), now);
    if (cascade.canceled.length > 0) {
      jobs = cascade.queue;
      canceled = cascade.canceled;
      completed = true; // finished jobs were added: retention applies
    }
  }

  const claimed: ClaimedJob[] = [];
  const leaseEnd = new Date(now.getTime() + config.lease * 1000);
  let nextReadyAt: string | null = null;
  // Paused (`queuectl pause`): what runs goes on, nothing new starts.
  if (!config.paused && request.claim > 0) {
    const pick = pickJobs(jobs, now, request.claim, claimGate(jobs, config, request.queues ?? null));
    for (const index of pick.picked) {
      const job = claim(jobs[index] as ClaimableJob, { token: newToken(), expires_at: leaseEnd.toISOString() }, now);
      jobs[index] = job;
      claimed.push(job);
      changed = true;
    }
    if (claimed.length < request.claim) nextReadyAt = pick.nextReadyAt;
  }

  if (changed) {
    let queue: Job[] = dead.length === 0 ? jobs : jobs.filter((job) => job.state !== 'dead');
    if (completed) queue = evictFinished(tx, queue, now);
    // The DLQ gains its jobs before the queue loses them: a crash between leaves a duplicate
    // that the next load repairs, never a loss.
    if (dead.length > 0) tx.setDlq([...tx.dlq(), ...dead]);
    tx.setQueue(queue);
  }

  return {
    recorded,
    lostClaims,
    lost,
    claimed,
    recovered,
    canceled,
    nextReadyAt,
  };
}

/** What may be claimed besides by time: jobs whose dependencies completed, of queues taken here, not paused, with room. */
function claimGate(jobs: readonly Job[], config: Config, only: readonly string[] | null): ClaimGate {
  const unfinished = unfinishedDependencies(jobs);
  const slots = new QueueSlots(jobs, config.queues, only);
  return {
    eligible: (job) => slots.accepts(queueOf(job)) && !isWaiting(job, unfinished),
    hasRoom: (job) => slots.hasRoom(queueOf(job)),
    take: (job) => slots.take(queueOf(job)),
  };
}
