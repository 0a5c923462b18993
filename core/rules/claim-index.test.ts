import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildClaimIndex, followClaimIndex, HORIZON_MS, type ClaimIndex } from './claim-index.js';
import { pickJobs } from './claim-order.js';
import type { Job } from './job.js';
import { claimedJob, completedJob, deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const later = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

/** A generator of the same numbers every run. */
function numbers(seed: number) {
  let state = seed;
  return (below: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % below;
  };
}

/** The index kept and the index built afresh with the same horizon hold the same jobs. */
function assertSame(kept: ClaimIndex, jobs: readonly Job[], why: string) {
  const fresh = buildClaimIndex(jobs, new Date(Date.parse(kept.horizon) - HORIZON_MS));
  assert.deepEqual(kept.processing, fresh.processing, `${why}: processing`);
  assert.deepEqual([...kept.soon].sort((a, b) => a - b), fresh.soon, `${why}: soon`);
  assert.deepEqual([kept.finished, kept.dependents], [fresh.finished, fresh.dependents], `${why}: counts`);
  if (fresh.laterAt !== null) assert.ok(kept.laterAt !== null && kept.laterAt <= fresh.laterAt, `${why}: laterAt ${kept.laterAt} after ${fresh.laterAt}`);
}

test('an index kept change by change holds what one built afresh holds, and picks what a pass over every job picks', () => {
  const random = numbers(7);
  let jobs: Job[] = Array.from({ length: 40 }, (_, i) =>
    pendingJob(`j${i}`, { run_at: i % 4 === 0 ? later(365 * 86_400_000) : NOW.toISOString(), priority: i % 3, ...(i % 9 === 0 ? { after: ['j1'] } : {}) }),
  );
  let index = buildClaimIndex(jobs, NOW);
  let next = 40;
  for (let step = 0; step < 400; step++) {
    const now = new Date(NOW.getTime() + step * 1000);
    const before = jobs;
    jobs = [...jobs];
    // A few jobs change as a cycle changes them; now and then jobs come, or leave (everything moves: built again).
    for (let k = random(4); k >= 0; k--) {
      const at = random(jobs.length);
      const job = jobs[at]!;
      const kind = random(6);
      if (kind === 0) jobs[at] = claimedJob(job.id, { priority: job.priority, run_at: job.run_at });
      else if (kind === 1) jobs[at] = processingJob(job.id, { run_at: job.run_at });
      else if (kind === 2) jobs[at] = completedJob(job.id);
      else if (kind === 3) jobs[at] = pendingJob(job.id, { run_at: later(step * 1000 + random(120_000)), after: random(5) === 0 ? ['j3'] : [] });
      else if (kind === 4) jobs[at] = { ...deadJob(job.id), after: ['j2'] };
      else jobs[at] = { ...job, state: 'failed', run_at: later(step * 1000 + random(90_000)) } as Job;
    }
    if (random(10) === 0) jobs.push(pendingJob(`j${next++}`, { run_at: later(step * 1000 + random(200_000)) }));
    if (random(25) === 0) jobs.splice(random(jobs.length), 1);
    index = followClaimIndex(index, before, jobs, now);
    assertSame(index, jobs, `step ${step}`);
    for (const count of [1, 3, 50]) {
      const whole = pickJobs(jobs, now, count);
      const kept = pickJobs(jobs, now, count, undefined, [...index.soon, ...index.processing]);
      assert.deepEqual(kept.picked, whole.picked, `step ${step}: picks of ${count}`);
      const nextReadyAt = kept.nextReadyAt === null ? index.laterAt : index.laterAt === null || kept.nextReadyAt < index.laterAt ? kept.nextReadyAt : index.laterAt;
      if (whole.nextReadyAt !== null) assert.ok(nextReadyAt !== null && nextReadyAt <= whole.nextReadyAt, `step ${step}: wakes by ${whole.nextReadyAt}`);
    }
  }
});

test('an unchanged queue keeps its index; one that passed the horizon, or where a job moved, is built again', () => {
  const jobs = [pendingJob('a'), pendingJob('b', { run_at: later(2 * HORIZON_MS) })];
  const index = buildClaimIndex(jobs, NOW);
  assert.deepEqual([index.soon, index.laterAt], [[0], later(2 * HORIZON_MS)]);
  assert.equal(followClaimIndex(index, jobs, [...jobs], NOW), index, 'nothing changed: no work');
  const passed = followClaimIndex(index, jobs, jobs, new Date(NOW.getTime() + HORIZON_MS));
  assert.notEqual(passed.horizon, index.horizon);
  const moved = [jobs[1]!, jobs[0]!];
  assert.deepEqual(followClaimIndex(index, jobs, moved, NOW).soon, [1]);
});
