import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from './job.js';
import { QueueSlots, summarizeQueues, withQueueSettings } from './queues.js';
import { summarizeJobs } from './summary.js';
import { claimedJob, completedJob, deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

test('a limit counts every processing job of its queue, claimed or running, whoever claimed it', () => {
  const jobs: Job[] = [
    processingJob('a', { queue: 'ffmpeg' }),
    claimedJob('b', { queue: 'ffmpeg' }),
    processingJob('c'),
    pendingJob('d', { queue: 'ffmpeg' }),
  ];
  const slots = new QueueSlots(jobs, { ffmpeg: { parallel: 3 } });
  assert.equal(slots.hasRoom('ffmpeg'), true);
  slots.take('ffmpeg');
  assert.equal(slots.hasRoom('ffmpeg'), false);
  assert.equal(slots.hasRoom('default'), true, 'no limit');
  assert.equal(new QueueSlots(jobs, { ffmpeg: { parallel: 2 } }).hasRoom('ffmpeg'), false);
});

test('a job in no named queue (an old file) is in default, and default can be limited too', () => {
  const old = processingJob('a');
  delete (old as { queue?: string }).queue;
  assert.equal(new QueueSlots([old], { default: { parallel: 1 } }).hasRoom('default'), false);
});

test('a paused queue, and a queue the manager does not take, are not accepted', () => {
  const slots = new QueueSlots([], { slow: { paused: true } }, ['slow', 'fast']);
  assert.equal(slots.accepts('slow'), false);
  assert.equal(slots.accepts('fast'), true);
  assert.equal(slots.accepts('default'), false);
  assert.equal(new QueueSlots([], {}).accepts('anything'), true);
});

test('settings: a change keeps the rest, and a queue back to its defaults drops out', () => {
  let table = withQueueSettings({}, 'ffmpeg', { parallel: 1 });
  assert.deepEqual(table, { ffmpeg: { parallel: 1 } });
  table = withQueueSettings(table, 'ffmpeg', { paused: true });
  assert.deepEqual(table, { ffmpeg: { parallel: 1, paused: true } });
  table = withQueueSettings(table, 'ffmpeg', { parallel: undefined });
  assert.deepEqual(table, { ffmpeg: { paused: true } });
  assert.deepEqual(withQueueSettings(table, 'ffmpeg', { paused: false }), {});
});

test('summaries: every queue with jobs or settings, default first, counted per state', () => {
  const jobs: Job[] = [pendingJob('a', { queue: 'x' }), deadJob('b', { queue: 'x' }), completedJob('c'), pendingJob('d', { queue: 'b' })];
  const summaries = summarizeQueues(summarizeJobs(jobs).queues, { z: { parallel: 2 } });
  assert.deepEqual(summaries.map((queue) => queue.name), ['default', 'b', 'x', 'z']);
  const x = summaries.find((queue) => queue.name === 'x')!;
  assert.equal(x.counts.pending, 1);
  assert.equal(x.counts.dead, 1);
  assert.equal(summaries.find((queue) => queue.name === 'z')!.parallel, 2);
  assert.deepEqual(summarizeQueues({}, {}).map((queue) => queue.name), ['default']);
  assert.deepEqual(summarizeQueues({}, { default: { paused: true } })[0]!.counts.pending, 0);
});
