/**
 * The queue's operations: each one transaction on the store, deciding with the pure rules
 * (claim order, transitions, retention, reconcile). What the CLI and the workers call.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { expiredLeases, nextReadyAt, pickNext } from './claim-order.js';
import { inputError, QueuectlError } from './errors.js';
import type { ClaimableJob, DeadJob, Job, PendingJob, ProcessingJob } from './job.js';
import { newJob, type JobSpec } from './job-spec.js';
import type { RunOutcome } from './outcome.js';
import { applyRetention } from './retention.js';
import { claim, finish, renewLease, revive } from './transitions.js';
import { writeArchiveBatch } from '../store/archive.js';
import { removeJobLog } from '../store/job-logs.js';
import type { QueueStore, Transaction } from '../store/queue-store.js';

function generateId(taken: (id: string) => boolean): string {
  for (;;) {
    const id = randomBytes(4).toString('hex');
    if (!taken(id)) return id;
  }
}

/**
 * Adds the jobs as one all-or-nothing batch in one lock cycle. Ids must be new across the
 * queue and the DLQ and within the batch; the first clash rejects the whole batch.
 */
export async function enqueueJobs(
  store: QueueStore,
  specs: readonly JobSpec[],
  cwd: string,
  /** How to name the n-th spec in an error, e.g. `line 3: `. */
  where: (index: number) => string = (index) => (specs.length > 1 ? `job ${index + 1}: ` : ''),
  now = new Date(),
): Promise<PendingJob[]> {
  return store.transact((tx) => {
    const config = tx.config();
    const taken = new Set<string>([...tx.queue().map((job) => job.id), ...tx.dlq().map((job) => job.id)]);
    const added: PendingJob[] = [];
    specs.forEach((spec, index) => {
      if (spec.id !== undefined && taken.has(spec.id)) {
        throw inputError(`${where(index)}a job with id "${spec.id}" already exists; ids must be unique across queue and DLQ`);
      }
      const id = spec.id ?? generateId((candidate) => taken.has(candidate));
      taken.add(id);
      added.push(newJob(spec, id, config, cwd, now));
    });
    for (const job of added) removeJobLog(store.paths, job.id);
    tx.setQueue([...tx.queue(), ...added]);
    return added;
  });
}

export interface ClaimResult {
  job: ProcessingJob | null;
  /** When the soonest waiting job becomes ready (when none was claimed). */
  nextReadyAt: string | null;
  /** Jobs taken back from dead or frozen workers in this cycle. */
  recovered: Job[];
}

/** Takes the next ready job for `workerPid`, first taking back jobs whose lease ran out. */
export async function claimNext(store: QueueStore, workerPid: number, now = new Date()): Promise<ClaimResult> {
  return store.transact((tx) => {
    const config = tx.config();
    const recovered = recoverExpired(tx, now);
    const jobs = [...tx.queue()];
    const index = pickNext(jobs, now);
    if (index === -1) return { job: null, nextReadyAt: nextReadyAt(jobs), recovered };
    const lease = {
      worker_pid: workerPid,
      token: randomUUID(),
      expires_at: new Date(now.getTime() + config.lease * 1000).toISOString(),
    };
    const job = claim(jobs[index] as ClaimableJob, lease, now);
    jobs[index] = job;
    tx.setQueue(jobs);
    return { job, nextReadyAt: null, recovered };
  });
}

/** The lost run of each job whose lease expired counts as a failed attempt. */
function recoverExpired(tx: Transaction, now: Date): Job[] {
  if (expiredLeases(tx.queue(), now).length === 0) return [];
  tx.dlq(); // loads and repairs a move that a crash cut in half, before deciding anything
  const jobs = [...tx.queue()];
  const dead: DeadJob[] = [];
  const recovered: Job[] = [];
  for (const index of expiredLeases(jobs, now)) {
    const job = jobs[index] as ProcessingJob;
    const reason = `lease expired at ${job.lease.expires_at} (worker pid ${job.lease.worker_pid} died or froze)`;
    const next = finish(job, { kind: 'lost', reason }, tx.config(), now);
    recovered.push(next);
    if (next.state === 'dead') dead.push(next);
    jobs[index] = next;
  }
  if (dead.length > 0) tx.setDlq([...tx.dlq(), ...dead]);
  tx.setQueue(jobs.filter((job) => job.state !== 'dead'));
  return recovered;
}

