import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueuectlError } from './errors.js';
import type { DeadJob, Job } from './job.js';
import { DEFAULT_PRUNE_STATES, parsePruneStates, planPrune } from './prune.js';
import { deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

const NOW = new Date('2026-11-30T00:00:00.000Z');
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

function finished(id: string, state: 'completed' | 'canceled', days: number): Job {
  return { ...pendingJob(id), state, attempts: 1, started_at: daysAgo(days), finished_at: daysAgo(days), exit_code: state === 'completed' ? 0 : null, last_error: state === 'canceled' ? 'canceled by user while pending' : null } as Job;
}
const dead = (id: string, days: number): DeadJob => deadJob(id, { finished_at: daysAgo(days) });

const queue: Job[] = [
  pendingJob('p'),
  finished('c-old', 'completed', 10),
  processingJob('r'),
  finished('k-old', 'canceled', 8),
  finished('c-new', 'completed', 1),
  finished('k-new', 'canceled', 0),
];
const dlq = [dead('d-old', 30), dead('d-new', 2)];
const ids = (jobs: readonly Job[]) => jobs.map((job) => job.id);

test('by default completed and canceled jobs of any age go; dead, pending and processing ones stay', () => {
  const plan = planPrune(queue, dlq, { states: DEFAULT_PRUNE_STATES, olderThanMs: null }, NOW);
  assert.deepEqual(ids(plan.removed), ['c-old', 'k-old', 'c-new', 'k-new']);
  assert.deepEqual(ids(plan.queue), ['p', 'r']);
  assert.deepEqual(ids(plan.dlq), ['d-old', 'd-new']);
});

test('--state dead empties the DLQ only', () => {
  const plan = planPrune(queue, dlq, { states: ['dead'], olderThanMs: null }, NOW);
  assert.deepEqual(ids(plan.removed), ['d-old', 'd-new']);
  assert.deepEqual(plan.queue, queue);
  assert.deepEqual(plan.dlq, []);
});

test('--older-than keeps what finished more recently than that', () => {
  const plan = planPrune(queue, dlq, { states: ['completed', 'dead', 'canceled'], olderThanMs: 7 * DAY }, NOW);
  assert.deepEqual(ids(plan.removed), ['c-old', 'k-old', 'd-old']);
  assert.deepEqual(ids(plan.queue), ['p', 'r', 'c-new', 'k-new']);
  assert.deepEqual(ids(plan.dlq), ['d-new']);
  const exactly = planPrune(queue, dlq, { states: ['completed'], olderThanMs: 10 * DAY }, NOW);
  assert.deepEqual(ids(exactly.removed), ['c-old'], 'a job exactly that old goes');
});

test('--state takes finished states, comma-separated; unfinished or unknown ones are input errors', () => {
  assert.deepEqual(parsePruneStates('dead'), ['dead']);
  assert.deepEqual(parsePruneStates('completed,dead, completed'), ['completed', 'dead']);
  const rejects = (text: string, message: RegExp) =>
    assert.throws(() => parsePruneStates(text), (error: unknown) => error instanceof QueuectlError && error.code === 'EINPUT' && message.test(error.message), text);
  rejects('pending', /^--state: "pending" jobs are not finished and are never pruned; prune takes completed, dead, canceled/);
  rejects('failed', /never pruned/);
  rejects('done', /^--state: unknown state "done"/);
  rejects('', /unknown state ""/);
});
