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
import {
  isClaimed,
  queueOf,
  type CanceledJob,
  type ClaimableJob,
  type ClaimedJob,
  type DeadJob,
  type Job,
  type ProcessingJob,
  type RunningJob,
} from '../../core/rules/job.js';
import { QueueSlots } from '../../core/rules/queues.js';
import { isSuccess } from '../../core/rules/outcome.js';
import { evictFinished } from './evict.js';
import { claim, recordOutcome, recover, release, renewLease, start } from '../../core/rules/transitions.js';
import type { CycleRequest, CycleResult, LostBecause, RunRef, RunStart } from '../../core/ports/store.js';
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
  let jobs: Job[] = [...loaded];
  const dead: DeadJob[] = [];
  let changed = false;

  const starts = request.starts ?? [];
  const released = request.release ?? [];
  const verify = request.verify ?? [];
  const indexOf = new Map<string, number>();
  for (const index of processing) indexOf.set(jobs[index]!.id, index);
  const owned = (run: RunRef): number | null => {
    const index = indexOf.get(run.id);
    const job = index === undefined ? undefined : jobs[index];
    return job?.state === 'processing' && job.lease.token === run.token ? index! : null;
  };

  // Rare (a run lost to a cancel or a take-back): a search is fine.
  const whyLost = (run: RunRef): LostBecause => (jobs.some((job) => job.id === run.id && job.state === 'canceled') ? 'canceled' : 'taken back');

  const started = (index: number, run: RunStart): RunningJob => {
    const job = jobs[index] as ProcessingJob;
    return isClaimed(job) ? start(job, run.workerPid, run.startedAt, now) : job;
  };
  for (const run of starts) {
    // A run lost meanwhile is reported by renew or verify.
    const index = owned(run);
    if (index === null || !isClaimed(jobs[index]!)) continue;
    jobs[index] = started(index, run);
    changed = true;
  }

  let completed = false;
  const lostClaims: (LostBecause | null)[] = [];
  const recorded = request.outcomes.map((run) => {
    const index = owned(run);
    lostClaims.push(index === null ? whyLost(run) : null);
    if (index === null) return null;
    const next = recordOutcome(started(index, run), run.outcome, config, now, run.endedAt ?? undefined);
    jobs[index] = next;
    if (next.state === 'dead') dead.push(next);
    if (next.state === 'completed') completed = true;
    changed = true;
    return next;
  });

  for (const run of released) {
    const index = owned(run);
    if (index === null) continue;
    const job = jobs[index]!;
    if (!isClaimed(job)) continue; // it started after all: its outcome will come
    jobs[index] = release(job, now);
    changed = true;
  }

  const lost: CycleResult['lost'] = [];
  const leaseEnd = new Date(now.getTime() + config.lease * 1000);
  for (const run of request.renew) {
    const index = owned(run);
    if (index === null) {
      lost.push({ ...run, because: whyLost(run) });
      continue;
    }
    jobs[index] = renewLease(jobs[index] as ProcessingJob, leaseEnd);
    changed = true;
  }
  for (const run of verify) {
    if (owned(run) === null) lost.push({ ...run, because: whyLost(run) });
  }

  // After outcomes and renewals: a run that ended or still runs under this manager is its
  // own, even past its lease, as long as no one took the job back.
  const recovered: CycleResult['recovered'] = [];
  for (const index of processing) {
    const job = jobs[index]!;
    if (job.state !== 'processing' || !isExpired(job, nowIso)) continue;
    const next = recover(job, config, now, job.lease.worker_pid !== null || runStarted(job));
    jobs[index] = next;
    recovered.push({ job: next, token: job.lease.token });
    if (next.state === 'dead') dead.push(next);
    changed = true;
  }

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

function processingIndexes(jobs: readonly Job[]): number[] {
  const found: number[] = [];
  for (let index = 0; index < jobs.length; index++) if (jobs[index]!.state === 'processing') found.push(index);
  return found;
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
