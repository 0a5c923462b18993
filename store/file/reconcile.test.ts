import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconcile } from './reconcile.js';
import { deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

test('files without a shared id are left alone', () => {
  const result = reconcile([pendingJob('a')], [deadJob('b')]);
  assert.equal(result.repaired, false);
  assert.deepEqual(result.queue.map((job) => job.id), ['a']);
  assert.deepEqual(result.dlq.map((job) => job.id), ['b']);
});

test('a move to the DLQ cut short by a crash keeps the newer dead copy', () => {
  const running = processingJob('j', { updated_at: '2026-11-23T09:00:00.000Z' });
  const dead = deadJob('j', { updated_at: '2026-11-23T09:00:05.000Z' });
  const result = reconcile([pendingJob('other'), running], [dead]);
  assert.equal(result.repaired, true);
  assert.deepEqual(result.queue.map((job) => job.id), ['other']);
  assert.deepEqual(result.dlq, [dead]);
});

test('a dlq retry cut short by a crash keeps the newer pending copy', () => {
  const dead = deadJob('j', { updated_at: '2026-11-23T09:00:00.000Z' });
  const revived = pendingJob('j', { updated_at: '2026-11-23T09:10:00.000Z' });
  const result = reconcile([revived], [dead, deadJob('k')]);
  assert.equal(result.repaired, true);
  assert.deepEqual(result.queue, [revived]);
  assert.deepEqual(result.dlq.map((job) => job.id), ['k']);
});

test('on equal times the queue copy wins, so the job stays runnable', () => {
  const result = reconcile([pendingJob('j')], [deadJob('j')]);
  assert.deepEqual(result.queue.map((job) => job.id), ['j']);
  assert.deepEqual(result.dlq, []);
});

test('a death cut short by a crash before its queue.json write still cancels its held dependents', () => {
  const died = '2026-11-23T10:00:05.000Z';
  const { queue, repaired } = reconcile(
    [processingJob('a', { updated_at: '2026-11-23T10:00:00.000Z' }), pendingJob('b', { after: ['a'] }), pendingJob('c', { after: ['b'] })],
    [deadJob('a', { updated_at: died })],
  );
  assert.equal(repaired, true);
  assert.deepEqual(queue.map((job) => [job.id, job.state, job.last_error, job.finished_at]), [
    ['b', 'canceled', 'canceled: its dependency "a" is dead', died],
    ['c', 'canceled', 'canceled: its dependency "b" was canceled ("a" is dead)', died],
  ]);
});
