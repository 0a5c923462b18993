import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isExpired, pickJobs } from './claim-order.js';
import type { Job, ProcessingJob } from './job.js';
import { pendingJob, processingJob } from '../../test/sample-jobs.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');

const pending = pendingJob;
const processing = (id: string, expiresAt: string): ProcessingJob =>
  processingJob(id, { lease: { worker_pid: 42, token: 't', expires_at: expiresAt } });

const ids = (jobs: Job[], order: number[]) => order.map((i) => jobs[i]!.id);

/** The one next job, or -1. */
const pickNext = (jobs: readonly Job[], now: Date) => pickJobs(jobs, now, 1).picked[0] ?? -1;

function drain(jobs: Job[]): string[] {
  const left = [...jobs];
  const order: string[] = [];
  for (let i = pickNext(left, NOW); i !== -1; i = pickNext(left, NOW)) {
    order.push(left[i]!.id);
    left.splice(i, 1);
  }
  return order;
}

test('the highest priority ready job goes first', () => {
  const jobs = [pending('low', { priority: -1 }), pending('mid'), pending('high', { priority: 5 })];
  assert.deepEqual(drain(jobs), ['high', 'mid', 'low']);
});

test('among equal priorities the oldest run_at goes first, then enqueue order', () => {
  const jobs = [
    pending('b', { run_at: '2026-11-23T09:30:00.000Z' }),
    pending('a', { run_at: '2026-11-23T09:10:00.000Z' }),
    pending('c', { run_at: '2026-11-23T09:30:00.000Z' }),
  ];
  assert.deepEqual(drain(jobs), ['a', 'b', 'c']);
});

test('a job whose run_at is in the future is not picked, whatever its priority', () => {
  const jobs = [pending('later', { priority: 100, run_at: '2026-11-23T10:00:00.001Z' }), pending('now')];
  assert.deepEqual(ids(jobs, [pickNext(jobs, NOW)]), ['now']);
  assert.equal(pickNext([jobs[0]!], NOW), -1);
});

test('a job due exactly now is ready', () => {
  assert.equal(pickNext([pending('due', { run_at: NOW.toISOString() })], NOW), 0);
});

test('failed jobs waiting for their retry are claimable once due; processing and finished ones never', () => {
  const failed = { ...pending('retry'), state: 'failed' } as unknown as Job;
  const completed = { ...pending('done'), state: 'completed' } as unknown as Job;
  const jobs: Job[] = [processing('running', '2026-11-23T11:00:00.000Z'), completed, failed];
  assert.equal(pickNext(jobs, NOW), 2);
  assert.equal(pickNext(jobs.slice(0, 2), NOW), -1);
});

test('only leases that have run out are expired', () => {
  const jobs: Job[] = [
    processing('alive', '2026-11-23T10:00:00.001Z'),
    processing('lapsed', '2026-11-23T09:59:59.999Z'),
    processing('edge', NOW.toISOString()),
    pending('idle'),
  ];
  assert.deepEqual(jobs.flatMap((job, i) => (isExpired(job, NOW.toISOString()) ? [i] : [])), [1, 2]);
});

test('the next ready time is the soonest run_at of a waiting job', () => {
  const jobs: Job[] = [
    pending('a', { run_at: '2026-11-23T12:00:00.000Z' }),
    pending('b', { run_at: '2026-11-23T11:00:00.000Z' }),
    processing('p', '2026-11-23T10:30:00.000Z'),
  ];
  assert.equal(pickJobs(jobs, NOW, 1).nextReadyAt, '2026-11-23T11:00:00.000Z');
  assert.equal(pickJobs([], NOW, 1).nextReadyAt, null);
});

test('pickJobs: several at once in claim order; a gate holds jobs back without changing the order of the rest', () => {
  const jobs: Job[] = [
    pending('held', { priority: 9 }),
    pending('a1', { queue: 'a' }),
    pending('a2', { queue: 'a' }),
    pending('b1', { queue: 'b', priority: 1 }),
    pending('later', { run_at: '2026-11-23T11:00:00.000Z' }),
    pending('held-later', { run_at: '2026-11-23T10:30:00.000Z' }),
  ];
  assert.deepEqual(ids(jobs, pickJobs(jobs, NOW, 10).picked), ['held', 'b1', 'a1', 'a2']);
  const taken: string[] = [];
  const room = new Map([['a', 1]]);
  const gate = {
    eligible: (job: Job) => !job.id.startsWith('held'),
    hasRoom: (job: Job) => (room.get(job.queue!) ?? 1) > 0,
    take: (job: Job) => {
      taken.push(job.id);
      if (room.has(job.queue!)) room.set(job.queue!, room.get(job.queue!)! - 1);
    },
  };
  const { picked, nextReadyAt } = pickJobs(jobs, NOW, 10, gate);
  // a2 waits for a1's slot; the held jobs are not picked, and do not wake an idle worker.
  assert.deepEqual(ids(jobs, picked), ['b1', 'a1']);
  assert.deepEqual(taken, ['b1', 'a1']);
  assert.equal(nextReadyAt, '2026-11-23T11:00:00.000Z');
  assert.deepEqual(ids(jobs, pickJobs(jobs, NOW, 10, gate).picked), ['b1'], 'queue a has no room left');
});

test('pickJobs takes many at once in exactly the claim order of a full sort', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000).toISOString();
  const jobs: Job[] = Array.from({ length: 600 }, (_, i) =>
    pending(`j${i}`, { priority: Math.floor(random() * 5) - 2, run_at: minutes(Math.floor(random() * 20) - 15) }),
  );
  const expected = jobs
    .map((job, index) => ({ job, index }))
    .filter(({ job }) => job.run_at <= NOW.toISOString())
    .sort((a, b) => b.job.priority - a.job.priority || (a.job.run_at < b.job.run_at ? -1 : a.job.run_at > b.job.run_at ? 1 : a.index - b.index))
    .map(({ index }) => index);
  assert.ok(expected.length > 300 && expected.length < 600, 'some are not ready yet');
  assert.deepEqual(pickJobs(jobs, NOW, 600).picked, expected);
  assert.deepEqual(pickJobs(jobs, NOW, 7).picked, expected.slice(0, 7));
});
