/** Jobs in each state, as plain data for unit tests of the pure rules. */
import type { CanceledJob, ClaimedJob, CompletedJob, DeadJob, PendingJob, RunningJob } from '../core/rules/job.js';

export const T0 = '2026-11-23T09:00:00.000Z';

export function pendingJob(id: string, fields: Partial<PendingJob> = {}): PendingJob {
  return {
    id,
    command: 'true',
    state: 'pending',
    attempts: 0,
    max_retries: 3,
    priority: 0,
    run_at: T0,
    timeout: null,
    cwd: '/',
    created_at: T0,
    updated_at: T0,
    started_at: null,
    finished_at: null,
    exit_code: null,
    last_error: null,
    lease: null,
    ...fields,
  };
}

/** A job whose command runs (its start recorded). */
export function processingJob(id: string, fields: Partial<RunningJob> = {}): RunningJob {
  return {
    ...pendingJob(id),
    state: 'processing',
    attempts: 1,
    started_at: T0,
    lease: { worker_pid: 42, token: 'token-1', expires_at: '2026-11-23T09:00:30.000Z' },
    ...fields,
  };
}

/** A job claimed by a manager for its next free worker, not started. */
export function claimedJob(id: string, fields: Partial<ClaimedJob> = {}): ClaimedJob {
  return {
    ...pendingJob(id),
    state: 'processing',
    lease: { worker_pid: null, token: 'token-1', expires_at: '2026-11-23T09:00:30.000Z' },
    ...fields,
  };
}

export function deadJob(id: string, fields: Partial<DeadJob> = {}): DeadJob {
  return {
    ...pendingJob(id),
    state: 'dead',
    attempts: 4,
    started_at: T0,
    finished_at: T0,
    exit_code: 1,
    last_error: 'command failed with exit code 1',
    lease: null,
    ...fields,
  };
}

export function completedJob(id: string, fields: Partial<CompletedJob> = {}): CompletedJob {
  return {
    ...pendingJob(id),
    state: 'completed',
    attempts: 1,
    started_at: T0,
    finished_at: T0,
    exit_code: 0,
    lease: null,
    ...fields,
  };
}

export function canceledJob(id: string, fields: Partial<CanceledJob> = {}): CanceledJob {
  return {
    ...pendingJob(id),
    state: 'canceled',
    attempts: 1,
    started_at: T0,
    finished_at: T0,
    last_error: 'canceled by user while it ran',
    lease: null,
    ...fields,
  };
}
