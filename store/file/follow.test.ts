import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { followLog } from '../../core/operations/follow.js';
import { FileHost } from './host.js';
import type { FileStore } from './file-store.js';
import { cancelOn, fileStoreWith } from '../../test/file-store.js';
import { completedJob, pendingJob } from '../../test/sample-jobs.js';

function storeWith(t: TestContext, jobs: Parameters<typeof fileStoreWith>[1]): FileStore {
  return fileStoreWith(t, jobs, 'queuectl-follow-');
}

const cancelJobs = cancelOn;

/** Follows job `id`, collecting what it writes. */
function follow(store: FileStore, id: string, tailLines?: number): { output: () => string; done: Promise<unknown> } {
  const chunks: Buffer[] = [];
  const done = followLog(store, new FileHost(store.location).logs, id, {
    ...(tailLines === undefined ? {} : { tailLines }),
    write: async (chunk) => void chunks.push(chunk),
  });
  return { output: () => Buffer.concat(chunks).toString('utf8'), done };
}

test('--tail picks the last lines of the log as it is first read, then everything that follows', async (t) => {
  // A job that ran (its log is there): canceled, its log gets a line, which ends the follow.
  const store = storeWith(t, [pendingJob('j', { attempts: 1 })]);
  mkdirSync(store.files.paths.logs, { recursive: true });
  writeFileSync(join(store.files.paths.logs, 'j.log'), 'old 1\nold 2\nold 3\n');
  const following = follow(store, 'j', 1);
  appendFileSync(join(store.files.paths.logs, 'j.log'), 'new 1\nnew 2\n');
  await cancelJobs(store, ['j']);
  await following.done;
  assert.match(following.output(), /^old 3\nnew 1\nnew 2\n--- queuectl: canceled/);
});

test('--tail on a log still empty when first read (its run just starting) loses none of what is written next', async (t) => {
  // A job that ran (its log is there): canceled, its log gets a line, which ends the follow.
  const store = storeWith(t, [pendingJob('j', { attempts: 1 })]);
  mkdirSync(store.files.paths.logs, { recursive: true });
  writeFileSync(join(store.files.paths.logs, 'j.log'), ''); // opened by its worker, header not written yet
  const following = follow(store, 'j', 1);
  appendFileSync(join(store.files.paths.logs, 'j.log'), '=== run 1 ===\nline 1\nline 2\n');
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
