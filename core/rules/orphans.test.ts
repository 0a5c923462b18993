import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from './job.js';
import { OWNER_GRACE_MS, runsToKill, type LocalRun } from './orphans.js';
import { canceledJob, claimedJob, completedJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

const run = (id: string, token: string, workerGone = false): LocalRun => ({ id, token, workerGone });
const jobs = (...list: Job[]) => new Map(list.map((job) => [job.id, job]));
const ids = (runs: readonly LocalRun[]) => runs.map(({ id }) => id);

test('a run whose claim holds is never killed, whether or not its worker lives', () => {
  const current = jobs(processingJob('a', { lease: { worker_pid: 7, token: 'ta', expires_at: '2026-11-23T09:00:30.000Z' } }));
  const { kill, lostSince } = runsToKill([run('a', 'ta', true), run('a', 'ta', false)], current, new Map([['ta', 0]]), OWNER_GRACE_MS * 10);
  assert.deepEqual(kill, []);
  assert.equal(lostSince.size, 0);
});

test('a run whose claim is gone and whose worker died is killed at once, whatever became of its job', () => {
  const retaken = processingJob('retaken', { attempts: 2, lease: { worker_pid: 9, token: 'new', expires_at: '2026-11-23T09:00:30.000Z' } });
  const held = claimedJob('held', { lease: { worker_pid: null, token: 'new', expires_at: '2026-11-23T09:00:30.000Z' } });
  const current = jobs(retaken, held, pendingJob('back'), completedJob('done'), canceledJob('canceled'));
  const runs = [run('retaken', 'old', true), run('held', 'old', true), run('back', 'old', true), run('done', 'old', true), run('canceled', 'old', true), run('gone', 'old', true)];
  const { kill, lostSince } = runsToKill(runs, current, new Map(), 1_000);
  assert.deepEqual(ids(kill), ['retaken', 'held', 'back', 'done', 'canceled', 'gone']);
  assert.equal(lostSince.size, 0);
});

test('a run whose claim is gone but whose worker may live is left to that worker for OWNER_GRACE_MS from when it was first seen so', () => {
  const current = jobs(pendingJob('a'));
  const first = runsToKill([run('a', 'ta')], current, new Map(), 1_000);
  assert.deepEqual(first.kill, []);
  assert.deepEqual([...first.lostSince], [['ta', 1_000]]);
  const before = runsToKill([run('a', 'ta')], current, first.lostSince, 1_000 + OWNER_GRACE_MS - 1);
  assert.deepEqual(before.kill, []);
  assert.deepEqual([...before.lostSince], [['ta', 1_000]], 'the first sighting is kept, not the latest');
  const after = runsToKill([run('a', 'ta')], current, before.lostSince, 1_000 + OWNER_GRACE_MS);
  assert.deepEqual(ids(after.kill), ['a']);
  assert.equal(after.lostSince.size, 0);
});

test('a run no longer found is forgotten, and one whose claim came back is not counted as lost', () => {
  const { lostSince } = runsToKill([run('b', 'tb')], jobs(pendingJob('b')), new Map([['gone', 5]]), 100);
  assert.deepEqual([...lostSince], [['tb', 100]]);
  const back = processingJob('b', { lease: { worker_pid: 3, token: 'tb', expires_at: '2026-11-23T09:00:30.000Z' } });
  assert.equal(runsToKill([run('b', 'tb')], jobs(back), lostSince, 100 + OWNER_GRACE_MS).lostSince.size, 0);
});
