import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueuectlError } from './errors.js';
import type { Job } from './job.js';
import { recordOutcome } from './transitions.js';
import { observe, pace, tally, vanished, WAIT_EXIT, waitExitCode, waitTargets, type Watched } from './wait.js';
import { deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const POLICY = { backoff_base: 2, max_backoff: 3600 };
const completed = (id: string) => recordOutcome(processingJob(id), { kind: 'exited', code: 0 }, POLICY, NOW);
const failed = (id: string) => recordOutcome(processingJob(id), { kind: 'exited', code: 1 }, POLICY, NOW);
const canceled = (id: string): Job => ({ ...completed(id), state: 'canceled', exit_code: null, last_error: 'canceled by user while pending' });

const ids = (watched: readonly Watched[]) => watched.map((entry) => entry.id);

test('with no ids, wait is for every job not finished yet; old completed, dead and canceled jobs are left out', () => {
  const queue = [completed('c'), pendingJob('p'), processingJob('r'), failed('f'), canceled('k')];
  assert.deepEqual(ids(waitTargets(queue, [deadJob('d')], [])), ['p', 'r', 'f']);
});

test('named jobs are waited for whatever their state, each once, in the order given', () => {
  const queue = [completed('c'), pendingJob('p')];
  assert.deepEqual(ids(waitTargets(queue, [deadJob('d')], ['d', 'p', 'c', 'p'])), ['d', 'p', 'c']);
});

test('an unknown id fails the whole wait, naming every unknown id', () => {
  assert.throws(
    () => waitTargets([pendingJob('p')], [], ['p', 'x', 'y']),
    (error: unknown) =>
      error instanceof QueuectlError && error.code === 'ENOTFOUND' && error.message.startsWith('no jobs "x", "y" in the queue, the DLQ or the archive'),
  );
});

test('the exit code is 0 when all completed, 1 when any is dead or canceled, 124 while any is unfinished', () => {
  const exit = (...jobs: Job[]) => waitExitCode(tally(jobs.map((job) => ({ id: job.id, job, gone: false }))));
  assert.equal(exit(completed('a'), completed('b')), WAIT_EXIT.completed);
  assert.equal(exit(completed('a'), deadJob('b')), WAIT_EXIT.failed);
  assert.equal(exit(completed('a'), canceled('b')), WAIT_EXIT.failed);
  assert.equal(exit(deadJob('a'), failed('b')), WAIT_EXIT.timeout, 'a failed job waits for its retry: not finished');
  assert.equal(exit(), WAIT_EXIT.completed, 'nothing to wait for is success');
  assert.deepEqual([WAIT_EXIT.completed, WAIT_EXIT.failed, WAIT_EXIT.timeout], [0, 1, 124]);
});

test('each look follows the jobs; a finished job that left the queue keeps its last state', () => {
  let watched = waitTargets([pendingJob('a'), pendingJob('b')], [], []);
  watched = observe(watched, new Map<string, Job>([['a', completed('a')], ['b', processingJob('b')]]));
  assert.deepEqual(tally(watched), { total: 2, finished: 1, completed: 1, dead: 0, canceled: 0, gone: 0, unfinished: 1 });
  // a leaves the queue by retention; b dies.
  const present = new Map<string, Job>([['b', deadJob('b')]]);
  assert.deepEqual(vanished(watched, present), [], 'a was seen completed: nothing to look up');
  watched = observe(watched, present);
  assert.deepEqual(tally(watched), { total: 2, finished: 2, completed: 1, dead: 1, canceled: 0, gone: 0, unfinished: 0 });
});

test('a job that vanished unfinished is looked up in the archive, else counted as gone', () => {
  const watched = waitTargets([pendingJob('a'), pendingJob('b')], [], []);
  const present = new Map<string, Job>();
  assert.deepEqual(vanished(watched, present), ['a', 'b']);
  const next = observe(watched, present, new Map([['a', completed('a')]]));
  assert.deepEqual(tally(next), { total: 2, finished: 2, completed: 1, dead: 0, canceled: 0, gone: 1, unfinished: 0 });
  assert.equal(waitExitCode(tally(next)), WAIT_EXIT.failed, 'an outcome nobody saw is not a success');
  const again = observe(next, new Map([['b', pendingJob('b')]]));
  assert.equal(again[1]!.gone, true, 'a new job that reuses the id is another job');
});

test('rate and ETA count only the jobs finished during the wait', () => {
  const t = { total: 10, finished: 6, completed: 6, dead: 0, canceled: 0, gone: 0, unfinished: 4 };
  assert.deepEqual(pace(6, t, 5_000), { perSecond: null, etaMs: null }, 'none finished yet while waiting');
  assert.deepEqual(pace(2, t, 2_000), { perSecond: 2, etaMs: 2_000 });
});
