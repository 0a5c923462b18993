import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Dispatcher } from '../../core/runtime/dispatcher.js';
import type { ClaimedJob, Job } from '../../core/rules/job.js';
import type { JobSpec } from '../../core/rules/job-spec.js';
import type { CycleHooks, CycleRequest, CycleResult, Store, StoreChange } from '../../core/ports/store.js';
import { cancelJobs as cancel, type CancelOptions } from '../../core/operations/cancel.js';
import { FileHost } from './host.js';
import { FileStore } from './file-store.js';

/** A store whose next dispatch cycle waits until `open()` is called, and that counts its cycles. */
class GatedStore extends FileStore {
  private gate: Promise<void> | undefined;
  private opener: (() => void) | undefined;
  entered = false;
  cycles = 0;
  /** Every request a cycle was asked, in order. */
  readonly requests: CycleRequest[] = [];

  /** From now on, cycles wait for `open()`; `entered` tells when the next one began. */
  block(): void {
    this.entered = false;
    this.gate = new Promise((resolve) => (this.opener = resolve));
  }

  open(): void {
    this.opener?.();
    this.gate = undefined;
  }

  /** The outcomes each cycle recorded, by job id. */
  readonly recorded: string[][] = [];
  /** Called once a cycle is written, before the dispatcher hears back. */
  afterCycle: (() => void) | undefined;

  /** How many of the next cycles fail, as when the store cannot be reached. */
  failing = 0;

  override async cycle(request: CycleRequest, hooks: CycleHooks): Promise<CycleResult> {
    this.entered = true;
    this.cycles++;
    if (request.outcomes.length > 0) this.recorded.push(request.outcomes.map((outcome) => outcome.id));
    this.requests.push(request);
    await this.gate;
    if (this.failing > 0) {
      this.failing--;
      throw new Error('the store cannot be reached');
    }
    const result = await super.cycle(request, hooks);
    this.afterCycle?.();
    return result;
  }

  /** What start() watches with: the test reports changes itself (no fs.watch). */
  onChange: ((change: StoreChange) => void) | undefined;
  /** How many times a manager read its claims back to check them. */
  checks = 0;

  override watch(onChange: (change: StoreChange) => void): () => void {
    this.onChange = onChange;
    return () => (this.onChange = undefined);
  }

  override async current(ids: readonly string[]): Promise<ReadonlyMap<string, Job> | null> {
    this.checks++;
    return super.current(ids);
  }

  /** queue.json as it is now. */
  readQueue(): readonly Job[] {
    return this.files.readQueue();
  }
}

function enqueueJobs(store: Store, specs: readonly JobSpec[], cwd: string) {
  return store.enqueue(specs, { cwd });
}

function cancelJobs(store: GatedStore, ids: readonly string[], options: CancelOptions) {
  return cancel(store, new FileHost(store.location), ids, options);
}

/** A dispatcher on a temp data dir; `holdMs` long by default, so held jobs stay held unless a test says otherwise. */
function setup(t: TestContext, holdMs = 60_000, alone = true, recoverAfterOutageMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-dispatcher-'));
  // No timed polls to race with the test's steps (and start() is not called: no fs.watch).
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ poll_interval: 60_000 }));
  const store = new GatedStore(dir);
  const assigned: [number, ClaimedJob][] = [];
  const revoked: [number, string][] = [];
  const dispatcher = new Dispatcher({
    store,
    logs: new FileHost(dir).logs,
    config: store.files.readConfig(),
    log: () => undefined,
    assign: (pid, job) => assigned.push([pid, job]),
    revoke: (pid, run) => revoked.push([pid, run.id]),
    holdMs,
    alone: () => alone,
    ...(recoverAfterOutageMs === undefined ? {} : { recoverAfterOutageMs }),
  });
  t.after(async () => {
    await dispatcher.close(); // and the cycle in flight has written its files
    rmSync(dir, { recursive: true, force: true });
  });
  const job = (id: string): Job | undefined => store.readQueue().find((entry) => entry.id === id);
  return { store, dispatcher, assigned, revoked, job };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const jobs = (...ids: string[]) => ids.map((id) => ({ command: 'true', id }));
const ok = { kind: 'exited', code: 0 } as const;

