import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readConsistently } from './job-files.js';

type File = 'queue' | 'dlq';

/**
 * queue.json and dlq.json while job "j" moves between them: two renames, the file that gains the
 * job first. `after` says how many of the two writes land right after reading which file.
 */
function moving(direction: 'out of the DLQ' | 'into the DLQ', after: Partial<Record<File, number>>) {
  const files =
    direction === 'out of the DLQ'
      ? { queue: { version: 1, jobs: [] as string[] }, dlq: { version: 1, jobs: ['j'] } }
      : { queue: { version: 1, jobs: ['j'] }, dlq: { version: 1, jobs: [] as string[] } };
  const order: File[] = direction === 'out of the DLQ' ? ['queue', 'dlq'] : ['dlq', 'queue'];
  let writes = 0;
  const write = () => {
    const file = order[writes++];
    if (!file) return;
    files[file] = { version: files[file].version + 1, jobs: files[file].jobs.length ? [] : ['j'] };
  };
  const read = (file: File) => {
    const jobs = files[file].jobs;
    for (let n = after[file] ?? 0; n > 0; n--) write();
    after[file] = 0;
    return jobs;
  };
  return { dlqIdentity: () => String(files.dlq.version), queue: () => read('queue'), dlq: () => read('dlq') };
}

/** How many copies of job "j" the pair holds (two are resolved by `reconcile`). */
const copies = (pair: { queue: string[]; dlq: string[] }) => pair.queue.length + pair.dlq.length;

test('a dlq retry written between the reads of queue.json and dlq.json does not hide its job', () => {
  // queue.json is read before the move, dlq.json after it: neither holds the job.
  assert.deepEqual(readConsistently(moving('out of the DLQ', { queue: 2 })), { queue: ['j'], dlq: [] });
});

test('every interleaving of a move, either way, shows the job at least once', () => {
  for (const direction of ['out of the DLQ', 'into the DLQ'] as const) {
    for (const after of [{}, { queue: 1 }, { queue: 2 }, { queue: 1, dlq: 1 }, { dlq: 1 }, { dlq: 2 }]) {
      const pair = readConsistently(moving(direction, { ...after }));
      assert.ok(copies(pair) >= 1, `${direction}, writes after ${JSON.stringify(after)}: ${JSON.stringify(pair)}`);
    }
  }
});

test('with no write in between, both files are read once', () => {
  let reads = 0;
  const read = readConsistently({ dlqIdentity: () => 'same', queue: () => ++reads, dlq: () => ++reads });
  assert.deepEqual(read, { queue: 1, dlq: 2 });
});

test('under endless change the read gives up after 10 tries and keeps the last pair', () => {
  let version = 0;
  let reads = 0;
  const read = readConsistently({ dlqIdentity: () => String(version++), queue: () => ++reads, dlq: () => reads });
  assert.equal(reads, 10);
  assert.deepEqual(read, { queue: 10, dlq: 10 });
});
