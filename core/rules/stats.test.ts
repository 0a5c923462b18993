import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from './job.js';
import { computeStats, percentile } from './stats.js';
import { deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const S = 1_000;
const M = 60_000;

/** A job that ran for `runMs` and finished `finishedAgo` ms before NOW. */
function ran(id: string, state: 'completed' | 'dead' | 'canceled', finishedAgo: number, runMs: number): Job {
  const fields = { started_at: ago(finishedAgo + runMs), finished_at: ago(finishedAgo) };
  if (state === 'dead') return deadJob(id, fields);
  if (state === 'canceled') return { ...deadJob(id, fields), state: 'canceled', last_error: 'canceled by user while running; run 1 was killed' };
  return { ...deadJob(id, fields), state: 'completed', exit_code: 0, last_error: null };
}

test('percentiles are nearest-rank: p50 of 1..10 is 5, p95 is 10, and one value is every percentile', () => {
  const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(values, 50), 5);
  assert.equal(percentile(values, 95), 10);
  assert.equal(percentile(values, 0), 1);
  assert.equal(percentile([42], 95), 42);
  assert.equal(percentile([], 50), null);
});

test('figures of a crafted queue: counts, throughput, failure rate, run times and the oldest waiting job', () => {
  const jobs: Job[] = [
    ran('c1', 'completed', 10 * S, 1 * S), // last minute
    ran('c2', 'completed', 30 * S, 2 * S), // last minute
    ran('c3', 'completed', 5 * M, 3 * S), // last hour
    ran('c4', 'completed', 2 * 60 * M, 4 * S), // older than an hour
    ran('d1', 'dead', 20 * M, 10 * S), // last hour
    ran('d2', 'dead', 3 * 60 * M, 20 * S), // older
    ran('k1', 'canceled', 5 * S, 30 * S), // not work done: no throughput, no run time
    pendingJob('p-new', { run_at: ago(5 * S) }),
    pendingJob('p-old', { run_at: ago(90 * S) }),
    pendingJob('p-later', { run_at: new Date(NOW.getTime() + 60 * M).toISOString() }),
    processingJob('r1', { started_at: ago(1 * S) }),
  ];
  const stats = computeStats(jobs, NOW);
  assert.equal(stats.at, NOW.toISOString());
  assert.deepEqual(stats.counts, { pending: 3, processing: 1, failed: 0, completed: 4, dead: 2, canceled: 1 });
  assert.deepEqual(stats.throughput, { last_minute: 2, last_hour: 4 });
  assert.deepEqual(stats.failure_rate, { last_hour: 1 / 4, all: 2 / 6 });
  // Run times 1, 2, 3, 4, 10, 20 s.
  assert.deepEqual(stats.run_time_ms, { runs: 6, p50: 3 * S, p95: 20 * S });
  assert.deepEqual(stats.oldest_pending, { id: 'p-old', waiting_ms: 90 * S });
});

test('an empty queue has zero counts and no figures rather than NaN', () => {
  const stats = computeStats([], NOW);
  assert.deepEqual(stats.throughput, { last_minute: 0, last_hour: 0 });
  assert.deepEqual(stats.failure_rate, { last_hour: null, all: null });
  assert.deepEqual(stats.run_time_ms, { runs: 0, p50: null, p95: null });
  assert.equal(stats.oldest_pending, null);
  assert.ok(Object.values(stats.counts).every((count) => count === 0));
});

test('a job scheduled for later is not waiting yet, and a finish time in the future is not counted', () => {
  const stats = computeStats(
    [pendingJob('later', { run_at: new Date(NOW.getTime() + S).toISOString() }), ran('skew', 'completed', -5 * S, S)],
    NOW,
  );
  assert.equal(stats.oldest_pending, null);
  assert.deepEqual(stats.throughput, { last_minute: 0, last_hour: 0 });
});

test('completed jobs that retention moved to the archive count in the last minute and hour, once, and not in the counts of jobs on file', () => {
  const jobs: Job[] = [ran('c1', 'completed', 10 * S, S), ran('d1', 'dead', 2 * M, S)];
  const archived = [
    { id: 'a1', queue: 'default', finished_at: ago(20 * S) }, // last minute
    { id: 'a2', queue: 'default', finished_at: ago(30 * M) }, // last hour
    { id: 'a3', queue: 'default', finished_at: ago(2 * 60 * M) }, // older
    { id: 'c1', queue: 'default', finished_at: ago(10 * S) }, // also in the queue: a writer died between the two
  ];
  const stats = computeStats(jobs, NOW, { archived });
  assert.deepEqual(stats.throughput, { last_minute: 2, last_hour: 4 });
  assert.deepEqual(stats.failure_rate, { last_hour: 1 / 4, all: 1 / 2 }, 'the last hour counts them; "all" is of the jobs on file');
  assert.deepEqual(stats.counts, { pending: 0, processing: 0, failed: 0, completed: 1, dead: 1, canceled: 0 });
  assert.equal(stats.run_time_ms.runs, 2);
});