test('after cycles failed (the store out of reach), leases that ran out are left alone for a while once it is back, for their managers to renew', async (t) => {
  const { store, dispatcher } = setup(t, 60_000, true, 300);
  const asked = () => store.requests.map((request) => request.recoverExpired);
  dispatcher.ready(1);
  await until(() => store.cycles === 1);
  assert.deepEqual(asked(), [true], 'before any failure, a cycle takes back what ran out');
  store.failing = 1;
  dispatcher.ready(2);
  await until(() => store.cycles === 3); // the failed one, and its retry a second later
  assert.deepEqual(asked(), [true, true, false], 'the retry may be the only cycle the store is back for');
  dispatcher.ready(3);
  await until(() => store.cycles === 4);
  assert.equal(asked()[3], false, 'back for less than the bound');
  await new Promise((resolve) => setTimeout(resolve, 350));
  dispatcher.ready(4);
  await until(() => store.cycles === 5);
  assert.equal(asked()[4], true, 'back for longer: leases that ran out are taken back again');
});

test('a job claimed for a worker that died while the cycle ran is not handed to it: the next free worker takes it', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t);
  await enqueueJobs(store, jobs('a'), '/');
  store.block();
  dispatcher.ready(7);
  await until(() => store.entered);
  dispatcher.gone(7, 'worker 7 was killed by SIGKILL');
  store.open();
  await until(() => job('a')?.state === 'processing');
  assert.equal(assigned.length, 0, 'nothing was handed to the dead worker');
  assert.equal(job('a')?.attempts, 0, 'a claim is not a run');

  dispatcher.ready(8);
  await until(() => assigned.length === 1);
  assert.deepEqual(
    assigned.map(([pid, claimed]) => [pid, claimed.id]),
    [[8, 'a']],
    'a live worker gets it',
  );
});

test('a worker that dies with a run it never said it started: the run is lost, an attempt counted', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t);
  await enqueueJobs(store, jobs('first'), '/');
  dispatcher.ready(7);
  await until(() => assigned.length === 1);
  // No "started" message came: the worker may have died right after spawning the run.
  dispatcher.gone(7, 'worker 7 was killed by SIGKILL');
  await until(() => job('first')?.state === 'failed');
  await dispatcher.whenIdle();
  assert.equal(job('first')?.attempts, 1);
  assert.match(job('first')?.last_error ?? '', /worker 7 was killed by SIGKILL/);
});

test("a run's log piece, sent with its outcome, goes into the cycle that records it", async (t) => {
  const { store, dispatcher, assigned, job } = setup(t);
  await enqueueJobs(store, jobs('a'), '/');
  dispatcher.ready(1);
  await until(() => assigned.length === 1);
  const piece = { id: 'a', host: 'here', run: 'run-key', text: 'out\n--- queuectl: run 1 of 4 exited 0\n' };
  const at = new Date().toISOString();
  dispatcher.runEnded({ id: 'a', token: assigned[0]![1].lease.token }, ok, at, at, piece);
  await until(() => job('a')?.state === 'completed');
  const recording = store.requests.filter((request) => request.outcomes.length > 0);
  assert.deepEqual(recording.map((request) => request.outcomes.map((outcome) => outcome.log)), [[piece]]);
});

test('held jobs go to whichever worker frees first, oldest first, without waiting for a lock cycle', async (t) => {
  const { store, dispatcher, assigned } = setup(t);
  await enqueueJobs(store, jobs('a', 'b', 'c', 'd'), '/');
  dispatcher.ready(1);
  dispatcher.ready(2);
  // Two idle workers get a job each, and up to one more per busy worker is claimed and held.
  await until(() => assigned.length === 2 && dispatcher.holding === 2);
  assert.deepEqual(assigned.map(([pid, claimed]) => [pid, claimed.id]), [
    [1, 'a'],
    [2, 'b'],
  ]);

  store.block(); // no lock cycle can complete from here on
  dispatcher.runEnded({ id: 'b', token: assigned[1]![1].lease.token }, ok, new Date().toISOString(), new Date().toISOString());
  dispatcher.ready(2); // worker 2 frees first, while worker 1 still runs "a"
  assert.deepEqual(assigned[2]?.[0], 2);
  assert.equal(assigned[2]?.[1].id, 'c', 'the oldest held job, handed over at once');
  store.open();
});

test("another manager's dispatch cycle (claims) is no reason to check this one's claims; a change that may take one away (jobs) is", async (t) => {
  const { store, dispatcher, assigned } = setup(t);
  dispatcher.start();
  await enqueueJobs(store, jobs('a'), '/');
  dispatcher.ready(1);
  await until(() => assigned.length === 1);
  // A check starts as the change is reported (its read is asked at once).
  store.onChange?.('claims');
  store.onChange?.('claims');
  assert.equal(store.checks, 0);
  store.onChange?.('jobs');
  assert.equal(store.checks, 1);
});

