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
import { settleRuns } from '../../core/rules/cycle.js';
import type { ClaimIndex } from '../../core/rules/claim-index.js';
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
  // Where the processing and claimable jobs are, kept from the last cycle: no pass over every job.
  let claimIndex = tx.queueIndex(now);
  // A job may move to the DLQ: load it (repairing a move a crash cut in half) before deciding.
  if (hasFailure || claimIndex.processing.some((at) => isExpired(loaded[at]!, nowIso))) {
    tx.dlq();
    if (tx.queue() !== loaded) {
      loaded = tx.queue(); // repaired
      claimIndex = tx.queueIndex(now);
    }
  }
  // Every run this cycle records, renews or takes back is a processing job.
  const { processing } = claimIndex;
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
  const claimedAt: number[] = [];
  const leaseEnd = new Date(now.getTime() + config.lease * 1000);
  let nextReadyAt: string | null = null;
  // Paused (`queuectl pause`): what runs goes on, nothing new starts.
  if (!config.paused && request.claim > 0) {
    // Claimable now: the ones that were (or were soon to be), and the processing ones given back, failed or taken back.
    const candidates = [...claimIndex.soon, ...processing];
    const pick = pickJobs(jobs, now, request.claim, claimGate(jobs, config, request.queues ?? null, claimIndex), candidates);
    claimedAt.push(...pick.picked);
    for (const index of pick.picked) {
      const job = claim(jobs[index] as ClaimableJob, { token: newToken(), expires_at: leaseEnd.toISOString() }, now);
      jobs[index] = job;
      claimed.push(job);
      changed = true;
    }
    if (claimed.length < request.claim) nextReadyAt = earliest(pick.nextReadyAt, claimIndex.laterAt);
  }

  if (changed) {
    let queue: Job[] = dead.length === 0 ? jobs : jobs.filter((job) => job.state !== 'dead');
    // Finished now: those that were, and at most every processing job and every one canceled with a dead one.
    if (completed) queue = evictFinished(tx, queue, now, claimIndex.finished + processing.length + canceled.length);
    // The DLQ gains its jobs before the queue loses them: a crash between leaves a duplicate
    // that the next load repairs, never a loss.
    if (dead.length > 0) tx.setDlq([...tx.dlq(), ...dead]);
    // Nothing moved (no job left, none canceled down a chain): only the runs settled and the jobs claimed changed.
    tx.setQueue(queue, canceled.length === 0 ? [...processing, ...claimedAt] : undefined);
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

const NO_DEPENDENCIES = unfinishedDependencies([]);

function earliest(a: string | null, b: string | null): string | null {
  return a === null ? b : b === null || a < b ? a : b;
}

/** What may be claimed besides by time: jobs whose dependencies completed, of queues taken here, not paused, with room. */
function claimGate(jobs: readonly Job[], config: Config, only: readonly string[] | null, index: ClaimIndex): ClaimGate {
  // A cycle adds no dependency: while no job names one, no job waits.
  const unfinished = index.dependents === 0 ? NO_DEPENDENCIES : unfinishedDependencies(jobs);
  // A cycle adds no processing job before the claim: those there are were processing before it.
  const slots = new QueueSlots(jobs, config.queues, only, index.processing);
  return {
    eligible: (job) => slots.accepts(queueOf(job)) && !isWaiting(job, unfinished),
    hasRoom: (job) => slots.hasRoom(queueOf(job)),
    take: (job) => slots.take(queueOf(job)),
  };
}
