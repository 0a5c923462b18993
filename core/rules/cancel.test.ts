import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancelLogLine, planCancel } from './cancel.js';
import { QueuectlError } from './errors.js';
import type { Job } from './job.js';
import { recordOutcome } from './transitions.js';
import { claimedJob, deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const POLICY = { backoff_base: 2, max_backoff: 3600 };

function queue(): Job[] {
  return [
    pendingJob('p'),
    processingJob('r'),
    recordOutcome(processingJob('f'), { kind: 'exited', code: 1 }, POLICY, NOW),
    recordOutcome(processingJob('c'), { kind: 'exited', code: 0 }, POLICY, NOW),
  ];
}

test('pending, failed and processing jobs are canceled in place; the others are untouched', () => {
  const jobs = queue();
  const plan = planCancel(jobs, [], ['r', 'p', 'f'], NOW);
  assert.deepEqual(
    plan.canceled.map(({ job, was }) => [job.id, was]),
    [['r', 'processing'], ['p', 'pending'], ['f', 'failed']],
    'in the order given, with the state each was in',
  );
  assert.deepEqual(plan.queue.map((job) => [job.id, job.state]), [
    ['p', 'canceled'],
    ['r', 'canceled'],
    ['f', 'canceled'],
    ['c', 'completed'],
  ]);
  assert.deepEqual(plan.running.map((job) => job.id), ['r'], 'only the processing job needs its processes stopped');
  assert.equal(plan.running[0]!.lease.token, 'token-1', 'with the lease it had');
  assert.equal(jobs[0]!.state, 'pending', 'the input is not mutated');
});

test('an id given twice is canceled once', () => {
  assert.equal(planCancel(queue(), [], ['p', 'p'], NOW).canceled.length, 1);
});

function rejects(ids: string[], code: string, message: RegExp): void {
  assert.throws(
    () => planCancel(queue(), [deadJob('d')], ids, NOW),
    (error: unknown) => error instanceof QueuectlError && error.code === code && message.test(error.message),
    ids.join(' '),
  );
}

test('a finished job cannot be canceled, and then nothing is', () => {
  rejects(['p', 'c'], 'EINPUT', /^job "c" is already completed; only pending, failed or processing jobs can be canceled/);
  rejects(['d'], 'EINPUT', /^job "d" is already dead \(in the DLQ\)/);
  const again = planCancel(queue(), [], ['p'], NOW).queue;
  assert.throws(() => planCancel(again, [], ['p'], NOW), /job "p" is already canceled/);
});

test('an unknown id is not found, and nothing is canceled', () => {
  rejects(['p', 'nope'], 'ENOTFOUND', /^no job "nope" in the queue or the DLQ/);
});

test('the log gets a cancel line for a job that ran, and none for one that never ran', () => {
  const failed = recordOutcome(processingJob('f'), { kind: 'exited', code: 1 }, POLICY, NOW);
  const plan = planCancel(
    [pendingJob('p'), processingJob('r'), failed, claimedJob('c'), claimedJob('retry', { attempts: 1 })],
    [],
    ['p', 'r', 'f', 'c', 'retry'],
    NOW,
  );
  const lines = new Map(plan.canceled.map(({ job }) => [job.id, cancelLogLine(job)]));
  assert.equal(lines.get('p'), null, 'a pending job has no log: show and list say it was canceled');
  assert.equal(lines.get('c'), null, 'a first claim that had not started has no log either');
  assert.equal(lines.get('r'), `--- queuectl: canceled by user while running; run 1 was killed at ${NOW.toISOString()}`);
  assert.match(lines.get('f') ?? '', /^--- queuectl: canceled by user while waiting to retry \(last run: .*\) at 2026-/);
  assert.match(lines.get('retry') ?? '', /^--- queuectl: canceled by user before its run started at /, 'a retry claimed but not started: its earlier run is in the log');
});
