import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Found, Store } from '../ports/store.js';
import { QueuectlError } from '../rules/errors.js';
import type { Job } from '../rules/job.js';
import { completedJob, deadJob, pendingJob } from '../../test/sample-jobs.js';
import { waitForJobs } from './wait.js';

/** Spends `ms` of this process's CPU time, however long that takes on a loaded machine. */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

/**
 * A store whose jobs the test sets, which says they changed at every look and reports a change
 * every 10 ms (a queue being drained), and which records the ids each look asked for. `findMs`:
 * how long a look takes: spent waiting, or with `busy`, on the CPU.
 */
function fakeStore(jobs: Map<string, Job>, findMs = 0, { busy = false } = {}) {
  const asked: string[][] = [];
  let version = 0;
  /** While true, the store cannot be reached. */
  const down = { now: false, calls: 0, afterFind: undefined as ((ids: readonly string[]) => void) | undefined };
  const store = {
    version: async () => {
      if (down.now) {
        down.calls++;
        throw new QueuectlError('could not connect to the database', 'EFAIL');
      }
      return String(++version);
    },
    list: async () => [...jobs.values()],
    find: async (ids: readonly string[]) => {
      asked.push([...ids]);
      if (busy) burnCpu(findMs); // a look that costs CPU
      else if (findMs > 0) await new Promise((resolve) => setTimeout(resolve, findMs)); // one that waits (a loaded machine, a slow server)
      const found = new Map<string, Found>();
      for (const id of ids) {
        const job = jobs.get(id);
        if (job) found.set(id, { job, where: 'queue.json' });
      }
      down.afterFind?.(ids);
      return found;
    },
    // Changes come all the time, as while workers drain the queue.
    watch: (onChange: () => void) => {
      const timer = setInterval(onChange, 10);
      return () => clearInterval(timer);
    },
  } as unknown as Store;
  return { store, asked, down };
}

test('wait: a look reads only the jobs not finished yet; the finished ones once more before the wait ends', async () => {
  const jobs = new Map<string, Job>();
  for (let i = 0; i < 100; i++) jobs.set(`done${i}`, completedJob(`done${i}`));
  jobs.set('runs', pendingJob('runs'));
  const { store, asked } = fakeStore(jobs);
  let looks = 0;
  const report = await waitForJobs(store, {
    ids: [...jobs.keys()],
    timeoutMs: 30_000,
    onProgress: () => {
      if (++looks === 3) jobs.set('runs', completedJob('runs'));
    },
  });
  assert.equal(report.tally.completed, 101);
  const [first, ...later] = asked;
  assert.equal(first!.length, 101, 'the first read finds every job');
  assert.deepEqual(later.slice(0, -1), later.slice(0, -1).map(() => ['runs']), 'then the unfinished one alone');
  assert.equal(later.at(-1)!.length, 101, 'and every one before the end');
});

test('wait: a job that finished dead and was revived (dlq retry) while another ran is waited for again', async () => {
  const jobs = new Map<string, Job>([
    ['a', deadJob('a')],
    ['b', pendingJob('b')],
  ]);
  const { store } = fakeStore(jobs);
  let looks = 0;
  const report = await waitForJobs(store, {
    ids: ['a', 'b'],
    timeoutMs: 30_000,
    onProgress: () => {
      looks++;
      if (looks === 2) {
        jobs.set('a', pendingJob('a')); // retried from the DLQ
        jobs.set('b', completedJob('b'));
      }
      if (looks === 4) jobs.set('a', completedJob('a'));
    },
  });
  assert.equal(report.tally.completed, 2, 'both completed: the wait followed a back into the queue');
  assert.ok(looks >= 4);
});

test('wait: a look that costs much CPU is followed by a longer pause, so a wait on many jobs takes a small share of a core', async () => {
  const jobs = new Map<string, Job>([['slow', pendingJob('slow')]]);
  const { store, asked } = fakeStore(jobs, 40, { busy: true });
  const report = await waitForJobs(store, { ids: ['slow'], timeoutMs: 1_500 });
  assert.equal(report.timedOut, true);
  // 40 ms looks, each followed by at least 360 ms without one: the first read, 4 in 1.5 s and
  // one at the deadline (18 with the 50 ms floor alone).
  assert.ok(asked.length <= 6, `${asked.length} looks`);
  assert.ok(asked.length >= 2, `${asked.length} looks`);
});

test('wait: a look that takes long without costing CPU (a loaded machine, a slow server) is not followed by a longer pause', async () => {
  const jobs = new Map<string, Job>([['a', pendingJob('a')]]);
  const { store, asked } = fakeStore(jobs, 60);
  let looks = 0;
  const started = Date.now();
  const report = await waitForJobs(store, {
    ids: ['a'],
    timeoutMs: 30_000,
    onProgress: () => {
      if (++looks === 5) jobs.set('a', completedJob('a'));
    },
  });
  assert.equal(report.tally.completed, 1);
  // 60 ms looks 50 ms apart: about 0.6 s. Spaced by their duration (540 ms after each), 2.5 s.
  assert.ok(Date.now() - started < 1_500, `${Date.now() - started} ms for ${asked.length} looks`);
});

test('wait: with every job finished as far as it saw, a look at the finished ones that fails is tried again at the pace of the polls, not at once', async () => {
  const jobs = new Map<string, Job>([
    ['a', completedJob('a')],
    ['b', pendingJob('b')],
  ]);
  const { store, down } = fakeStore(jobs);
  // The look that sees b completed (it reads b alone) is followed at once by one of both: the store goes away in between.
  down.afterFind = (ids) => {
    if (ids.length === 1) down.now = true;
  };
  const waiting = waitForJobs(store, { ids: ['a', 'b'], timeoutMs: 30_000, onProgress: () => jobs.set('b', completedJob('b')) });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.ok(down.calls >= 1 && down.calls <= 25, `${down.calls} tries in 1 s`);
  down.now = false;
  assert.equal((await waiting).tally.completed, 2);
});
