import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { CycleRequest } from '../../core/ports/store.js';
import { cancelJobs as cancelWith } from '../../core/operations/cancel.js';
import type { Job } from '../../core/rules/job.js';
import { recordOutcome } from '../../core/rules/transitions.js';
import { FileHost } from './host.js';
import type { FileStore } from './file-store.js';
import { cancelOn, fileStoreWith } from '../../test/file-store.js';
import { claimedJob, completedJob, pendingJob, processingJob, T0 } from '../../test/sample-jobs.js';

const POLICY = { backoff_base: 2, max_backoff: 3600 };

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

test('a job canceled before it ever ran gets no log; one that ran gets the cancel line in its log', async (t) => {
  const failed = recordOutcome(processingJob('f'), { kind: 'exited', code: 1 }, POLICY, new Date(T0));
  const store = storeWith(t, [pendingJob('p'), failed]);
  mkdirSync(store.files.paths.logs);
  writeFileSync(join(store.files.paths.logs, 'f.log'), '--- run 1\nboom\n');
  await cancelJobs(store, ['p', 'f']);
  assert.equal(existsSync(join(store.files.paths.logs, 'p.log')), false, 'no log for a job that never ran');
  const log = readFileSync(join(store.files.paths.logs, 'f.log'), 'utf8');
  assert.match(log, /^--- run 1\nboom\n--- queuectl: canceled by user while waiting to retry \(last run: .*\) at \d{4}-[^\n]*\n$/);
});

test('the cancel line is written only once the cancel is on disk', async (t) => {
  const store = storeWith(t, [processingJob('r')]);
  const host = new FileHost(store.location);
  const seen: (string | undefined)[] = [];
  const note = host.logs.note.bind(host.logs);
  host.logs.note = (...args: Parameters<typeof note>) => {
    const [id] = args;
    // What another process reads at this instant.
    const onDisk = JSON.parse(readFileSync(join(store.location, 'queue.json'), 'utf8')) as { jobs: Job[] };
    seen.push(onDisk.jobs.find((job) => job.id === id)?.state);
    note(...args);
  };
  await cancelWith(store, host, ['r']);
  assert.deepEqual(seen, ['canceled'], 'a killed or failed cancel leaves no line saying it happened');
});

test('a job that ran and leaves for the archive with the cancel gets the line in its archived log', async (t) => {
  const done = Array.from({ length: 101 }, (_, i) => completedJob(`done${i}`));
  const failed = recordOutcome(processingJob('f'), { kind: 'exited', code: 1 }, POLICY, new Date(T0));
  const store = storeWith(t, [...done, failed]);
  writeFileSync(join(store.location, 'config.json'), '{"retention": 0}\n');
  mkdirSync(store.files.paths.logs);
  writeFileSync(join(store.files.paths.logs, 'f.log'), '--- run 1\nboom\n');
  await cancelJobs(store, ['f']);
  assert.equal(existsSync(join(store.files.paths.logs, 'f.log')), false, 'the log left with its job, and no new one was made');
  const [batch] = readdirSync(store.files.paths.archive).filter((name) => name.endsWith('.json'));
  const log = readFileSync(join(store.files.paths.archive, batch!.replace(/\.json$/, '.logs'), 'f.log'), 'utf8');
  assert.match(log, /^--- run 1\nboom\n--- queuectl: canceled by user while waiting to retry /);
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
