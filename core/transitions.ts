/**
 * The job state machine as pure functions `(job, …, now) => job`. Repositories only load and
 * save; every change of state goes through here.
 *
 *   pending ─claim→ processing ─success→ completed
 *                       │ failure, retries left → failed ─claim→ processing …
 *                       │ failure, none left    → dead  (moved to dlq.json)
 *   dead ─revive (dlq retry)→ pending, attempts reset
 *   processing ─release (claimed, never started)→ pending or failed, as before the claim
 *   pending | failed | processing ─cancel→ canceled  (final; stays in queue.json)
 */
import { nextRunAt } from './backoff.js';
import type { Config } from './config.js';
import type {
  CancelableJob,
  CanceledJob,
  ClaimableJob,
  CompletedJob,
  DeadJob,
  FailedJob,
  Lease,
  PendingJob,
  ProcessingJob,
} from './job.js';
import { describeOutcome, exitCodeOf, isSuccess, type RunOutcome } from './outcome.js';

export type RetryPolicy = Pick<Config, 'backoff_base' | 'max_backoff'>;

export function claim(job: ClaimableJob, lease: Lease, now: Date): ProcessingJob {
  const at = now.toISOString();
  return {
    ...job,
    state: 'processing',
    attempts: job.attempts + 1,
    updated_at: at,
    started_at: at,
    finished_at: null,
    exit_code: null,
    lease,
  };
}

export function renewLease(job: ProcessingJob, expiresAt: Date): ProcessingJob {
  return { ...job, lease: { ...job.lease, expires_at: expiresAt.toISOString() } };
}

/**
 * Records how the current run ended. A failure schedules a retry after the backoff while
 * retries are left (`attempts <= max_retries`), otherwise the job is dead.
 */
export function finish(
  job: ProcessingJob,
  outcome: RunOutcome,
  policy: RetryPolicy,
  now: Date,
): CompletedJob | FailedJob | DeadJob {
  const at = now.toISOString();
  const ended = { ...job, updated_at: at, finished_at: at, lease: null };
  if (isSuccess(outcome)) {
    return { ...ended, state: 'completed', exit_code: 0, last_error: null };
  }
  const failure = { ...ended, exit_code: exitCodeOf(outcome), last_error: describeOutcome(outcome) };
  if (job.attempts > job.max_retries) {
    return { ...failure, state: 'dead' };
  }
  return {
    ...failure,
    state: 'failed',
    run_at: nextRunAt(now, job.attempts, policy.backoff_base, policy.max_backoff),
  };
}

/** `dlq retry`: back to pending, ready now, with a clean slate of attempts. */
export function revive(job: DeadJob, now: Date): PendingJob {
  const at = now.toISOString();
  return { ...job, ...notStarted(at), attempts: 0, run_at: at };
}

/** What a pending job has: no run, no lease. (Spread over a job, it keeps the field order.) */
function notStarted(at: string) {
  return {
    state: 'pending',
    updated_at: at,
    started_at: null,
    finished_at: null,
    exit_code: null,
    last_error: null,
    lease: null,
  } as const;
}

/**
 * A claim given back before its run started (a worker stopped with a job handed to it but not
 * begun): the run did not happen, so it does not count. A first run goes back to pending; a
 * retry goes back to failed with its previous error, ready now. (The claim overwrote the
 * previous run's times, so a released retry carries the claim and release times instead.)
 */
export function release(job: ProcessingJob, now: Date): PendingJob | FailedJob {
  const at = now.toISOString();
  const attempts = job.attempts - 1;
  if (attempts === 0 || job.last_error === null) return { ...job, ...notStarted(at), attempts };
  return { ...job, state: 'failed', attempts, updated_at: at, finished_at: at, last_error: job.last_error, lease: null };
}

/**
 * `queuectl cancel`: the job stops being eligible for good. A processing job loses its lease, so
 * the worker running it can no longer record an outcome (its token is no longer current); the
 * caller kills the run. `last_error` says what the job was doing when it was canceled.
 */
export function cancel(job: CancelableJob, now: Date): CanceledJob {
  const at = now.toISOString();
  const base = { ...job, state: 'canceled' as const, updated_at: at, finished_at: at, lease: null };
  switch (job.state) {
    case 'pending':
      return { ...base, started_at: null, exit_code: null, last_error: 'canceled by user while pending' };
    case 'failed':
      return {
        ...base,
        started_at: job.started_at,
        exit_code: job.exit_code,
        last_error: `canceled by user while waiting to retry (last run: ${job.last_error})`,
      };
    case 'processing':
      return {
        ...base,
        started_at: job.started_at,
        exit_code: null,
        last_error: `canceled by user while running; run ${job.attempts} was killed`,
      };
  }
}
