import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancel, claim, recordOutcome, recover, release, renewLease, restart, start } from './transitions.js';
import { claimedJob, deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const POLICY = { backoff_base: 2, max_backoff: 3600 };
const LEASE = { token: 'abc', expires_at: '2026-11-23T10:00:30.000Z' };

test('a claim makes the job processing under the lease, for no worker yet, and counts no run', () => {
  const job = claim(pendingJob('j'), LEASE, NOW);
  assert.equal(job.state, 'processing');
  assert.equal(job.attempts, 0);
  assert.equal(job.started_at, null);
  assert.equal(job.updated_at, NOW.toISOString());
  assert.deepEqual(job.lease, { ...LEASE, worker_pid: null });
});

test('the start counts the run, with the start time its worker saw and the worker in the lease', () => {
  const claimed = claim(pendingJob('j'), LEASE, NOW);
  const running = start(claimed, 7, '2026-11-23T10:00:00.250Z', new Date('2026-11-23T10:00:00.300Z'));
  assert.equal(running.attempts, 1);
  assert.equal(running.started_at, '2026-11-23T10:00:00.250Z');
  assert.equal(running.updated_at, '2026-11-23T10:00:00.300Z');
  assert.deepEqual(running.lease, { ...LEASE, worker_pid: 7 });
});

test('a claim of a failed job keeps the record of its last run until the retry starts', () => {
  const failed = recordOutcome(processingJob('j'), { kind: 'exited', code: 2 }, POLICY, NOW);
  assert.equal(failed.state, 'failed');
  const again = claim(failed as never, LEASE, new Date('2026-11-23T10:00:05.000Z'));
  assert.equal(again.attempts, 1, 'the failed run; the retry counts when it starts');
  assert.equal(again.started_at, failed.started_at);
  assert.equal(again.finished_at, failed.finished_at);
  assert.equal(again.exit_code, 2);
  assert.equal(again.last_error, 'command failed with exit code 2');
  const retry = start(again, 7, '2026-11-23T10:00:05.100Z', NOW);
  assert.equal(retry.attempts, 2);
  assert.equal(retry.started_at, '2026-11-23T10:00:05.100Z');
  assert.equal(retry.finished_at, null);
  assert.equal(retry.exit_code, null);
});

test('a run ends when its worker saw it end, not when the outcome is written', () => {
  const job = recordOutcome(processingJob('j'), { kind: 'exited', code: 0 }, POLICY, NOW, '2026-11-23T09:59:59.900Z');
  assert.equal(job.finished_at, '2026-11-23T09:59:59.900Z');
  assert.equal(job.updated_at, NOW.toISOString());
});

test('an expired lease: a claim that never started goes back with nothing counted, a run is lost', () => {
  const expired = { token: 'x', expires_at: '2026-11-23T09:59:00.000Z' };
  const claimed = recover(claimedJob('c', { lease: { ...expired, worker_pid: null } }), POLICY, NOW);
  assert.equal(claimed.state, 'pending');
  assert.equal(claimed.attempts, 0);
  const running = recover(processingJob('r', { attempts: 1, lease: { ...expired, worker_pid: 9 } }), POLICY, NOW);
  assert.equal(running.state, 'failed');
  assert.equal(running.attempts, 1);
  assert.match(running.last_error ?? '', /^worker lost: lease expired at 2026-11-23T09:59:00.000Z \(worker pid 9 died or froze\)$/);
});

test('exit code 0 completes the job and drops its lease', () => {
  const job = recordOutcome(processingJob('j'), { kind: 'exited', code: 0 }, POLICY, NOW);
  assert.equal(job.state, 'completed');
  assert.equal(job.exit_code, 0);
  assert.equal(job.finished_at, NOW.toISOString());
  assert.equal(job.lease, null);
  assert.equal(job.last_error, null);
});

test('a failure with retries left schedules the retry after base ^ attempts seconds', () => {
  const first = recordOutcome(processingJob('j', { attempts: 1 }), { kind: 'exited', code: 3 }, POLICY, NOW);
  assert.equal(first.state, 'failed');
  assert.equal(first.run_at, '2026-11-23T10:00:02.000Z');
  assert.equal(first.exit_code, 3);
  assert.equal(first.last_error, 'command failed with exit code 3');
  const third = recordOutcome(processingJob('j', { attempts: 3 }), { kind: 'exited', code: 3 }, POLICY, NOW);
  assert.equal(third.run_at, '2026-11-23T10:00:08.000Z');
});

test('the job dies after 1 + max_retries failed runs, not before', () => {
  const policy = { backoff_base: 2, max_backoff: 3600 };
  const lastRetry = recordOutcome(processingJob('j', { attempts: 3, max_retries: 3 }), { kind: 'exited', code: 1 }, policy, NOW);
  assert.equal(lastRetry.state, 'failed');
  const final = recordOutcome(processingJob('j', { attempts: 4, max_retries: 3 }), { kind: 'exited', code: 1 }, policy, NOW);
  assert.equal(final.state, 'dead');
  assert.equal(final.lease, null);
  const noRetries = recordOutcome(processingJob('j', { attempts: 1, max_retries: 0 }), { kind: 'exited', code: 1 }, policy, NOW);
  assert.equal(noRetries.state, 'dead');
});

test('kills, timeouts, start failures and lost workers are failures without an exit code', () => {
  const outcomes = [
    [{ kind: 'killed', signal: 'SIGKILL' }, 'command was killed by SIGKILL'],
    [{ kind: 'timed_out', seconds: 5 }, 'command timed out after 5 s and was killed'],
    [{ kind: 'spawn_failed', message: 'working directory /x does not exist' }, 'command could not start: working directory /x does not exist'],
    [{ kind: 'lost', reason: 'lease expired' }, 'worker lost: lease expired'],
  ] as const;
  for (const [outcome, message] of outcomes) {
    const job = recordOutcome(processingJob('j'), outcome, POLICY, NOW);
    assert.equal(job.state, 'failed');
    assert.equal(job.exit_code, null);
    assert.equal(job.last_error, message);
  }
});

test('the backoff of a retry is capped by max_backoff', () => {
  const job = recordOutcome(processingJob('j', { attempts: 20, max_retries: 50 }), { kind: 'exited', code: 1 }, { backoff_base: 2, max_backoff: 60 }, NOW);
  assert.equal(job.run_at, '2026-11-23T10:01:00.000Z');
});

test('renewing a lease moves only its expiry', () => {
  const job = processingJob('j');
  const renewed = renewLease(job, new Date('2026-11-23T10:05:00.000Z'));
  assert.equal(renewed.lease.expires_at, '2026-11-23T10:05:00.000Z');
  assert.equal(renewed.lease.token, job.lease.token);
  assert.equal(job.lease.expires_at, '2026-11-23T09:00:30.000Z', 'the input is not mutated');
});

test('reviving a dead job makes it pending now with attempts reset and no trace of the failure', () => {
  const job = restart(deadJob('d', { priority: 4, max_retries: 2 }), NOW);
  assert.equal(job.state, 'pending');
  assert.equal(job.attempts, 0);
  assert.equal(job.run_at, NOW.toISOString());
  assert.equal(job.priority, 4);
  assert.equal(job.max_retries, 2);
  assert.equal(job.last_error, null);
  assert.equal(job.exit_code, null);
  assert.equal(job.finished_at, null);
});

test('transitions keep the field order of the file format', () => {
  const keys = Object.keys(recordOutcome(processingJob('j'), { kind: 'exited', code: 0 }, POLICY, NOW));
  assert.deepEqual(keys, Object.keys(pendingJob('j')));
});

test('releasing a first claim that never started gives back a pending job with no attempt counted', () => {
  const claimed = claim(pendingJob('j'), LEASE, NOW);
  const released = release(claimed, new Date('2026-11-23T10:00:01.000Z'));
  assert.equal(released.state, 'pending');
  assert.equal(released.attempts, 0);
  assert.equal(released.lease, null);
  assert.equal(released.started_at, null);
  assert.equal(released.run_at, claimed.run_at, 'still ready as before');
  assert.equal(released.updated_at, '2026-11-23T10:00:01.000Z');
});

test('releasing a retry gives back the failed job as it was: its last run\'s times, exit code and error', () => {
  const failed = recordOutcome(processingJob('j', { attempts: 1 }), { kind: 'exited', code: 2 }, POLICY, NOW);
  const claimed = claim(failed as never, LEASE, new Date('2026-11-23T10:00:05.000Z'));
  const released = release(claimed, new Date('2026-11-23T10:00:06.000Z'));
  assert.equal(released.state, 'failed');
  assert.equal(released.attempts, 1);
  assert.equal(released.last_error, 'command failed with exit code 2');
  assert.equal(released.exit_code, 2);
  assert.equal(released.started_at, failed.started_at);
  assert.equal(released.finished_at, failed.finished_at);
  assert.equal(released.lease, null);
  assert.equal(released.run_at, claimed.run_at);
});

test('canceling a pending job makes it canceled now, never ran, with a last_error that says so', () => {
  const job = cancel(pendingJob('p', { priority: 2 }), NOW);
  assert.equal(job.state, 'canceled');
  assert.equal(job.finished_at, NOW.toISOString());
  assert.equal(job.updated_at, NOW.toISOString());
  assert.equal(job.started_at, null);
  assert.equal(job.exit_code, null);
  assert.equal(job.attempts, 0);
  assert.equal(job.priority, 2);
  assert.equal(job.lease, null);
  assert.equal(job.last_error, 'canceled by user while pending');
});

test('canceling a failed job keeps its last run and says why that run failed', () => {
  const failed = recordOutcome(processingJob('f', { attempts: 1 }), { kind: 'exited', code: 3 }, POLICY, NOW);
  assert.equal(failed.state, 'failed');
  const later = new Date('2026-11-23T10:00:01.000Z');
  const job = cancel(failed as never, later);
  assert.equal(job.state, 'canceled');
  assert.equal(job.attempts, 1);
  assert.equal(job.exit_code, 3);
  assert.equal(job.started_at, failed.started_at);
  assert.equal(job.finished_at, later.toISOString());
  assert.equal(job.last_error, 'canceled by user while waiting to retry (last run: command failed with exit code 3)');
});

test('canceling a processing job drops its lease, so the worker that runs it can no longer record an outcome', () => {
  const running = processingJob('r', { attempts: 2 });
  const job = cancel(running, NOW);
  assert.equal(job.state, 'canceled');
  assert.equal(job.lease, null);
  assert.equal(job.exit_code, null);
  assert.equal(job.started_at, running.started_at);
  assert.equal(job.last_error, 'canceled by user while running; run 2 was killed');
  assert.equal(running.state, 'processing', 'the input is not mutated');
});

test('canceling a claim that had not started says so, and counts no run', () => {
  const job = cancel(claimedJob('c'), NOW);
  assert.equal(job.attempts, 0);
  assert.equal(job.started_at, null);
  assert.equal(job.last_error, 'canceled by user before its run started');
});

test('canceling a claim whose run was found running counts that run, started at most a moment after the claim', () => {
  const claimed = claimedJob('c', { attempts: 1, updated_at: '2026-11-23T09:59:59.000Z' });
  const job = cancel(claimed, NOW, true);
  assert.equal(job.attempts, 2);
  assert.equal(job.started_at, '2026-11-23T09:59:59.000Z');
  assert.equal(job.last_error, 'canceled by user while running; run 2 was killed');
});

test('a canceled job keeps the field order of the file format', () => {
  for (const job of [pendingJob('j'), processingJob('j'), claimedJob('j')]) {
    assert.deepEqual(Object.keys(restart(cancel(job, NOW), NOW)), Object.keys(pendingJob('j')));
    assert.deepEqual(Object.keys(cancel(job, NOW)), Object.keys(pendingJob('j')));
  }
});
