import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import { completedJob, pendingJob } from '../../test/sample-jobs.js';
import { applyChanges, diffAt, diffQueue } from './queue-diff.js';

const ids = (jobs: readonly Job[]) => jobs.map((job) => job.id);

/** Applying the diff of `before` → `after` to `before` gives `after`: the same objects, in the same order. */
function roundTrip(before: Job[], after: Job[]): Job[] {
  const change = diffQueue(before, after);
  const applied = applyChanges(before, [change]);
  assert.equal(applied.length, after.length);
  after.forEach((job, i) => assert.equal(applied[i], job, `position ${i}: ${applied[i]?.id} instead of ${job.id}`));
  return applied;
}

test('a change records only the jobs added or changed, whole, and the ids that left', () => {
  const [a, b, c] = [pendingJob('a'), pendingJob('b'), pendingJob('c')];
  const done = completedJob('b');
  const d = pendingJob('d');
  const change = diffQueue([a, b, c], [a, done, d]);
  assert.deepEqual(ids(change.jobs), ['b', 'd']);
  assert.equal(change.jobs[0], done);
  assert.deepEqual(change.removed, ['c']);
  assert.deepEqual(change.left, [b, c], 'the jobs that changed or left, as they were');
  assert.deepEqual(diffQueue([a, b], [a, b]), { jobs: [], removed: [], left: [] }, 'nothing changed, nothing recorded');
});

test('a change at known positions looks at those alone, and says which did change', () => {
  const [a, b, c] = [pendingJob('a'), pendingJob('b'), pendingJob('c')];
  const done = completedJob('c');
  const change = diffAt([a, b, c], [a, b, done], [2, 0, 2]);
  assert.deepEqual(change, { jobs: [done], removed: [], left: [c], changedAt: [2] });
});

test('applying a change gives the queue it was taken from, order included: removals, moves, additions', () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => pendingJob(id));
  const a2 = completedJob('a');
  roundTrip([a!, b!, c!], [b!, c!]); // removed first
  roundTrip([a!, b!, c!], [a!, c!]); // removed in the middle
  roundTrip([a!, b!, c!], [b!, a2, c!]); // moved and changed
  roundTrip([a!, b!, c!], [c!, b!, a!]); // reversed
  roundTrip([a!, b!], [a!, d!, b!]); // added in the middle
  roundTrip([], [a!, b!]);
  roundTrip([a!, b!], []);
});

test('random changes of a queue, one after another, are each reproduced by their diff', () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let queue: Job[] = Array.from({ length: 30 }, (_, i) => pendingJob(`j${i}`));
  let replayed: Job[] = [...queue];
  const changes = [];
  for (let step = 0, next = 30; step < 200; step++) {
    const after = [...queue];
    for (let edits = random(4); edits >= 0; edits--) {
      const at = random(after.length + 1);
      switch (random(4)) {
        case 0:
          after.push(pendingJob(`j${next++}`));
          break;
        case 1:
          if (at < after.length) after.splice(at, 1);
          break;
        case 2:
          if (at < after.length) after[at] = completedJob(after[at]!.id);
          break;
        default:
          if (at < after.length) after.push(...after.splice(at, 1)); // moved to the end
      }
    }
    const change = diffQueue(queue, after);
    changes.push(change);
    replayed = applyChanges(replayed, [change]);
    assert.deepEqual(ids(replayed), ids(after), `step ${step}`);
    queue = after;
  }
  // The whole journal at once, as a reader that starts from the checkpoint applies it.
  const fromStart = applyChanges(
    Array.from({ length: 30 }, (_, i) => pendingJob(`j${i}`)),
    changes,
  );
  assert.deepEqual(ids(fromStart), ids(queue));
  fromStart.forEach((job, i) => assert.deepEqual(job, queue[i]));
});
