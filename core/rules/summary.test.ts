import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from './job.js';
import { summarizeJobs, summaryAfter, summaryAfterAdding, totalCounts } from './summary.js';
import { claimedJob, completedJob, deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

const sameSummary = (jobs: readonly Job[]) => summarizeJobs(jobs);

test('a summary counts per queue and state, lists the runs going on, and what waits for a dependency', () => {
  const jobs: Job[] = [
    completedJob('done'),
    processingJob('run', { lease: { worker_pid: 7, token: 't', expires_at: '2026-11-23T09:00:30.000Z', host: 'h1' } }),
    claimedJob('held'),
    pendingJob('a', { queue: 'q', after: ['run', 'done'] }),
    pendingJob('b', { after: ['a'] }),
    deadJob('d', { queue: 'q' }),
  ];
  const summary = summarizeJobs(jobs);
  assert.deepEqual(summary.queues, {
    default: { pending: 1, processing: 2, failed: 0, completed: 1, dead: 0, canceled: 0 },
    q: { pending: 1, processing: 0, failed: 0, completed: 0, dead: 1, canceled: 0 },
  });
  assert.deepEqual(summary.running, [{ id: 'run', host: 'h1', worker_pid: 7 }], 'a claim not started is no run');
  assert.deepEqual(summary.waiting, { jobs: 2, after: ['run', 'a'] });
  assert.equal(summary.dependents, 2);
  assert.deepEqual(totalCounts(summary), { pending: 2, processing: 2, failed: 0, completed: 1, dead: 1, canceled: 0 });
  assert.deepEqual(summarizeJobs([]), { queues: {}, running: [], waiting: { jobs: 0, after: [] }, dependents: 0 });
});

test('a summary kept up to date change by change equals the summary of the jobs after them', () => {
  // A queue taken through claims, starts, completions, moves to the DLQ, removals and additions,
  // with and without dependencies: after each change, the kept summary is the one read whole.
  let jobs: Job[] = [pendingJob('a'), pendingJob('b', { queue: 'q' }), pendingJob('c', { after: ['a'] })];
  let kept = summarizeJobs(jobs);
  const change = (next: Job[]) => {
    const before = new Map(jobs.map((job) => [job.id, job]));
    const after = new Map(next.map((job) => [job.id, job]));
    const left = jobs.filter((job) => after.get(job.id) !== job);
    const came = next.filter((job) => before.get(job.id) !== job);
    kept = summaryAfter(kept, left, came, () => next);
    jobs = next;
    assert.deepEqual(kept, sameSummary(jobs), JSON.stringify(jobs.map((job) => `${job.id}:${job.state}`)));
  };
  const replace = (id: string, job: Job) => jobs.map((old) => (old.id === id ? job : old));
  change(replace('a', claimedJob('a')));
  change(replace('a', processingJob('a', { lease: { worker_pid: 9, token: 't', expires_at: '2026-11-23T09:00:30.000Z' } })));
  change(replace('b', processingJob('b', { queue: 'q' })));
  change(replace('a', completedJob('a')));
  change(replace('a', pendingJob('a'))); // restarted: c waits for it again
  assert.deepEqual(kept.waiting, { jobs: 1, after: ['a'] });
  change(replace('a', completedJob('a')));
  change(replace('b', pendingJob('b', { queue: 'q' }))); // a job without dependencies changes: nothing waits anew
  change(replace('b', processingJob('b', { queue: 'q' })));
  change(jobs.filter((job) => job.id !== 'a'));
  change(replace('b', deadJob('b', { queue: 'q' })));
  change(jobs.filter((job) => job.id !== 'b'));
  change([...jobs, pendingJob('d', { queue: 'r' })]);
  change(replace('c', processingJob('c', { after: ['a'] })));
  change(replace('c', completedJob('c', { after: ['a'] })));
  assert.equal(kept.dependents, 1);
  change(jobs.filter((job) => job.id !== 'c'));
  assert.equal(kept.dependents, 0);
  assert.deepEqual(Object.keys(kept.queues), ['r'], 'a queue whose last job left has no entry');
});

test('beside jobs held by a dependency, a change of jobs without any reads no more of the queue than without', () => {
  const jobs = [processingJob('long'), pendingJob('held', { after: ['long'] }), pendingJob('a')];
  const kept = summaryAfter(summarizeJobs(jobs), [jobs[2]!], [claimedJob('a')], () => assert.fail('read the whole queue'));
  assert.deepEqual(kept.waiting, { jobs: 1, after: ['long'] });
});

test('without dependencies, a change never reads the whole queue', () => {
  const jobs = [pendingJob('a'), pendingJob('b')];
  const kept = summaryAfter(summarizeJobs(jobs), [jobs[0]!], [claimedJob('a')], () => assert.fail('read the whole queue'));
  assert.deepEqual(kept.queues.default, { pending: 1, processing: 1, failed: 0, completed: 0, dead: 0, canceled: 0 });
});

test('jobs added count as pending, waiting for what the store says they wait for', () => {
  const before = summarizeJobs([processingJob('x'), pendingJob('y', { after: ['x'] })]);
  const added = [pendingJob('n1'), pendingJob('n2', { after: ['x', 'z'], queue: 'q' }), pendingJob('n3', { after: ['done'] })];
  const kept = summaryAfterAdding(before, added, (job) => (job.id === 'n2' ? ['x', 'z'] : []));
  assert.deepEqual(kept.waiting, { jobs: 2, after: ['x', 'z'] });
  assert.equal(kept.dependents, 3);
  assert.equal(kept.queues.default!.pending, 3);
  assert.equal(kept.queues.q!.pending, 1);
  assert.equal(before.queues.default!.pending, 1, 'the summary before is left as it was');
});
