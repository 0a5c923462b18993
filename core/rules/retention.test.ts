import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompletedJob, Job } from './job.js';
import { applyRetention, RETENTION_GRACE_MS, RETENTION_SLACK } from './retention.js';
import { pendingJob } from '../../test/sample-jobs.js';

/** Long after every finish below: no job is within the grace period. */
const LATER = new Date('2026-11-24T00:00:00.000Z');

function completed(id: string, finishedSecond: number): CompletedJob {
  const at = new Date(Date.UTC(2026, 10, 23, 9, 0, finishedSecond)).toISOString();
  return { ...pendingJob(id), state: 'completed', attempts: 1, started_at: at, finished_at: at, exit_code: 0 } as CompletedJob;
}

test('nothing leaves while completed jobs stay within retention plus the slack', () => {
  const jobs: Job[] = Array.from({ length: 10 + RETENTION_SLACK }, (_, i) => completed(`c${i}`, i));
  const { keep, evicted } = applyRetention(jobs, 10, LATER);
  assert.equal(evicted.length, 0);
  assert.equal(keep.length, jobs.length);
});

test('past the slack, the oldest finished leave until retention remain', () => {
  const count = 10 + RETENTION_SLACK + 1;
  // Enqueue order differs from finish order: job c0 finished last.
  const jobs: Job[] = [completed('c0', 1000), ...Array.from({ length: count - 1 }, (_, i) => completed(`c${i + 1}`, i))];
  jobs.splice(5, 0, pendingJob('waiting'));
  const { keep, evicted } = applyRetention(jobs, 10, LATER);
  assert.equal(evicted.length, count - 10);
  assert.ok(!evicted.some((job) => job.id === 'c0'), 'the most recently finished job stays');
  assert.equal(keep.filter((job) => job.state === 'completed').length, 10);
  assert.ok(keep.some((job) => job.id === 'waiting'), 'jobs that are not finished always stay');
  assert.deepEqual(
    keep.map((job) => job.id),
    jobs.filter((job) => !evicted.includes(job as CompletedJob)).map((job) => job.id),
    'the order of what stays is unchanged',
  );
});

test('a retention of 0 empties queue.json of completed jobs in batches', () => {
  const jobs: Job[] = Array.from({ length: RETENTION_SLACK + 1 }, (_, i) => completed(`c${i}`, i));
  assert.equal(applyRetention(jobs, 0, LATER).evicted.length, RETENTION_SLACK + 1);
  assert.equal(applyRetention(jobs.slice(1), 0, LATER).evicted.length, 0);
});

test('canceled jobs count with completed ones and leave with them, oldest finished first', () => {
  const canceled = (id: string, second: number): Job => ({
    ...completed(id, second),
    state: 'canceled',
    exit_code: null,
    last_error: 'canceled by user while pending',
  }) as Job;
  const jobs: Job[] = [
    ...Array.from({ length: 6 + RETENTION_SLACK }, (_, i) => completed(`c${i}`, 10 + i)),
    canceled('old', 0),
    canceled('new', 5000),
  ];
  const { keep, evicted } = applyRetention(jobs, 6, LATER);
  assert.equal(evicted.length, jobs.length - 6);
  assert.ok(evicted.some((job) => job.id === 'old'), 'the oldest canceled job leaves');
  assert.ok(keep.some((job) => job.id === 'new'), 'the most recently canceled job stays');
  assert.equal(keep.length, 6);
});

test('dead jobs are not subject to retention (they live in dlq.json)', () => {
  const dead = (id: string): Job => ({ ...completed(id, 0), state: 'dead', exit_code: 1, last_error: 'x' }) as Job;
  const jobs: Job[] = Array.from({ length: RETENTION_SLACK + 5 }, (_, i) => dead(`d${i}`));
  assert.equal(applyRetention(jobs, 0, LATER).evicted.length, 0);
});

test('with a grace period, a job that finished within it stays, whatever retention says, so a waiter sees how it ended', () => {
  const finishedAt = (ms: number) => new Date(LATER.getTime() - ms).toISOString();
  const jobs: Job[] = Array.from({ length: RETENTION_SLACK + 2 }, (_, i) => ({
    ...completed(`c${i}`, 0),
    finished_at: finishedAt(i === 0 ? RETENTION_GRACE_MS - 1 : RETENTION_GRACE_MS + 1000 + i),
  }));
  const { keep, evicted } = applyRetention(jobs, 0, LATER, RETENTION_GRACE_MS);
  assert.deepEqual(keep.map((job) => job.id), ['c0']);
  assert.equal(evicted.length, RETENTION_SLACK + 1);
});
