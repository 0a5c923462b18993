import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readConsistently } from './queue-store.js';

/**
 * Two files as a `dlq retry` of job "j" leaves them between its two writes and after both:
 * queue.json gains the job first, then dlq.json loses it. `steps` say which writes happen
 * right after which read.
 */
function dlqRetryDuring(steps: Partial<Record<'queue' | 'dlq', number>>) {
  const files = { queue: { version: 1, jobs: [] as string[] }, dlq: { version: 1, jobs: ['j'] } };
  let writes = 0;
  const write = () => {
    writes++;
    if (writes === 1) files.queue = { version: 2, jobs: ['j'] };
    if (writes === 2) files.dlq = { version: 2, jobs: [] };
  };
  const after = (file: 'queue' | 'dlq') => {
    for (let n = steps[file] ?? 0; n > 0; n--) write();
    steps[file] = 0;
  };
  return {
    queueIdentity: () => String(files.queue.version),
    queue: () => {
      const jobs = files.queue.jobs;
      after('queue');
      return jobs;
    },
    dlq: () => {
      const jobs = files.dlq.jobs;
      after('dlq');
      return jobs;
    },
  };
}

test('a dlq retry written between the reads of queue.json and dlq.json does not hide its job', () => {
  // queue.json is read before the move, dlq.json after it: neither holds the job.
  const read = readConsistently(dlqRetryDuring({ queue: 2 }));
  assert.deepEqual(read, { queue: ['j'], dlq: [] });
});

test('a dlq retry half written when queue.json is read is read again whole', () => {
  const read = readConsistently(dlqRetryDuring({ queue: 1, dlq: 1 }));
  assert.deepEqual(read, { queue: ['j'], dlq: [] });
});

test('with no write in between, both files are read once', () => {
  let reads = 0;
  const read = readConsistently({ queueIdentity: () => 'same', queue: () => ++reads, dlq: () => ++reads });
  assert.deepEqual(read, { queue: 1, dlq: 2 });
});

test('under endless change the read gives up after 10 tries and keeps the last pair', () => {
  let version = 0;
  let reads = 0;
  const read = readConsistently({ queueIdentity: () => String(version++), queue: () => ++reads, dlq: () => reads });
  assert.equal(reads, 10);
  assert.deepEqual(read, { queue: 10, dlq: 10 });
});
