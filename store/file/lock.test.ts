import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOCK_STALE_MS, LOCK_WAIT_MS, LockLostError, lockRetryOptions, lockWaitMs } from '../local/lock.js';

test('a command waits 30 s for the lock by default, longer than a stale lock lasts', () => {
  assert.equal(lockWaitMs({}), LOCK_WAIT_MS);
  assert.equal(LOCK_WAIT_MS, 30_000);
  assert.ok(LOCK_WAIT_MS > LOCK_STALE_MS);
});

test('QUEUECTL_LOCK_TIMEOUT sets the wait in seconds', () => {
  assert.equal(lockWaitMs({ QUEUECTL_LOCK_TIMEOUT: '2' }), 2_000);
  assert.equal(lockWaitMs({ QUEUECTL_LOCK_TIMEOUT: '0.5' }), 500);
  assert.equal(lockWaitMs({ QUEUECTL_LOCK_TIMEOUT: '' }), LOCK_WAIT_MS);
});

test('a QUEUECTL_LOCK_TIMEOUT that is not a positive number is refused, naming the variable', () => {
  for (const text of ['0', '-1', 'abc', '1e3', ' ']) {
    assert.throws(() => lockWaitMs({ QUEUECTL_LOCK_TIMEOUT: text }), /QUEUECTL_LOCK_TIMEOUT must be a number of seconds above 0/);
  }
});

test('the retries are bounded by time and never run out before it', () => {
  const options = lockRetryOptions(30_000);
  assert.equal(options.maxRetryTime, 30_000);
  // Even at the shortest backoff (no randomization), the steps outlast the wait.
  let total = 0;
  for (let attempt = 0; attempt < options.retries; attempt++) {
    total += Math.min(options.minTimeout * options.factor ** attempt, options.maxTimeout);
  }
  assert.ok(total >= 30_000, `the retries cover only ${total} ms`);
});

test('a lost lock says what was written: nothing, or which files of a move made it before the loss was seen', () => {
  const lost = new LockLostError('/data/.lock', 'another process took it over');
  assert.equal(lost.message, 'lost the lock /data/.lock (another process took it over); nothing was written');
  assert.equal(lost.exitCode, 1);
  const halfway = new LockLostError('/data/.lock', 'another process took it over', ['dlq.json'], ['queue.json']);
  assert.equal(
    halfway.message,
    'lost the lock /data/.lock (another process took it over); dlq.json was written, queue.json not: the next write repairs a job left in both files',
  );
});

test('a lost lock after retention wrote an archive batch says no job changed and the batch holds copies', () => {
  const lost = new LockLostError('/data/.lock', 'another process took it over', [], [], '2026-12-02T03-00-00-000Z-1.json');
  assert.equal(
    lost.message,
    'lost the lock /data/.lock (another process took it over); no job changed (the queue files were not written); ' +
      'archive/2026-12-02T03-00-00-000Z-1.json, written just before, holds copies of jobs that stay in the queue',
  );
});
