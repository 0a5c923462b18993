import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { cancelJobs } from './cancel-ops.js';
import { followLog } from './follow.js';
import { QueueStore } from '../store/queue-store.js';
import { serializeJobs } from '../store/job-file.js';
import { completedJob, pendingJob } from '../test/sample-jobs.js';

function storeWith(t: TestContext, jobs: Parameters<typeof serializeJobs>[0]): QueueStore {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-follow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'queue.json'), serializeJobs(jobs));
  return new QueueStore(dir);
}

/** Follows job `id`, collecting what it writes. */
function follow(store: QueueStore, id: string, tailLines?: number): { output: () => string; done: Promise<unknown> } {
  const chunks: Buffer[] = [];
  const done = followLog(store, id, {
    ...(tailLines === undefined ? {} : { tailLines }),
    write: async (chunk) => void chunks.push(chunk),
  });
  return { output: () => Buffer.concat(chunks).toString('utf8'), done };
}

test('--tail picks the last lines of the log as it is first read, then everything that follows', async (t) => {
  const store = storeWith(t, [pendingJob('j')]);
  mkdirSync(store.paths.logs, { recursive: true });
  writeFileSync(join(store.paths.logs, 'j.log'), 'old 1\nold 2\nold 3\n');
  const following = follow(store, 'j', 1);
  appendFileSync(join(store.paths.logs, 'j.log'), 'new 1\nnew 2\n');
  await cancelJobs(store, ['j']);
  await following.done;
  assert.match(following.output(), /^old 3\nnew 1\nnew 2\n--- queuectl: canceled/);
});

test('--tail on a log still empty when first read (its run just starting) loses none of what is written next', async (t) => {
  const store = storeWith(t, [pendingJob('j')]);
  mkdirSync(store.paths.logs, { recursive: true });
  writeFileSync(join(store.paths.logs, 'j.log'), ''); // opened by its worker, header not written yet
  const following = follow(store, 'j', 1);
  appendFileSync(join(store.paths.logs, 'j.log'), '=== run 1 ===\nline 1\nline 2\n');
  await cancelJobs(store, ['j']);
  await following.done;
  assert.match(following.output(), /^=== run 1 ===\nline 1\nline 2\n--- queuectl: canceled/);
});

test('a job that finished without a log ends the follow at once, with nothing written', async (t) => {
  const store = storeWith(t, [completedJob('j')]);
  const following = follow(store, 'j', 1);
  const job = (await following.done) as { state: string };
  assert.equal(job.state, 'completed');
  assert.equal(following.output(), '');
});
