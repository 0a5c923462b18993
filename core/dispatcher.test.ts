import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Dispatcher } from './dispatcher.js';
import type { ProcessingJob } from './job.js';
import { enqueueJobs } from './queue-ops.js';
import { QueueStore, type Transaction } from '../store/queue-store.js';

/** A store whose next transaction waits until `open()` is called. */
class GatedStore extends QueueStore {
  private gate: Promise<void> | undefined;
  private opener: (() => void) | undefined;
  entered = false;

  close(): void {
    this.gate = new Promise((resolve) => (this.opener = resolve));
  }

  open(): void {
    this.opener?.();
    this.gate = undefined;
  }

  override async transact<T>(body: (tx: Transaction) => T): Promise<T> {
    this.entered = true;
    await this.gate;
    return super.transact(body);
  }
}

function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-dispatcher-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // No timed polls to race with the test's steps (and start() is not called: no fs.watch).
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ poll_interval: 60_000 }));
  const store = new GatedStore(dir);
  const assigned: [number, ProcessingJob][] = [];
  const dispatcher = new Dispatcher({
    store,
    log: () => undefined,
    assign: (pid, job) => assigned.push([pid, job]),
    revoke: () => undefined,
  });
  t.after(() => dispatcher.close());
  return { store, dispatcher, assigned };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('a job claimed for a worker that died while the cycle ran goes back to the queue, no attempt counted', async (t) => {
  const { store, dispatcher, assigned } = setup(t);
  await enqueueJobs(store, [{ command: 'true', id: 'a' }], '/');
  store.close();
  dispatcher.ready(7, 2);
  await until(() => store.entered);
  dispatcher.gone(7, 'worker 7 was killed by SIGKILL');
  store.open();

  await until(() => store.readQueue()[0]?.state === 'pending');
  await dispatcher.whenIdle();
  assert.deepEqual(assigned, [], 'nothing was handed to the dead worker');
  const [job] = store.readQueue();
  assert.equal(job?.attempts, 0);
  assert.equal(job?.lease, null);

  dispatcher.ready(8, 1);
  await until(() => assigned.length === 1);
  assert.equal(assigned[0]?.[0], 8, 'a live worker gets it');
});

test('a worker that dies holding a run and a queued job: the run is lost (an attempt), the queued job goes back', async (t) => {
  const { store, dispatcher, assigned } = setup(t);
  await enqueueJobs(store, [{ command: 'true', id: 'first' }, { command: 'true', id: 'second' }], '/');
  dispatcher.ready(7, 2);
  await until(() => assigned.length === 2);
  assert.deepEqual(
    assigned.map(([pid, job]) => [pid, job.id]),
    [
      [7, 'first'],
      [7, 'second'],
    ],
  );
  // No "started" message came: the worker may have died right after spawning the first run.
  dispatcher.gone(7, 'worker 7 was killed by SIGKILL');
  await until(() => store.readQueue().every((job) => job.state !== 'processing'));
  await dispatcher.whenIdle();
  const byId = new Map(store.readQueue().map((job) => [job.id, job]));
  assert.equal(byId.get('first')?.state, 'failed');
  assert.equal(byId.get('first')?.attempts, 1);
  assert.match(byId.get('first')?.last_error ?? '', /worker 7 was killed by SIGKILL/);
  assert.equal(byId.get('second')?.state, 'pending');
  assert.equal(byId.get('second')?.attempts, 0);
});

test('an idle worker gets the job before a busy worker queues a second one', async (t) => {
  const { store, dispatcher, assigned } = setup(t);
  await enqueueJobs(store, [{ command: 'true', id: 'a' }], '/');
  dispatcher.ready(1, 2);
  await until(() => assigned.length === 1);
  await enqueueJobs(store, [{ command: 'true', id: 'b' }], '/');
  dispatcher.ready(2, 2); // worker 1 still has a free slot, but worker 2 has nothing
  await until(() => assigned.length === 2);
  assert.deepEqual(assigned[1]?.[0], 2);
  assert.equal(assigned[1]?.[1].id, 'b');
});

test('a job claimed by a cycle in flight when its worker began to stop, or when claiming stopped, goes back unassigned', async (t) => {
  for (const stop of ['retire', 'stopClaiming'] as const) {
    const { store, dispatcher, assigned } = setup(t);
    await enqueueJobs(store, [{ command: 'true', id: 'a' }], '/');
    store.close();
    dispatcher.ready(7, 2);
    await until(() => store.entered);
    if (stop === 'retire') dispatcher.retire(7);
    else dispatcher.stopClaiming();
    store.open();
    await until(() => store.readQueue()[0]?.state === 'pending');
    await dispatcher.whenIdle();
    assert.deepEqual(assigned, [], `${stop}: nothing was handed over`);
    assert.equal(store.readQueue()[0]?.attempts, 0, `${stop}: no attempt counted`);
  }
});

test('a stopping worker gets no more jobs, and its death counts only the runs it started', async (t) => {
  const { store, dispatcher, assigned } = setup(t);
  await enqueueJobs(store, [{ command: 'true', id: 'a' }, { command: 'true', id: 'b' }], '/');
  dispatcher.ready(7, 1);
  await until(() => assigned.length === 1);
  dispatcher.retire(7);
  dispatcher.ready(7, 1); // a slot freed by a finished run of a stopping worker
  dispatcher.gone(7, 'worker 7 exited with code 0'); // it never said it started "a"
  await until(() => store.readQueue().every((job) => job.state !== 'processing'));
  await dispatcher.whenIdle();
  assert.equal(assigned.length, 1, 'nothing more was handed to the stopping worker');
  const a = store.readQueue().find((job) => job.id === 'a');
  assert.equal(a?.state, 'pending', 'a stopping worker gives back what it did not start');
  assert.equal(a?.attempts, 0);
});
