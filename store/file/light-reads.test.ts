/**
 * The reads of a large queue that skip most of it (queue-log.ts readSummary, readLight,
 * readTail) give what a whole read gives, whatever the journal changed since the checkpoint:
 * jobs of before queue.json's tail claimed in place, jobs leaving and coming back at the end,
 * many jobs enqueued in the same millisecond. Small queues here, with a tail of 4 jobs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { JobFilter } from '../../core/rules/list.js';
import { summarizeJobs } from '../../core/rules/summary.js';
import { buildClaimIndex } from '../../core/rules/claim-index.js';
import { FileStore } from './file-store.js';

const T0 = new Date('2026-11-23T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const policy = { everyChangeUpTo: 0, fraction: Infinity, tailJobs: 4 };

function open(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-light-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let tokens = 0;
  const store = new FileStore(dir, policy);
  const cycle = (claim: number, outcomes: { id: string; token: string; code: number }[] = [], now = at(1)) =>
    store.cycle(
      {
        claim,
        renew: [],
        outcomes: outcomes.map(({ id, token, code }) => ({ id, token, workerPid: 7, startedAt: now.toISOString(), endedAt: now.toISOString(), outcome: { kind: 'exited' as const, code } })),
      },
      { now, newToken: () => `token-${++tokens}`, runStarted: () => false },
    );
  /** Every view of a light read against a read of the whole queue by a store that never read it. */
  const check = async (why: string) => {
    const whole = new FileStore(dir);
    const all = await whole.list();
    assert.deepEqual(await store.summary(), summarizeJobs(all), `${why}: summary`);
    const filters: JobFilter[] = [{}, { states: ['pending'] }, { queue: 'q' }, { states: ['processing', 'dead'] }];
    for (const filter of filters) {
      for (let limit = 1; limit <= all.length + 1; limit++) {
        const expected = (await whole.list(filter)).slice(-limit);
        assert.deepEqual((await store.list({ ...filter, limit })).map((job) => job.id), expected.map((job) => job.id), `${why}: ${JSON.stringify({ ...filter, limit })}`);
      }
    }
  };
  return { dir, store, cycle, check };
}

test('list --limit from the tail and the summary from the ends give what the whole queue gives, change after change', async (t) => {
  const { dir, store, cycle, check } = open(t);
  const noteRestarted = () => undefined;
  // Ten jobs enqueued in one millisecond (the tail's bound), one of which dies before the checkpoint.
  await store.enqueue(
    Array.from({ length: 10 }, (_, i) => ({ command: 'true', id: `b${i}`, ...(i % 3 === 0 ? { queue: 'q' } : {}), ...(i === 0 || i === 4 ? { max_retries: 0 } : {}) })),
    { cwd: '/', now: T0 },
  );
  const [b0] = (await cycle(1)).claimed;
  await cycle(0, [{ id: 'b0', token: b0!.lease.token, code: 1 }]);
  await store.files.checkpoint();
  assert.match(readFileSync(join(dir, 'queue.json'), 'utf8').split('\n')[0]!, /"tail":\{"from":\d+,"bound":"2026-11-23T10:00:00.000Z"\}/);
  await check('checkpoint');
  await store.enqueue([{ command: 'true', id: 'n1' }, { command: 'true', id: 'n2', queue: 'q', after: ['b1'] }], { cwd: '/', now: at(2) });
  await check('two enqueued later');
  // Claims take the oldest: jobs of before the tail, changed in place.
  const claimed = (await cycle(3)).claimed;
  assert.deepEqual(claimed.map((job) => job.id), ['b1', 'b2', 'b3']);
  await check('claimed before the tail');
  await cycle(0, [{ id: 'b1', token: claimed[0]!.lease.token, code: 0 }, { id: 'b2', token: claimed[1]!.lease.token, code: 0 }]);
  await check('completed');
  // b0 died before the checkpoint, b4 after it; retried, they come back at the end, enqueued at the bound.
  const [b4] = (await cycle(1)).claimed;
  assert.equal(b4!.id, 'b4');
  await cycle(0, [{ id: 'b4', token: b4!.lease.token, code: 1 }]);
  await check('b4 dead');
  await store.restart({ retry: ['b4'] }, { now: at(3), noteRestarted });
  await check('b4 back from the DLQ');
  await store.restart({ retry: ['b0'] }, { now: at(3), noteRestarted });
  await check('b0 back from the DLQ');
  await store.cancel(['b8'], { now: at(4), hasRun: () => () => false, noteCanceled: () => undefined });
  await check('a job of the tail canceled');
  const b3 = claimed[2]!;
  await cycle(0, [{ id: 'b3', token: b3.lease.token, code: 0 }]);
  await store.restart({ restart: ['b3'] }, { now: at(5), noteRestarted });
  await check('a job of before the tail restarted');
});

test('enqueue on a large queue finds taken ids and dependencies without reading it whole, one by one or a batch at a time', async (t) => {
  const { store, check } = open(t);
  await store.enqueue(Array.from({ length: 10 }, (_, i) => ({ command: 'true', id: `b${i}` })), { cwd: '/', now: T0 });
  await store.files.checkpoint();
  await store.enqueue([{ command: 'true', id: 'late' }], { cwd: '/', now: at(1) });
  for (const id of ['b0', 'b9', 'late']) {
    await assert.rejects(store.enqueue([{ command: 'true', id }], { cwd: '/' }), /already exists/, id);
  }
  // More ids than one search each is worth (queue-lookup.ts): the checkpoint's lines indexed.
  const batch = Array.from({ length: 20 }, () => ({ command: 'true' }));
  await assert.rejects(store.enqueue([...batch, { command: 'true', id: 'b5' }], { cwd: '/' }), /line|job 21|already exists/);
  const added = await store.enqueue([...batch, { command: 'true', id: 'after-late', after: ['late', 'b3'] }], { cwd: '/', now: at(2) });
  assert.equal(new Set(added.map((job) => job.id)).size, 21);
  await assert.rejects(store.enqueue([{ command: 'true', after: ['nope'] }], { cwd: '/' }), /no job "nope"/);
  assert.deepEqual((await store.summary()).waiting, { jobs: 1, after: ['late', 'b3'] });
  await check('enqueued');
});

test("a manager's claim index, kept from cycle to cycle through its own journal lines, is the one built afresh", async (t) => {
  const { store, cycle } = open(t);
  await store.enqueue(Array.from({ length: 12 }, (_, i) => ({ command: 'true', id: `j${i}`, ...(i % 4 === 0 ? { run_at: at(3600).toISOString() } : {}) })), { cwd: '/', now: T0 });
  const same = async (why: string) => {
    const now = at(2);
    const [kept, fresh] = await store.files.transact((tx) => [tx.queueIndex(now), buildClaimIndex(tx.queue(), now)]);
    assert.deepEqual({ ...kept!, soon: [...kept!.soon].sort((a, b) => a - b), horizon: '' }, { ...fresh!, horizon: '' }, why);
  };
  await same('first');
  let claimed = (await cycle(3, [], at(2))).claimed;
  await same('claimed');
  claimed = (await cycle(2, claimed.map((job, i) => ({ id: job.id, token: job.lease.token, code: i === 0 ? 1 : 0 })), at(2))).claimed;
  await same('ended, one to retry, two more claimed');
  await store.enqueue([{ command: 'true', id: 'late' }], { cwd: '/', now: at(2) });
  await cycle(0, claimed.map((job) => ({ id: job.id, token: job.lease.token, code: 0 })), at(2));
  await same('another process enqueued');
});