export type RecordResult =
  | { recorded: true; job: Job }
  /** The claim was lost (lease expired and the job was taken back): the outcome is dropped. */
  | { recorded: false; current: Job | undefined };

/**
 * Records how a run ended, if the writer still owns the job (its token is the current lease's).
 * A worker that froze past its lease must not overwrite a newer outcome.
 */
export async function recordOutcome(
  store: QueueStore,
  id: string,
  token: string,
  outcome: RunOutcome,
  now = new Date(),
): Promise<RecordResult> {
  return store.transact((tx): RecordResult => {
    const jobs = [...tx.queue()];
    const index = jobs.findIndex((job) => job.id === id);
    const current = jobs[index];
    if (current?.state !== 'processing' || current.lease.token !== token) return { recorded: false, current };
    const config = tx.config();
    const next = finish(current, outcome, config, now);
    if (next.state === 'dead') {
      const dlq = tx.dlq(); // may repair the queue too, so the queue is read again below
      tx.setDlq([...dlq, next]);
      tx.setQueue(tx.queue().filter((job) => job.id !== id));
      return { recorded: true, job: next };
    }
    jobs[index] = next;
    if (next.state === 'completed') {
      const { keep, evicted } = applyRetention(jobs, config.retention);
      if (evicted.length > 0) {
        // A stale DLQ copy of a job leaving for the archive (a dlq retry cut in half) would
        // outlive it and bring it back as dead: loading the DLQ repairs that first.
        tx.dlq();
        if (config.archive) writeArchiveBatch(store.paths, evicted, now);
        tx.setQueue(keep);
        return { recorded: true, job: next };
      }
    }
    tx.setQueue(jobs);
    return { recorded: true, job: next };
  });
}

/** Extends the claim while the job runs. False when the claim was lost to lease recovery. */
export async function renewClaim(store: QueueStore, id: string, token: string, now = new Date()): Promise<boolean> {
  return store.transact((tx) => {
    const jobs = [...tx.queue()];
    const index = jobs.findIndex((job) => job.id === id);
    const current = jobs[index];
    if (current?.state !== 'processing' || current.lease.token !== token) return false;
    jobs[index] = renewLease(current, new Date(now.getTime() + tx.config().lease * 1000));
    tx.setQueue(jobs);
    return true;
  });
}

/** `dlq retry`: the dead job goes back to the queue as pending, attempts reset. */
export async function retryDead(store: QueueStore, id: string, now = new Date()): Promise<PendingJob> {
  return store.transact((tx) => {
    const dlq = tx.dlq();
    const dead = dlq.find((job) => job.id === id);
    if (!dead) {
      const inQueue = tx.queue().find((job) => job.id === id);
      throw new QueuectlError(
        inQueue
          ? `job "${id}" is not in the DLQ (it is ${inQueue.state}); only dead jobs can be retried`
          : `no job "${id}" in the DLQ; see queuectl dlq list`,
        'ENOTFOUND',
      );
    }
    const revived = revive(dead, now);
    // The queue gains the job first: a crash between the writes leaves a duplicate, not a loss.
    tx.setQueue([...tx.queue(), revived]);
    tx.setDlq(dlq.filter((job) => job.id !== id));
    return revived;
  });
}

/** A job wherever it is, read without the lock. */
export function findJob(store: QueueStore, id: string): Job | undefined {
  const { queue, dlq } = store.snapshot();
  return queue.find((job) => job.id === id) ?? dlq.find((job) => job.id === id);
}