test('while every worker is busy and a held job waits for the next to free, outcomes wait a moment to share a cycle', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t);
  await enqueueJobs(store, jobs('a', 'b', 'c', 'd'), '/');
  dispatcher.ready(1);
  dispatcher.ready(2);
  await until(() => assigned.length === 2 && dispatcher.holding === 2);
  const tokenOf = (id: string) => assigned.find(([, claimed]) => claimed.id === id)![1].lease.token;
  const now = () => new Date().toISOString();
  dispatcher.runEnded({ id: 'a', token: tokenOf('a') }, ok, now(), now());
  dispatcher.ready(1); // takes "c"; "d" is still held for worker 2
  await new Promise((resolve) => setTimeout(resolve, 1)); // a turn of the event loop, or more
  dispatcher.runEnded({ id: 'c', token: tokenOf('c') }, ok, now(), now());
  dispatcher.ready(1); // takes "d": none held now, so the cycle starts at once
  await until(() => job('a')?.state === 'completed' && job('c')?.state === 'completed');
  assert.deepEqual(store.recorded, [['a', 'c']], 'one cycle recorded both');
});

test('outcomes that came while a cycle ran wait a moment too, when every worker is busy and a held job waits: a stream of short runs takes fewer cycles than runs', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t);
  await enqueueJobs(store, jobs('a', 'b', 'c', 'd', 'e', 'f'), '/');
  dispatcher.ready(1);
  dispatcher.ready(2);
  await until(() => assigned.length === 2 && dispatcher.holding === 2); // a, b run; c, d held
  const tokenOf = (id: string) => assigned.find(([, claimed]) => claimed.id === id)![1].lease.token;
  const now = () => new Date().toISOString();
  await dispatcher.cycled();
  const cyclesBefore = store.cycles;
  store.block();
  dispatcher.runEnded({ id: 'a', token: tokenOf('a') }, ok, now(), now());
  dispatcher.ready(1); // takes c; d held
  await until(() => store.entered); // the cycle recording a, which claims e to hold
  dispatcher.runEnded({ id: 'b', token: tokenOf('b') }, ok, now(), now()); // while it runs
  dispatcher.ready(2); // takes d
  // Right after the cycle, before any timer: has the next one begun, for b alone?
  const afterFirst = new Promise<number>((resolve) => {
    store.afterCycle = () => {
      store.afterCycle = undefined;
      setImmediate(() => resolve(store.cycles - cyclesBefore));
    };
  });
  store.open();
  assert.equal(await afterFirst, 1, 'no cycle began at once: e is held for the next worker to free');
  dispatcher.runEnded({ id: 'c', token: tokenOf('c') }, ok, now(), now());
  dispatcher.ready(1); // takes e
  await until(() => ['a', 'b', 'c'].every((id) => job(id)?.state === 'completed'));
  assert.deepEqual(store.recorded, [['a'], ['b', 'c']], 'b waited for c, and one cycle recorded both');
});

test('with other managers on the store, jobs are held ahead only once a run here ended young: a stream of short runs', async (t) => {
  const { store, dispatcher, assigned } = setup(t, 60_000, false);
  await enqueueJobs(store, jobs('a', 'b', 'c'), '/');
  dispatcher.ready(1);
  await until(() => assigned.length === 1);
  await dispatcher.cycled();
  assert.equal(dispatcher.holding, 0, 'nothing held beside a run of unknown length: another manager may be free for it');
  const now = new Date().toISOString();
  dispatcher.runEnded({ id: 'a', token: assigned[0]![1].lease.token }, ok, now, now);
  dispatcher.ready(1);
  await until(() => assigned.length === 2 && dispatcher.holding === 1);
  assert.deepEqual(assigned.map(([, claimed]) => claimed.id), ['a', 'b']);
});

test('a held job that no worker took within the bound goes back to the queue, nothing counted, and is not held again meanwhile', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t, 50);
  await enqueueJobs(store, jobs('long', 'next'), '/');
  dispatcher.ready(1);
  await until(() => assigned.length === 1 && job('next')?.state === 'processing');
  await until(() => job('next')?.state === 'pending');
  assert.equal(job('next')?.attempts, 0);
  assert.equal(job('next')?.lease, null);
  const cycles = store.cycles;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(job('next')?.state, 'pending', 'left for any free worker');
  assert.ok(store.cycles - cycles <= 1, `${store.cycles - cycles} lock cycles while nothing changed`);

  dispatcher.ready(2);
  await until(() => assigned.length === 2);
  assert.equal(assigned[1]?.[1].id, 'next', 'a worker that frees claims it again');
});

test('a job claimed by a cycle in flight when claiming stopped goes back unassigned', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t);
  await enqueueJobs(store, jobs('a'), '/');
  store.block();
  dispatcher.ready(7);
  await until(() => store.entered);
  dispatcher.stopClaiming();
  store.open();
  await until(() => job('a')?.state === 'pending');
  await dispatcher.whenIdle();
  assert.equal(assigned.length, 0, 'nothing was handed over');
  assert.equal(job('a')?.attempts, 0, 'no attempt counted');
});

