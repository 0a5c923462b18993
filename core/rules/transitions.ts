/**
 * The job state machine as pure functions `(job, …, now) => job`. Repositories only load and
 * save; every change of state goes through here.
 *
 *   pending ─claim→ processing (claimed) ─start→ processing (running) ─finish→ completed
 *                       │                            │ failure, retries left → failed ─claim→ …
 *                       │                            │ failure, none left    → dead  (moved to the DLQ)
 *                       └─release (never started)→ pending or failed, as before the claim
 *   dead ─revive (dlq retry)→ pending, attempts reset
 *   pending | failed | processing ─cancel→ canceled  (final; stays in the queue)
 *   pending | failed, waiting by --after ─a dependency ends dead or canceled→ canceled
 *
 * A claim is not a run: `attempts` and `started_at` change when the worker starts the command.
 */
import { nextRunAt } from './backoff.js';
import { isClaimed } from './job.js';
import type { Config } from './config.js';
import type {
  CancelableJob,
  CanceledJob,
  ClaimableJob,
  ClaimedJob,
  CompletedJob,
  DeadJob,
  FailedJob,
  FinishedJob,
  Lease,
  PendingJob,
  ProcessingJob,
  RunningJob,
} from './job.js';
import { describeOutcome, exitCodeOf, isSuccess, type RunOutcome } from './outcome.js';

export type RetryPolicy = Pick<Config, 'backoff_base' | 'max_backoff'>;

/**
 * A manager claims the job for its next free worker, under `lease`. Nothing has started: the
 * run fields keep describing the previous run (of a retry) until the new one starts.
 */
export function claim(job: ClaimableJob, lease: Omit<Lease, 'worker_pid'>, now: Date): ClaimedJob {
  return { ...job, state: 'processing', updated_at: now.toISOString(), lease: { ...lease, worker_pid: null } };
}

/** Worker `workerPid` started the command at `startedAt`: this is run number `attempts + 1`. */
export function start(job: ClaimedJob, workerPid: number, startedAt: string, now: Date, host?: string): RunningJob {
  return {
    ...job,
    attempts: job.attempts + 1,
    updated_at: now.toISOString(),
    started_at: startedAt,
    finished_at: null,
    exit_code: null,
    lease: { ...job.lease, worker_pid: workerPid, ...(host === undefined ? {} : { host }) },
  };
}

export function renewLease<J extends ProcessingJob>(job: J, expiresAt: Date): J {
  return { ...job, lease: { ...job.lease, expires_at: expiresAt.toISOString() } };
}

/**
 * Records how the current run ended, `endedAt` being when its worker saw the command end (the
 * default, `now`, is for runs that ended unseen: a lost worker, an expired lease). A failure
 * schedules a retry the backoff after that end while retries are left
 * (`attempts <= max_retries`); otherwise the job is dead.
 */
export function recordOutcome(
  job: RunningJob,
  outcome: RunOutcome,
  policy: RetryPolicy,
  now: Date,
  endedAt: string = now.toISOString(),
): CompletedJob | FailedJob | DeadJob {
  const ended = { ...job, updated_at: now.toISOString(), finished_at: endedAt, lease: null };
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
    run_at: nextRunAt(new Date(endedAt), job.attempts, policy.backoff_base, policy.max_backoff),
  };
}

/**
 * `restart` and `dlq retry`: a finished job back to pending, ready now, with a clean slate of
 * attempts; its id, its spec and its log stay (as `pueue restart --in-place` keeps a task).
 */
export function restart(job: FinishedJob, now: Date): PendingJob {
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
 * A claim given back before its command started (it waited past its bound, its manager stopped,
 * its worker went away): no run happened, so nothing changes but the state. A first run goes
 * back to pending; a retry goes back to failed, as it was, ready now.
 */
export function release(job: ClaimedJob, now: Date): PendingJob | FailedJob {
  const at = now.toISOString();
  const { started_at, finished_at, last_error } = job;
  if (started_at === null || finished_at === null || last_error === null) return { ...job, ...notStarted(at) };
  return { ...job, state: 'failed', updated_at: at, started_at, finished_at, last_error, lease: null };
}

/**
 * A job whose lease ran out: its manager died or froze. A claim that never started goes back as
 * if released; a run is recorded as lost, a failed attempt. `ran` says whether a claim whose start
 * is not recorded had started all the same (its processes were found): then it too is a lost run,
 * started at most a moment after the claim.
 */
export function recover(
  job: ProcessingJob,
  policy: RetryPolicy,
  now: Date,
  ran: boolean = !isClaimed(job),
): PendingJob | FailedJob | CompletedJob | DeadJob {
  if (isClaimed(job) && !ran) return release(job, now);
  const running = isClaimed(job) ? start(job, 0, job.updated_at, now) : job;
  const who = job.lease.worker_pid === null ? 'its manager' : `worker pid ${job.lease.worker_pid}`;
  return recordOutcome(running, { kind: 'lost', reason: `lease expired at ${job.lease.expires_at} (${who} died or froze)` }, policy, now);
}

/**
 * A job waiting by `--after` (pending, or failed and waiting to retry after a restart of its
 * dependency) whose dependency ended dead or canceled: it can never run as asked, so it is
 * canceled, with `reason` naming the dependency (pueue does the same). A failed one keeps what
 * its last run left.
 */
export function cancelForDependency(job: ClaimableJob, reason: string, now: Date): CanceledJob {
  const at = now.toISOString();
  return { ...job, state: 'canceled', updated_at: at, finished_at: at, last_error: `canceled: ${reason}` };
}

/**
 * `queuectl cancel`: the job stops being eligible for good. A processing job loses its lease, so
 * the worker running it can no longer record an outcome (its token is no longer current); the
 * caller kills the run. `last_error` says what the job was doing when it was canceled.
 *
 * `runFound` is for a claim whose start is not recorded yet: when processes of its run were
 * found, its command had started a moment before, and it is canceled as running.
 */
export function cancel(job: CancelableJob, now: Date, runFound = false): CanceledJob {
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
    case 'processing': {
      if (isClaimed(job) && !runFound) {
        return { ...base, started_at: job.started_at, exit_code: job.exit_code, last_error: 'canceled by user before its run started' };
      }
      // A start not recorded yet happened at most a moment after the claim.
      const running = isClaimed(job) ? { attempts: job.attempts + 1, started_at: job.updated_at } : job;
      return {
        ...base,
        attempts: running.attempts,
        started_at: running.started_at,
        exit_code: null,
        last_error: `canceled by user while running; run ${running.attempts} was killed`,
      };
    }
  }
}
