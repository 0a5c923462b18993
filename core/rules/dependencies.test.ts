import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokenDependencies, canceledDependents, cancelDependents, endings, isWaiting, unfinishedDependencies, waitingOn } from './dependencies.js';
import type { CanceledJob, Job } from './job.js';
import { completedJob, deadJob, pendingJob, processingJob, T0 } from '../../test/sample-jobs.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');

const canceledJob = (id: string, after: string[], lastError = `canceled: its dependency "${after[0]}" was canceled`): CanceledJob => ({
  ...pendingJob(id, { after }),
  state: 'canceled',
  finished_at: NOW.toISOString(),
  last_error: lastError,
});

test('a job waits for the dependencies in the queue that have not completed, in the order it names them', () => {
  const jobs: Job[] = [
    completedJob('done'),
    processingJob('running'),
    pendingJob('waiting', { after: ['later'] }),
    pendingJob('later'),
    pendingJob('fan-in', { after: ['running', 'done', 'later', 'gone'] }),
  ];
  const unfinished = unfinishedDependencies(jobs);
  assert.deepEqual(waitingOn(jobs[4]!, unfinished), ['running', 'later']);
  assert.equal(isWaiting(jobs[4]!, unfinished), true);
  // A dependency that left the queue completed (see the module's comment); none named: not held.
  assert.deepEqual(waitingOn(pendingJob('x', { after: ['done', 'gone'] }), unfinished), []);
  assert.equal(isWaiting(pendingJob('x', { after: ['done', 'gone'] }), unfinished), false);
  assert.equal(isWaiting(pendingJob('plain'), unfinished), false);
  // Old files have no "after" at all.
  const old = pendingJob('old');
  delete (old as { after?: string[] }).after;
  assert.deepEqual(waitingOn(old, unfinished), []);
});

test('only the jobs some job names are indexed: a queue without dependencies costs one pass', () => {
  assert.equal(unfinishedDependencies([pendingJob('a'), processingJob('b')]).size, 0);
  assert.deepEqual([...unfinishedDependencies([pendingJob('a'), pendingJob('b', { after: ['a'] }), processingJob('c')])].map(([id, job]) => [id, job.state]), [['a', 'pending']]);
});

test('a dead dependency cancels its pending dependents and the chain below them, naming the dependency and the cause', () => {
  const jobs: Job[] = [
    deadJob('a'),
    pendingJob('b', { after: ['a'] }),
    pendingJob('c', { after: ['b'] }),
    pendingJob('d', { after: ['c', 'a'] }),
    pendingJob('other', { after: ['z'] }),
    processingJob('ran-already', { after: ['a'] }),
  ];
  const { queue, canceled } = cancelDependents(jobs, endings([deadJob('a')]), NOW);
  assert.deepEqual(canceled.map((job) => job.id), ['b', 'd', 'c']);
  assert.equal(queue[1]!.state, 'canceled');
  assert.equal(queue[1]!.last_error, 'canceled: its dependency "a" is dead');
  assert.equal(queue[2]!.last_error, 'canceled: its dependency "b" was canceled ("a" is dead)');
  assert.equal(queue[3]!.last_error, 'canceled: its dependency "a" is dead');
  assert.equal(queue[3]!.finished_at, NOW.toISOString());
  assert.equal(queue[4]!.state, 'pending');
  // Its run started once its dependency had completed: a later failure of a rerun does not touch it.
  assert.equal(queue[5]!.state, 'processing');
  assert.equal(jobs[1]!.state, 'pending', 'the input is not changed');
});

test('nothing ended, nothing canceled', () => {
  const jobs = [pendingJob('b', { after: ['a'] })];
  assert.deepEqual(cancelDependents(jobs, new Map(), NOW), { queue: jobs, canceled: [] });
});

test('the canceled dependents of restarted jobs are found down the chain, but not jobs canceled for something else', () => {
  const jobs: Job[] = [
    pendingJob('a'),
    canceledJob('b', ['a']),
    canceledJob('c', ['b']),
    canceledJob('unrelated', ['x']),
    completedJob('ran', { after: ['a'] }),
    canceledJob('by-hand', ['a'], 'canceled by user while pending'),
  ];
  assert.deepEqual(canceledDependents(jobs, ['a']).map((job) => job.id), ['b', 'c'], 'not the one a person canceled');
  assert.deepEqual(canceledDependents(jobs, ['b']).map((job) => job.id), ['c']);
  assert.deepEqual(canceledDependents(jobs, ['ran']), []);
});

test('broken dependencies are the dead and canceled ones, those found nowhere, and ids that now name a later job', () => {
  const found = new Map([
    ['a', { state: 'dead', created_at: T0 }],
    ['b', { state: 'canceled', created_at: T0 }],
    ['c', { state: 'pending', created_at: T0 }],
    ['d', { state: 'completed', created_at: null }],
    ['e', { state: 'pending', created_at: '2026-11-23T09:00:00.001Z' }],
  ] as const);
  const job = pendingJob('x', { after: ['a', 'b', 'c', 'd', 'gone', 'e'] });
  assert.deepEqual(brokenDependencies(job, (id) => found.get(id as 'a')), [
    { id: 'a', state: 'dead' },
    { id: 'b', state: 'canceled' },
    { id: 'gone', state: 'unknown' },
    { id: 'e', state: 'replaced' },
  ]);
});

test('a job of the same id enqueued after the waiting job is a stranger: not waited for, not canceled with', () => {
  const later = '2026-11-23T09:30:00.000Z';
  const waiting = pendingJob('w', { after: ['a'] });
  const stranger = pendingJob('a', { created_at: later });
  const jobs: Job[] = [waiting, stranger];
  assert.equal(isWaiting(waiting, unfinishedDependencies(jobs)), false);
  assert.deepEqual(waitingOn(waiting, unfinishedDependencies(jobs)), []);
  const dead = deadJob('a', { created_at: later });
  assert.deepEqual(cancelDependents(jobs, endings([dead]), NOW).canceled, []);
});

test('a failed job due to run again after a restart of its completed dependency is canceled when that one dies', () => {
  const failed = { ...pendingJob('b', { after: ['a'] }), state: 'failed', attempts: 1, started_at: NOW.toISOString(), finished_at: NOW.toISOString(), exit_code: 1, last_error: 'command failed with exit code 1' } as Job;
  const { queue, canceled } = cancelDependents([deadJob('a'), failed], endings([deadJob('a')]), NOW);
  assert.deepEqual(canceled.map((job) => job.id), ['b']);
  assert.equal(queue[1]!.state, 'canceled');
  assert.equal(queue[1]!.exit_code, 1, 'what its last run left stays');
  assert.equal(queue[1]!.attempts, 1);
});

test('a long chain is canceled in one pass, each job once', () => {
  const chain: Job[] = [deadJob('j0'), ...Array.from({ length: 20_000 }, (_, i) => pendingJob(`j${i + 1}`, { after: [`j${i}`] }))];
  const started = performance.now();
  const { canceled } = cancelDependents(chain, endings([deadJob('j0')]), NOW);
  assert.equal(canceled.length, 20_000);
  assert.equal(new Set(canceled.map((job) => job.id)).size, 20_000);
  assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
});
