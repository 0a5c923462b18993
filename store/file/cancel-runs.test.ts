import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { CycleRequest } from '../../core/ports/store.js';
import type { FileStore } from './file-store.js';
import { cancelOn, fileStoreWith } from '../../test/file-store.js';
import { claimedJob, pendingJob, processingJob, T0 } from '../../test/sample-jobs.js';

function storeWith(t: TestContext, jobs: Parameters<typeof fileStoreWith>[1]): FileStore {
  return fileStoreWith(t, jobs, 'queuectl-cancel-');
}

const cancelJobs = cancelOn;

/** One dispatch cycle, as a manager asks it. */
function cycle(store: FileStore, request: CycleRequest) {
  return store.cycle(request, { newToken: () => 'x', runStarted: () => false });
}

test('the worker of a canceled run can neither renew its claim nor record an outcome over canceled', async (t) => {
  const store = storeWith(t, [processingJob('r'), pendingJob('p')]);
  const [canceled] = await cancelJobs(store, ['r']);
  assert.equal(canceled?.was, 'processing');
  assert.deepEqual(canceled?.stopped, { pids: [], killed: false, remaining: [] }, 'no process of it was running');

  const run = { id: 'r', token: 'token-1' };
  const renewal = await cycle(store, { outcomes: [], renew: [run], claim: 0 });
  assert.deepEqual(renewal.lost, [{ ...run, because: 'canceled' }], 'the manager learns the run was canceled');
  const result = await cycle(store, {
    outcomes: [{ ...run, workerPid: 42, startedAt: T0, endedAt: T0, outcome: { kind: 'exited', code: 0 } }],
    renew: [],
    claim: 0,
  });
  assert.deepEqual(result.recorded, [null]);
  assert.deepEqual(result.lostClaims, ['canceled']);
  const job = store.files.readQueue().find((entry) => entry.id === 'r');
  assert.equal(job?.state, 'canceled');
  assert.equal(job?.attempts, 1);
  assert.equal(store.files.readQueue().find((entry) => entry.id === 'p')?.state, 'pending', 'other jobs are untouched');
});

test('a canceled job gets a line in its log, even if it never ran', async (t) => {
  const store = storeWith(t, [pendingJob('p')]);
  await cancelJobs(store, ['p']);
  const log = readFileSync(join(store.files.paths.logs, 'p.log'), 'utf8');
  assert.match(log, /^--- queuectl: canceled by user while pending at \d{4}-/);
});

test('a claim that had not started is canceled as not started: no run counted, none killed', async (t) => {
  const store = storeWith(t, [claimedJob('c', { updated_at: new Date(Date.now() - 10_000).toISOString() })]);
  const [canceled] = await cancelJobs(store, ['c']);
  assert.equal(canceled?.was, 'processing');
  assert.equal(canceled?.job.started_at, null);
  assert.equal(canceled?.job.attempts, 0);
  assert.equal(canceled?.job.last_error, 'canceled by user before its run started');
  assert.deepEqual(canceled?.stopped?.pids, []);
});