test('a stopping worker gets no more jobs, and its death counts only a run it said it started', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t, 50);
  await enqueueJobs(store, jobs('a', 'b'), '/');
  dispatcher.ready(7);
  await until(() => assigned.length === 1);
  dispatcher.retire(7);
  dispatcher.ready(7); // a stopping worker that finished a run
  dispatcher.gone(7, 'worker 7 exited with code 0'); // it never said it started "a"
  await until(() => store.readQueue().every((entry) => entry.state === 'pending'));
  await dispatcher.whenIdle();
  assert.equal(assigned.length, 1, 'nothing more was handed to the stopping worker');
  assert.equal(job('a')?.attempts, 0, 'a stopping worker gives back what it did not start');
});

test('a start is recorded with the worker and its time; the outcome with the times its worker saw', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t);
  await enqueueJobs(store, jobs('a'), '/');
  dispatcher.ready(3);
  await until(() => assigned.length === 1);
  const { token } = assigned[0]![1].lease;
  dispatcher.started(token, '2026-11-23T10:00:00.100Z');
  await until(() => job('a')?.started_at === '2026-11-23T10:00:00.100Z');
  const running = job('a');
  assert.equal(running?.attempts, 1);
  assert.equal(running?.state === 'processing' && running.lease.worker_pid, 3);

  dispatcher.runEnded({ id: 'a', token }, ok, '2026-11-23T10:00:00.100Z', '2026-11-23T10:00:00.400Z');
  await until(() => job('a')?.state === 'completed');
  assert.equal(job('a')?.started_at, '2026-11-23T10:00:00.100Z');
  assert.equal(job('a')?.finished_at, '2026-11-23T10:00:00.400Z');
});

test('a held job that is canceled is dropped: no worker is ever handed it', async (t) => {
  const { store, dispatcher, assigned, job } = setup(t);
  await enqueueJobs(store, jobs('run', 'held'), '/');
  dispatcher.ready(1);
  await until(() => assigned.length === 1 && dispatcher.holding === 1);
  await cancelJobs(store, ['held'], { graceMs: 0 });
  // The next cycle (here, the one recording a start) checks what it holds.
  dispatcher.started(assigned[0]![1].lease.token, new Date().toISOString());
  await until(() => dispatcher.holding === 0);
  dispatcher.runEnded({ id: 'run', token: assigned[0]![1].lease.token }, ok, new Date().toISOString(), new Date().toISOString());
  dispatcher.ready(1);
  await until(() => job('run')?.state === 'completed');
  assert.deepEqual(assigned.map(([, claimed]) => claimed.id), ['run']);
  assert.equal(job('held')?.state, 'canceled');
});

test('runs whose outcomes a cycle records are not counted as going on: it claims ahead for the runs that are, at most 8 each', async (t) => {
  const { store, dispatcher, assigned } = setup(t);
  await enqueueJobs(store, Array.from({ length: 200 }, (_, i) => ({ command: 'true', id: `j${i}` })), '/');
  dispatcher.ready(1);
  dispatcher.ready(2);
  await until(() => assigned.length === 2 && dispatcher.holding === 2);
  await dispatcher.cycled();
  const tokenOf = (id: string) => assigned.find(([, claimed]) => claimed.id === id)![1].lease.token;
  const end = (id: string) => dispatcher.runEnded({ id, token: tokenOf(id) }, ok, new Date().toISOString(), new Date().toISOString());
  const [first, second] = assigned.map(([, claimed]) => claimed.id);
  store.block(); // a slow cycle, as on a large queue: runs end while it goes on
  end(first!);
  dispatcher.ready(1); // takes a held job
  await until(() => store.entered);
  end(second!);
  dispatcher.ready(2); // takes the other held job
  const [third, fourth] = assigned.slice(2).map(([, claimed]) => claimed.id);
  end(third!);
  dispatcher.ready(1); // nothing held: idle
  end(fourth!);
  dispatcher.ready(2);
  const recorded = store.requests.length;
  store.open();
  await until(() => store.requests.length > recorded);
  const next = store.requests[recorded]!;
  assert.deepEqual(next.outcomes.map((outcome) => outcome.id), [second, third, fourth]);
  assert.equal(next.claim, 2, 'one for each idle worker; no run goes on to claim ahead for');
  await dispatcher.cycled();
  assert.ok(dispatcher.holding <= 16, `${dispatcher.holding} held for 2 workers`);
});
