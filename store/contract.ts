/**
 * What every store must do, as tests against the Store port alone: run by each store's own
 * `contract.test.ts` (the file store's in file/). A store passes when a worker manager, the CLI
 * and the operations of core/ get from it what they get from any other. Times are passed in
 * (`now`), so nothing here waits for a clock, and each test starts from an empty store.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { CycleRequest, CycleResult, RunRef, Store, StoreChange } from '../core/ports/store.js';
import { logPartOf } from '../core/rules/copy.js';
import type { QueueCopy, QueueDump } from '../core/ports/queue-copy.js';
import type { ClaimedJob, Job } from '../core/rules/job.js';
import type { JobSpec } from '../core/rules/job-spec.js';
import type { RunOutcome } from '../core/rules/outcome.js';
import { summarizeJobs, totalCounts } from '../core/rules/summary.js';

export interface ContractSubject {
  store: Store;
  /** Another view of the same jobs, as another process opens them (for `watch` and `current`). */
  reopen(): Store;
  /** The same queue as `store copy` reads and writes it. */
  copy(): QueueCopy;
}

/** `open`: a store with no jobs and no settings, removed once the test `t` is done. */
export function storeContract(name: string, open: (t: TestContext) => Promise<ContractSubject>): void {
  const T0 = new Date('2026-11-23T10:00:00.000Z');
  const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
  const ok: RunOutcome = { kind: 'exited', code: 0 };
  const failed: RunOutcome = { kind: 'exited', code: 3 };

  let tokens = 0;
  const cycle = (store: Store, request: Partial<CycleRequest>, now = T0, runStarted = false): Promise<CycleResult> =>
    store.cycle(
      { outcomes: [], renew: [], claim: 0, ...request },
      { now, newToken: () => `token-${++tokens}`, runStarted: () => runStarted },
    );
  const enqueue = (store: Store, specs: JobSpec[], now = T0) => store.enqueue(specs, { cwd: '/', now });
  const ended = (job: ClaimedJob, outcome: RunOutcome, seconds = 1) => ({
    id: job.id,
    token: job.lease.token,
    workerPid: 7,
    startedAt: T0.toISOString(),
    endedAt: at(seconds).toISOString(),
    outcome,
  });
  const ref = (job: ClaimedJob): RunRef => ({ id: job.id, token: job.lease.token });
  const stateOf = async (store: Store, id: string) => (await store.find([id])).get(id)?.job.state;
  const ids = (jobs: readonly { id: string }[]) => jobs.map((job) => job.id);

  const it = (title: string, body: (subject: ContractSubject, t: TestContext) => Promise<void>) =>
    test(`${name} store: ${title}`, async (t) => body(await open(t), t));

  it('enqueued jobs are pending, listed oldest first, found by id', async ({ store }) => {
    const added = await enqueue(store, [{ command: 'echo a', id: 'a' }, { command: 'echo b' }]);
    assert.deepEqual(added.map((job) => job.state), ['pending', 'pending']);
    assert.match(added[1]!.id, /^[0-9a-f]{8}$/, 'an id of its own when none is given');
    assert.deepEqual(ids(await store.list()), ['a', added[1]!.id]);
    const found = (await store.find(['a', 'nope'])).get('a');
    assert.equal(found?.job.command, 'echo a');
    assert.equal((await store.find(['nope'])).size, 0, 'an unknown id is left out');
  });

  it("the environment an enqueue captured is the one its jobs' env_id names; an unknown id rejects with one line", async ({ store }) => {
    const [job] = await store.enqueue([{ command: 'true' }], { cwd: '/', now: T0, env: { GREETING: 'hi', PATH: '/bin' } });
    assert.ok(job!.env_id, 'captured (capture_env is on by default)');
    assert.deepEqual(await store.env(job!.env_id), { GREETING: 'hi', PATH: '/bin' });
    await assert.rejects(store.env('0'.repeat(32)), (error: Error) => /missing/.test(error.message) && !error.message.includes('\n'));
  });

  it('a batch is all or nothing: a taken id rejects it whole', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'a' }]);
    await assert.rejects(enqueue(store, [{ command: 'true', id: 'b' }, { command: 'true', id: 'a' }]), /already exists/);
    assert.deepEqual(ids(await store.list()), ['a']);
  });

  it('a dependency must exist, come earlier in the batch, and be able to complete', async ({ store }) => {
    await assert.rejects(enqueue(store, [{ command: 'true', id: 'x', after: ['ghost'] }]), /no job "ghost"/);
    await assert.rejects(enqueue(store, [{ command: 'true', id: 'x', after: ['y'] }, { command: 'true', id: 'y' }]), /later in the batch/);
    await enqueue(store, [{ command: 'true', id: 'y' }, { command: 'true', id: 'x', after: ['y'] }]);
    assert.deepEqual(ids(await store.list()), ['y', 'x']);
  });

  it('a cycle claims ready jobs by priority, then in enqueue order, as many as asked', async ({ store }) => {
    await store.setConfig('lease', 3600); // the claims below last past the 61 s this test looks ahead
    await enqueue(store, [
      { command: 'true', id: 'low' },
      { command: 'true', id: 'high', priority: 5 },
      { command: 'true', id: 'later', run_at: at(60).toISOString() },
      { command: 'true', id: 'next' },
    ]);
    const result = await cycle(store, { claim: 2 });
    assert.deepEqual(ids(result.claimed), ['high', 'low']);
    for (const job of result.claimed) {
      assert.equal(job.state, 'processing');
      assert.equal(job.lease.worker_pid, null, 'claimed for the next free worker, not started');
    }
    const rest = await cycle(store, { claim: 5 });
    assert.deepEqual(ids(rest.claimed), ['next'], 'a job due later is not claimed');
    assert.equal(rest.nextReadyAt, at(60).toISOString(), 'when the next one is due');
    assert.deepEqual(ids((await cycle(store, { claim: 1 }, at(61))).claimed), ['later']);
  });

  it('starts and outcomes are recorded against the lease: completed, failed with a backoff, then dead', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'good' }, { command: 'false', id: 'bad', max_retries: 1 }]);
    const [good, bad] = (await cycle(store, { claim: 2 })).claimed;
    const started = await cycle(store, { starts: [{ ...ref(good!), workerPid: 7, startedAt: T0.toISOString() }] });
    assert.deepEqual(started.lost, []);
    const running = (await store.current(['good']))?.get('good');
    assert.equal(running?.state === 'processing' && running.lease.worker_pid, 7);

    const result = await cycle(store, { outcomes: [ended(good!, ok), ended(bad!, failed)] });
    assert.deepEqual(result.recorded.map((job) => job?.state), ['completed', 'failed']);
    assert.deepEqual(result.lostClaims, [null, null]);
    const retry = result.recorded[1]!;
    assert.equal(retry.state === 'failed' && retry.run_at, at(1 + 2).toISOString(), 'backoff_base ^ 1 seconds after the run ended');

    const again = (await cycle(store, { claim: 1 }, at(3))).claimed[0]!;
    const last = await cycle(store, { outcomes: [ended(again, failed, 4)] }, at(4));
    assert.equal(last.recorded[0]?.state, 'dead');
    assert.equal(await stateOf(store, 'bad'), 'dead');
    assert.deepEqual(ids(await store.list({ states: ['dead'] })), ['bad']);
    assert.equal((await store.find(['bad'])).get('bad')?.job.attempts, 2);
  });

  it('an outcome or renewal under a lease no longer current changes nothing and says why', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'a' }]);
    const [job] = (await cycle(store, { claim: 1 })).claimed;
    const stale = { ...job!, lease: { ...job!.lease, token: 'someone-else' } };
    const result = await cycle(store, { outcomes: [ended(stale, ok)], renew: [ref(stale)] });
    assert.deepEqual(result.recorded, [null]);
    assert.deepEqual(result.lostClaims, ['taken back']);
    assert.deepEqual(result.lost.map((run) => run.because), ['taken back']);
    assert.equal(await stateOf(store, 'a'), 'processing');
  });

  it('an outcome sent again (its cycle committed, but the answer never came) is the job as recorded, not a lost claim; another run of the job is not taken for it', async ({ store }) => {
    await enqueue(store, [{ command: 'false', id: 'a' }]);
    const [job] = (await cycle(store, { claim: 1 })).claimed;
    const failed = { kind: 'exited', code: 1 } as const;
    const first = await cycle(store, { outcomes: [ended(job!, failed)] });
    const again = await cycle(store, { outcomes: [ended(job!, failed)] });
    assert.deepEqual(again.recorded, first.recorded);
    assert.deepEqual(again.lostClaims, [null]);
    assert.equal((await store.find(['a'])).get('a')?.job.attempts, 1, 'recorded once');
    const other = await cycle(store, { outcomes: [ended(job!, failed, 2)] });
    assert.deepEqual(other.recorded, [null], 'a run that ended at another time is not this one');
    assert.deepEqual(other.lostClaims, ['taken back']);
  });

  it('a lease renewed lasts; one run out is taken back: a run that started counts, a claim that did not is given back', async ({ store }) => {
    await store.setConfig('lease', 30);
    await enqueue(store, [{ command: 'true', id: 'started' }, { command: 'true', id: 'idle' }, { command: 'true', id: 'kept' }]);
    const claimed = (await cycle(store, { claim: 3 })).claimed;
    const [started, idle, kept] = claimed;
    await cycle(store, { starts: [{ ...ref(started!), workerPid: 9, startedAt: T0.toISOString() }] });
    const renewed = await cycle(store, { renew: [ref(kept!)] }, at(20));
    assert.deepEqual(renewed.lost, []);
    const expired = await cycle(store, {}, at(31));
    const back = new Map(expired.recovered.map(({ job }) => [job.id, job]));
    assert.deepEqual([...back.keys()].sort(), ['idle', 'started']);
    assert.equal(back.get('started')?.state, 'failed', 'the run that started is an attempt');
    assert.equal(back.get('started')?.attempts, 1);
    assert.equal(back.get('idle')?.state, 'pending', 'a claim that never started costs nothing');
    assert.equal(back.get('idle')?.attempts, 0);
    assert.equal(await stateOf(store, 'kept'), 'processing', 'renewed at 20 s: good until 50 s');
    assert.equal(idle?.id, 'idle');
  });

  it('a cycle asked to leave the leases that ran out (a manager just back from an outage) leaves them; the next takes them back', async ({ store }) => {
    await store.setConfig('lease', 30);
    await enqueue(store, [{ command: 'true', id: 'late' }]);
    const [late] = (await cycle(store, { claim: 1 })).claimed;
    await cycle(store, { starts: [{ ...ref(late!), workerPid: 9, startedAt: T0.toISOString() }] });
    const left = await cycle(store, { recoverExpired: false }, at(31));
    assert.deepEqual(left.recovered, []);
    assert.equal(await stateOf(store, 'late'), 'processing');
    const renewed = await cycle(store, { renew: [ref(late!)], recoverExpired: false }, at(32));
    assert.deepEqual(renewed.lost, [], 'its manager, back too, renews it');
    assert.deepEqual((await cycle(store, {}, at(33))).recovered, [], 'renewed at 32 s: good until 62 s');
    assert.deepEqual((await cycle(store, {}, at(63))).recovered.map(({ job }) => job.id), ['late']);
  });

  it('a claim released goes back to pending without an attempt', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'a' }]);
    const [job] = (await cycle(store, { claim: 1 })).claimed;
    await cycle(store, { release: [ref(job!)] });
    const found = (await store.find(['a'])).get('a')?.job;
    assert.equal(found?.state, 'pending');
    assert.equal(found?.attempts, 0);
  });

  it('a job given back in a cycle is claimed in that same cycle when it comes first', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'urgent', priority: 5 }, { command: 'true', id: 'later' }]);
    const [job] = (await cycle(store, { claim: 1 })).claimed;
    assert.equal(job?.id, 'urgent');
    const again = await cycle(store, { release: [ref(job!)], claim: 1 });
    assert.deepEqual(ids(again.claimed), ['urgent'], 'claimed after the release is written, by priority');
  });

  it('a cycle claims by the settings as they are now, though another view changed them since its last cycle', async ({ store, reopen }) => {
    await enqueue(store, [{ command: 'true', id: 'a' }, { command: 'true', id: 'g1', queue: 'gpu' }, { command: 'true', id: 'g2', queue: 'gpu' }]);
    await cycle(store, { claim: 0 });
    const other = reopen();
    await other.setConfig('paused', true);
    assert.deepEqual(ids((await cycle(store, { claim: 3 })).claimed), [], 'paused by the other view');
    await other.setConfig('paused', false);
    await other.updateConfig('queues', (queues) => ({ ...queues, gpu: { parallel: 1 } }));
    assert.deepEqual(ids((await cycle(store, { claim: 3 })).claimed), ['a', 'g1'], 'one gpu job at a time, as the other view set');
  });

  it('claims keep to the queues asked for, their parallel limits, and a pause', async ({ store }) => {
    await enqueue(store, [
      { command: 'true', id: 'd1' },
      { command: 'true', id: 'g1', queue: 'gpu' },
      { command: 'true', id: 'g2', queue: 'gpu' },
    ]);
    await store.updateConfig('queues', (queues) => ({ ...queues, gpu: { parallel: 1 } }));
    assert.deepEqual(ids((await cycle(store, { claim: 5, queues: ['gpu'] })).claimed), ['g1'], 'one gpu job at a time');
    await store.setConfig('paused', true);
    assert.deepEqual(ids((await cycle(store, { claim: 5 })).claimed), [], 'paused: nothing starts');
    const config = await store.setConfig('paused', false);
    assert.equal(config.paused, false);
    assert.deepEqual(ids((await cycle(store, { claim: 5 })).claimed), ['d1']);
  });

  it('a job waits for its dependency, runs once it completed, and is canceled when it dies', async ({ store }) => {
    await enqueue(store, [
      { command: 'true', id: 'a' },
      { command: 'true', id: 'b', after: ['a'] },
      { command: 'false', id: 'c', max_retries: 0 },
      { command: 'true', id: 'd', after: ['c'] },
    ]);
    const first = await cycle(store, { claim: 4 });
    assert.deepEqual(ids(first.claimed), ['a', 'c'], 'b and d wait');
    const [a, c] = first.claimed;
    const result = await cycle(store, { outcomes: [ended(a!, ok), ended(c!, failed)], claim: 4 });
    assert.deepEqual(ids(result.claimed), ['b']);
    assert.deepEqual(ids(result.canceled), ['d']);
    assert.match(result.canceled[0]!.last_error, /"c" is dead/);
  });

  it('cancel: all or nothing, asks which runs go on, notes each job, and takes the dependents along', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'p' }, { command: 'true', id: 'r' }, { command: 'true', id: 'w', after: ['p'] }]);
    await cycle(store, { claim: 1 }); // p
    const noted: string[] = [];
    const asked: string[][] = [];
    const request = {
      now: at(1),
      hasRun: (processing: readonly Job[]) => {
        asked.push(ids(processing));
        return () => false;
      },
      noteCanceled: (job: Job) => noted.push(job.id),
    };
    await assert.rejects(store.cancel(['p', 'ghost'], request), /no job "ghost"/);
    assert.equal(await stateOf(store, 'p'), 'processing', 'nothing was canceled');
    const result = await store.cancel(['p', 'r'], request);
    assert.deepEqual(result.canceled.map(({ job, was }) => [job.id, was, job.state]), [['p', 'processing', 'canceled'], ['r', 'pending', 'canceled']]);
    assert.deepEqual(ids(result.running), ['p']);
    assert.deepEqual(ids(result.dependents), ['w']);
    assert.deepEqual(noted, ['p', 'r']);
    assert.deepEqual(asked.at(-1), ['p'], 'asked about the processing job only');
    assert.deepEqual((await store.cancel({ states: ['pending'] }, request)).canceled, [], 'nothing pending is left');
  });

  it('cancel of many jobs at once takes the jobs waiting on them along, down the chain', async ({ store }) => {
    const many = Array.from({ length: 1_500 }, (_, i) => ({ command: 'true', id: `j${i}` }));
    await enqueue(store, [...many, { command: 'true', id: 'w', after: ['j1400'] }]);
    await enqueue(store, [{ command: 'true', id: 'w2', after: ['w'] }]);
    const request = { now: at(1), hasRun: () => () => false, noteCanceled: () => undefined };
    const result = await store.cancel(ids(many), request);
    assert.equal(result.canceled.length, 1_500);
    assert.deepEqual(ids(result.dependents).sort(), ['w', 'w2']);
    assert.match(result.dependents.find((job) => job.id === 'w')!.last_error, /"j1400" was canceled/);
  });

  it('cancel of jobs and of jobs that wait on them, in one selection: each is canceled once, as selected, not again as a dependent', async ({ store }) => {
    await enqueue(store, [
      { command: 'true', id: 'root' },
      { command: 'true', id: 'dep1', after: ['root'] },
      { command: 'true', id: 'dep2', after: ['dep1'] },
      { command: 'true', id: 'solo' },
    ]);
    await cycle(store, { claim: 2 }); // root and solo
    const request = { now: at(1), hasRun: () => () => false, noteCanceled: () => undefined };
    const result = await store.cancel({ states: ['pending', 'processing'] }, request);
    assert.deepEqual(result.canceled.map(({ job, was }) => [job.id, was]), [['root', 'processing'], ['dep1', 'pending'], ['dep2', 'pending'], ['solo', 'processing']]);
    assert.deepEqual(result.dependents, []);
    const listed = new Map((await store.list()).map((job) => [job.id, job]));
    assert.equal(listed.get('dep1')!.last_error, result.canceled[1]!.job.last_error, 'as the cancel said');
    assert.doesNotMatch(listed.get('dep1')!.last_error ?? '', /dependency/);
  });

  it('cancel interrupted before it is written cancels nothing and rejects with the interrupt', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'r' }, { command: 'true', id: 'p' }, { command: 'true', id: 'w', after: ['p'] }]);
    await cycle(store, { claim: 1 }); // r
    const interrupt = new AbortController();
    const reason = new Error('interrupted');
    const noted: string[] = [];
    const request = {
      now: at(1),
      signal: interrupt.signal,
      // Ctrl-C while the store works: under its lock, in its transaction.
      hasRun: () => {
        interrupt.abort(reason);
        return () => false;
      },
      noteCanceled: (job: Job) => void noted.push(job.id),
    };
    await assert.rejects(store.cancel({ states: ['pending', 'processing'] }, request), (error) => error === reason);
    assert.deepEqual(
      (await store.list()).map((job) => [job.id, job.state]),
      [['r', 'processing'], ['p', 'pending'], ['w', 'pending']],
      'nothing was canceled, not even the dependent',
    );
    assert.deepEqual(noted, []);
  });

  it('cancel notes a job only once the cancel is written, as another process sees it', async ({ store, reopen }) => {
    await enqueue(store, [{ command: 'true', id: 'r' }, { command: 'true', id: 'p' }]);
    await cycle(store, { claim: 1 }); // r
    const other = reopen();
    const seen: Promise<string | undefined>[] = [];
    await store.cancel(['r', 'p'], {
      now: at(1),
      hasRun: () => () => false,
      // Asked at once: what another process reads at the instant of the note.
      noteCanceled: (job: Job) => void seen.push(stateOf(other, job.id)),
    });
    assert.deepEqual(await Promise.all(seen), ['canceled', 'canceled'], 'a cancel killed before it lands leaves no line saying it happened');
  });

  it('restart and dlq retry put finished jobs back to pending, attempts reset', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'done' }, { command: 'false', id: 'dead', max_retries: 0 }]);
    const [done, dead] = (await cycle(store, { claim: 2 })).claimed;
    await cycle(store, { outcomes: [ended(done!, ok), ended(dead!, failed)] });
    const noted: [string, boolean][] = [];
    const noteRestarted = (job: Job, fromArchive: boolean) => void noted.push([job.id, fromArchive]);
    await assert.rejects(store.restart({ retry: ['done'] }, { now: at(5), noteRestarted }), /is not in the DLQ \(it is completed\)/);
    const retried = await store.restart({ retry: 'all' }, { now: at(5), noteRestarted });
    assert.deepEqual(ids(retried.restarted), ['dead']);
    const restarted = await store.restart({ restart: ['done'] }, { now: at(6), noteRestarted });
    assert.deepEqual(restarted.restarted.map((job) => [job.id, job.state, job.attempts]), [['done', 'pending', 0]]);
    assert.deepEqual(noted, [['dead', false], ['done', false]]);
    assert.deepEqual(ids(await store.list({ states: ['pending'] })), ['done', 'dead']);
    await assert.rejects(store.restart({ restart: ['done'] }, { now: at(7), noteRestarted }), /only completed, dead or canceled/);
  });

  it('prune deletes the finished jobs its rule picks; a dry run only says which', async ({ store }) => {
    await enqueue(store, [{ command: 'true', id: 'old' }, { command: 'true', id: 'waiting' }]);
    const [old] = (await cycle(store, { claim: 1 })).claimed;
    await cycle(store, { outcomes: [ended(old!, ok)] });
    const rule = { states: ['completed', 'canceled'] as const, olderThanMs: null };
    assert.deepEqual(ids(await store.prune(rule, { dryRun: true })), ['old']);
    assert.equal(await stateOf(store, 'old'), 'completed', 'a dry run deletes nothing');
    assert.deepEqual(ids(await store.prune(rule)), ['old']);
    assert.deepEqual(ids(await store.list()), ['waiting']);
  });

  it('retention: past the limit the oldest finished jobs leave the list for the archive, where find, restart and --after still reach them', async ({ store }) => {
    await store.setConfig('retention', 2);
    const specs = Array.from({ length: 110 }, (_, i) => ({ command: 'true', id: `j${String(i).padStart(3, '0')}` }));
    await enqueue(store, specs);
    const claimed = (await cycle(store, { claim: 110 })).claimed;
    await cycle(store, { outcomes: claimed.map((job, i) => ended(job, ok, 1 + i / 1000)) }, at(5));
    assert.deepEqual(ids(await store.list()), ['j108', 'j109'], 'the newest `retention` stay');
    const completions = await store.archivedCompletions(at(0));
    assert.equal(completions.length, 108, 'for stats: the completed jobs retention archived');
    assert.deepEqual(completions.find((job) => job.id === 'j007'), { id: 'j007', queue: 'default', finished_at: at(1.007).toISOString() });
    assert.equal((await store.archivedCompletions(at(1.05))).length, 58, 'those that finished since');
    assert.deepEqual(await store.archivedCompletions(at(6)), [], 'none finished after they were archived');
    const found = (await store.find(['j000'])).get('j000');
    assert.equal(found?.job.state, 'completed');
    assert.ok(found?.archive, `found in the archive: ${found?.where}`);
    assert.equal((await store.find(['j000'], { archive: false })).size, 0, 'not searched for with archive: false');

    const noted: [string, boolean][] = [];
    const back = await store.restart({ restart: ['j000'] }, { now: at(6), noteRestarted: (job, fromArchive) => noted.push([job.id, fromArchive]) });
    assert.deepEqual(ids(back.restarted), ['j000']);
    assert.deepEqual(noted, [['j000', true]]);
    assert.equal(await stateOf(store, 'j000'), 'pending');
    assert.deepEqual(ids(await store.list()), ['j108', 'j109', 'j000'], 'back in the queue, after the jobs that stayed');
    assert.equal((await store.find(['j000'])).get('j000')?.archive, undefined, 'found in the queue');
    const stillArchived = ids(await store.archivedCompletions(at(0)));
    assert.ok(!stillArchived.includes('j000') && stillArchived.length === 107, 'its archived copy is gone: the archive holds finished jobs');

    await enqueue(store, [{ command: 'true', id: 'next', after: ['j001'] }]);
    const tomorrow = new Date(Date.now() + 86_400_000); // a store may date its archive by the clock
    const parts = await store.pruneArchive(0, true, tomorrow);
    assert.ok(parts.reduce((sum, part) => sum + part.jobs, 0) >= 107, JSON.stringify(parts));
    assert.equal((await store.find(['j001'])).get('j001')?.job.state, 'completed', 'a dry run deletes nothing');
    await store.pruneArchive(0, false, tomorrow);
    assert.equal((await store.find(['j001'])).size, 0, 'the archive is gone');
    await enqueue(store, [{ command: 'true', id: 'after-pruned', after: ['j001'] }]);
    assert.equal(await stateOf(store, 'after-pruned'), 'pending', 'a completed job stays known as completed, for --after');
  });

  it('a captured environment stays while a job in the queue or the archive refers to it, and is deleted once none does', async ({ store, reopen }) => {
    // What the enqueuing shell held (secrets, often): kept no longer than a job may run in it.
    const envOf = async (id: string) => reopen().env(id).then(
      (env) => env.SECRET,
      (error: Error) => (/missing/.test(error.message) ? 'deleted' : error.message),
    );
    await store.setConfig('retention', 0);
    const archivedJobs = Array.from({ length: 101 }, (_, i) => ({ command: 'true', id: `a${String(i).padStart(3, '0')}` }));
    const added = await store.enqueue(archivedJobs, { cwd: '/', now: T0, env: { SECRET: 'a' } });
    const a = added[0]!.env_id!;
    const claimed = (await cycle(store, { claim: 101 })).claimed;
    await cycle(store, { outcomes: claimed.map((job) => ended(job, ok)) }, at(5));
    assert.deepEqual(ids(await store.list()), [], 'all of them left for the archive');

    const noteRestarted = () => undefined;
    await store.restart({ restart: ['a000'] }, { now: at(6), noteRestarted });
    assert.equal(await envOf(a), 'a', 'a job restarted from the archive runs in the environment it was enqueued in');
    await store.pruneArchive(0, false, new Date(Date.now() + 86_400_000));
    assert.equal(await envOf(a), 'a', 'the restarted job still refers to it');

    const [other] = await store.enqueue([{ command: 'true', id: 'same-shell' }], { cwd: '/', now: at(7), env: { SECRET: 'a' } });
    assert.equal(other!.env_id, a, 'one environment, stored once');
    const [first] = (await cycle(store, { claim: 1 }, at(8))).claimed;
    assert.equal(first?.id, 'a000');
    await cycle(store, { outcomes: [ended(first!, ok, 8)] }, at(9));
    await store.prune({ states: ['completed'], olderThanMs: null }, { now: at(10) });
    assert.equal(await envOf(a), 'a', 'pending, same-shell still refers to it');
    await store.cancel(['same-shell'], { now: at(11), hasRun: () => () => false, noteCanceled: () => undefined });
    await store.prune({ states: ['canceled'], olderThanMs: null }, { now: at(12) });
    assert.equal(await envOf(a), 'deleted', 'no job refers to it any more');

    // Retention without the archive deletes them too, once their jobs are gone.
    await store.setConfig('archive', false);
    const deleted = await store.enqueue(archivedJobs.map((spec) => ({ ...spec, id: `d${spec.id}` })), { cwd: '/', now: at(100), env: { SECRET: 'd' } });
    const d = deleted[0]!.env_id!;
    const running = (await cycle(store, { claim: 101 }, at(100))).claimed;
    await cycle(store, { outcomes: running.map((job) => ended(job, ok, 101)) }, at(200));
    assert.deepEqual(ids(await store.list()), [], 'deleted by retention');
    assert.equal(await envOf(d), 'deleted');
  });

  it('settings: defaults, one set at a time, one changed from its current value', async ({ store }) => {
    const defaults = await store.config();
    assert.equal(defaults.max_retries, 3);
    assert.equal((await store.setConfig('max_retries', 5)).max_retries, 5);
    await store.updateConfig('queues', (queues) => ({ ...queues, a: { parallel: 2 } }));
    await store.updateConfig('queues', (queues) => ({ ...queues, b: { paused: true } }));
    const config = await store.config();
    assert.deepEqual(config.queues, { a: { parallel: 2 }, b: { paused: true } });
    assert.equal(config.max_retries, 5);
    const [job] = await enqueue(store, [{ command: 'true' }]);
    assert.equal(job?.max_retries, 5, 'a new job takes the setting');
  });

  it('filters: by state, by queue, the most recent N', async ({ store }) => {
    await enqueue(store, [
      { command: 'true', id: 'a' },
      { command: 'true', id: 'b', queue: 'q' },
      { command: 'true', id: 'c', queue: 'q' },
    ]);
    await cycle(store, { claim: 1 });
    assert.deepEqual(ids(await store.list({ states: ['processing'] })), ['a']);
    assert.deepEqual(ids(await store.list({ queue: 'q' })), ['b', 'c']);
    assert.deepEqual(ids(await store.list({ limit: 2 })), ['b', 'c'], 'the most recent, oldest first');
    assert.deepEqual(ids(await store.list({ queue: 'q', limit: 1 })), ['c'], 'filters and limit together');
    assert.deepEqual(ids(await store.list({ states: ['pending'], limit: 5 })), ['b', 'c']);
  });

  it('the summary (for status) is the summary of every job list() gives, as each change leaves it', async ({ store }) => {
    const same = async (why: string) => assert.deepEqual(await store.summary(), summarizeJobs(await store.list()), why);
    await same('no job');
    await enqueue(store, [
      { command: 'true', id: 'a' },
      { command: 'true', id: 'b', queue: 'q', after: ['a'] },
      { command: 'true', id: 'c' },
      { command: 'false', id: 'd', queue: 'q', max_retries: 0 },
    ]);
    await same('enqueued, b waiting for a');
    const [a] = (await cycle(store, { claim: 1 })).claimed;
    await same('a claimed, not started');
    await cycle(store, { starts: [{ ...ref(a!), workerPid: 4242, host: 'h1', startedAt: T0.toISOString() }] });
    const running = await store.summary();
    assert.deepEqual(running.running, [{ id: 'a', host: 'h1', worker_pid: 4242 }]);
    await same('a running');
    await cycle(store, { outcomes: [{ ...ended(a!, ok), workerPid: 4242, host: 'h1' }] });
    await same('a completed, b no longer waits');
    const claimed = (await cycle(store, { claim: 3 })).claimed;
    for (const job of claimed) {
      await cycle(store, { outcomes: [ended(job, job.id === 'd' ? failed : ok)] });
      await same(`${job.id} ended`);
    }
    assert.equal(totalCounts(await store.summary()).dead, 1, 'd in the DLQ');
  });

  it('another view sees every change: current jobs, a new version, and a change event', async ({ store, reopen }) => {
    const other = reopen();
    await enqueue(store, [{ command: 'true', id: 'a' }]);
    const [claimed] = (await cycle(store, { claim: 1 })).claimed;
    assert.equal((await other.current(['a']))?.get('a')?.state, 'processing');
    const before = await other.version();
    const changes: StoreChange[] = [];
    let seen: () => void = () => undefined;
    const changed = new Promise<void>((resolve) => (seen = resolve));
    const stop = other.watch((change) => {
      changes.push(change);
      seen();
    });
    try {
      await cycle(store, { outcomes: [ended(claimed!, ok)] });
      assert.notEqual(await other.version(), before);
      // Watching may take a moment to begin (a database connection), and events may be late:
      // another change every 200 ms until one is reported, within a deadline, not a fixed sleep.
      const deadline = Date.now() + 5_000;
      for (let n = 0; changes.length === 0; n++) {
        assert.ok(Date.now() < deadline, 'no change event within 5 s');
        await Promise.race([changed, new Promise((resolve) => setTimeout(resolve, 200))]);
        if (changes.length === 0) await enqueue(store, [{ command: 'true', id: `poke-${n}` }]);
      }
    } finally {
      stop();
    }
    // A cycle that takes nothing from anyone may say so (`claims`); a store that cannot tell says `jobs`.
    assert.ok(changes.every((change) => change === 'jobs' || change === 'claims'), changes.join(' '));
  });
  // store copy (core/ports/queue-copy.ts): each test copies between two empty stores of this kind.
  const copyTest = (title: string, body: (source: ContractSubject, target: ContractSubject) => Promise<void>) =>
    test(`${name} store: copy: ${title}`, async (t) => body(await open(t), await open(t)));
  /** Each job's log as one text, whatever parts (hosts) the store keeps it in. */
  const logTexts = (dump: QueueDump) => {
    const texts = new Map<string, string>();
    for (const part of dump.logs) texts.set(part.id, (texts.get(part.id) ?? '') + part.read(0, part.size).toString());
    return Object.fromEntries([...texts].sort(([a], [b]) => (a < b ? -1 : 1)));
  };
  /** A source holding a job in every state but processing, settings set, an environment and a pruned completed job. */
  const fillSource = async (store: Store) => {
    await store.setConfig('max_retries', 0);
    await store.setConfig('backoff_base', 1);
    await store.updateConfig('queues', (queues) => ({ ...queues, gpu: { parallel: 1 } }));
    await store.enqueue(
      [
        { command: 'true', id: 'gone' },
        { command: 'true', id: 'done' },
        { command: 'false', id: 'retried', max_retries: 1 },
        { command: 'false', id: 'dead' },
        { command: 'true', id: 'stopped' },
        { command: 'true', id: 'waiting', after: ['gone'], queue: 'gpu' },
      ],
      { cwd: '/', now: T0, env: { GREETING: 'hi' } },
    );
    const claimed = (await cycle(store, { claim: 4 })).claimed;
    assert.deepEqual(ids(claimed), ['gone', 'done', 'retried', 'dead']);
    await cycle(store, { outcomes: [ended(claimed[0]!, ok), ended(claimed[1]!, ok), ended(claimed[2]!, failed), ended(claimed[3]!, failed)] });
    await store.cancel(['stopped'], { now: at(2), hasRun: () => () => false, noteCanceled: () => undefined });
    await store.prune({ states: ['completed'], olderThanMs: null }, { now: at(3) });
  };

  copyTest('a dump holds every job, the settings set, the environments and the pruned completed ids; loaded, it is the same queue', async (source, target) => {
    await fillSource(source.store);
    const before = await source.store.version();
    const dump = await source.copy().dump();
    assert.equal(await source.store.version(), before, 'dumping changes nothing');
    assert.deepEqual(dump.jobs.map((job) => [job.id, job.state]).sort(), [['dead', 'dead'], ['retried', 'failed'], ['stopped', 'canceled'], ['waiting', 'pending']]);
    assert.deepEqual(ids(dump.jobs), ids(await source.store.list()), "in the store's enqueue order, as list shows it");
    assert.deepEqual(dump.settings, { max_retries: 0, backoff_base: 1, queues: { gpu: { parallel: 1 } } }, 'only what was set');
    const envId = dump.jobs[0]!.env_id!;
    assert.ok(envId, 'the jobs refer to their environment');
    assert.deepEqual(dump.envs.map((env) => [env.id, env.env.GREETING]), [[envId, 'hi']]);
    assert.deepEqual(dump.completedIds.sort(), ['done', 'gone']);

    const withLogs: QueueDump = {
      ...dump,
      logs: [
        logPartOf({ id: 'dead', host: null }, Buffer.from('run 1 of dead\n')),
        logPartOf({ id: 'retried', host: 'alpha' }, Buffer.from('run 1 on alpha\n')),
        logPartOf({ id: 'retried', host: 'beta' }, Buffer.from('run 2 on beta\n')),
      ],
    };
    assert.equal(await target.copy().exists(), false, 'an empty store holds no queue');
    await target.copy().load(withLogs);
    assert.equal(await target.copy().exists(), true);
    assert.deepEqual(await target.store.list(), await source.store.list(), 'every job, as it was');
    assert.deepEqual(await target.store.config(), await source.store.config(), 'the same settings');
    const copied = await target.copy().dump();
    assert.deepEqual(logTexts(copied), { dead: 'run 1 of dead\n', retried: 'run 1 on alpha\nrun 2 on beta\n' }, 'the logs, parts in order');
    assert.deepEqual(copied.envs, dump.envs);
    assert.deepEqual(copied.completedIds.sort(), ['done', 'gone']);
    // The copy works as a queue: a dependency pruned in the source is known as completed, and jobs are claimed.
    await target.store.enqueue([{ command: 'true', id: 'later', after: ['gone'] }], { cwd: '/', now: at(4) });
    const claimed = await cycle(target.store, { claim: 5 }, at(100));
    assert.deepEqual(ids(claimed.claimed).sort(), ['later', 'retried', 'waiting']);
  });

  copyTest('an id the target holds refuses the load with nothing written: no job, setting or log', async (source, target) => {
    await enqueue(source.store, [{ command: 'true', id: 'new' }, { command: 'true', id: 'both' }]);
    await source.store.setConfig('lease', 10);
    await enqueue(target.store, [{ command: 'echo mine', id: 'both' }]);
    const dump = { ...(await source.copy().dump()), logs: [logPartOf({ id: 'new', host: null }, Buffer.from('log\n'))] };
    assert.deepEqual(await target.copy().taken(['new', 'both']), ['both']);
    const before = await target.store.version();
    await assert.rejects(target.copy().load(dump), (error: Error & { exitCode?: number }) => error.exitCode === 2 && /job "both" already exists in .*nothing was copied/.test(error.message));
    assert.deepEqual((await target.store.list()).map((job) => [job.id, job.command]), [['both', 'echo mine']]);
    assert.equal((await target.store.config()).lease, 30, 'the settings as they were');
    assert.deepEqual((await target.copy().dump()).logs, []);
    assert.equal(await target.store.version(), before);
  });

  copyTest('settings set in the source win over the target\'s; those set only in the target stay', async (source, target) => {
    await source.store.setConfig('max_retries', 5);
    await target.store.setConfig('max_retries', 9);
    await target.store.setConfig('lease', 10);
    await target.copy().load(await source.copy().dump());
    const config = await target.store.config();
    assert.equal(config.max_retries, 5);
    assert.equal(config.lease, 10);
  });

  copyTest('looking for a queue or for taken ids creates nothing', async (_source, target) => {
    const copy = target.copy();
    assert.deepEqual(await copy.taken(['a']), []);
    assert.equal(await copy.exists(), false);
    await enqueue(target.store, [{ command: 'true', id: 'a' }]);
    assert.equal(await copy.exists(), true);
    assert.deepEqual(await copy.taken(['a', 'b']), ['a']);
  });
}
