import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { LogPiece, RunLogs } from '../ports/host.js';
import { claimedJob } from '../../test/sample-jobs.js';
import type { WorkerMessage } from './worker-protocol.js';
import { Worker } from './worker.js';

/**
 * Logs that are one plain file in a temporary dir, its methods replaced by `overrides`;
 * `limits`: the log_limit each run's log was opened with.
 */
function tempLogs(t: TestContext, overrides: Partial<RunLogs> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-worker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'j.log');
  const limits: (number | undefined)[] = [];
  const logs: RunLogs = {
    open: (_id, _header, logLimit) => (limits.push(logLimit), openSync(log, 'a')),
    close: (fd) => closeSync(fd),
    claimMark: (token) => token,
    showsRun: () => true,
    appendToRun: () => undefined,
    note: () => undefined,
    pathOf: () => log,
    fileOf: () => log,
    writeOut: async () => false,
    ...overrides,
  };
  return { dir, logs, limits };
}

test("a run's outcome is sent once its log reached the store, not before", async (t) => {
  const { dir, logs } = tempLogs(t);
  const sent: WorkerMessage[] = [];
  let flushed!: () => void;
  let flushAsked!: () => void;
  const asked = new Promise<void>((resolve) => (flushAsked = resolve));
  const worker = new Worker(
    {
      dataDir: dir,
      logs,
      send: (message, then) => {
        sent.push(message);
        then?.();
      },
      log: () => undefined,
      flushLogs: () => {
        flushAsked();
        return new Promise<void>((resolve) => (flushed = resolve));
      },
    },
    () => undefined,
  );
  worker.handle({ type: 'run', job: claimedJob('j', { command: 'true', cwd: dir, env_id: null }), logLimit: 1_000_000 });
  await asked;
  assert.deepEqual(sent.map((message) => message.type), ['started'], 'the run ended; its log is on its way');
  flushed();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(sent.map((message) => message.type), ['started', 'finished']);
});

/** A worker whose logs end each run through `endRun`, recording what it is asked and what it sends. */
function endingWorker(t: TestContext, endRun: NonNullable<RunLogs['endRun']>) {
  const calls: string[] = [];
  const { dir, logs } = tempLogs(t, {
    appendToRun: () => void calls.push('appendToRun'),
    endRun: (id, line, waitMs) => {
      calls.push(`endRun ${id} ${waitMs > 0}`);
      return endRun(id, line, waitMs);
    },
  });
  const sent: WorkerMessage[] = [];
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const worker = new Worker(
    {
      dataDir: dir,
      logs,
      send: (message, then) => {
        sent.push(message);
        if (message.type === 'finished') finished();
        then?.();
      },
      log: () => undefined,
      flushLogs: async () => void calls.push('flushLogs'),
    },
    () => undefined,
  );
  worker.handle({ type: 'run', job: claimedJob('j', { command: 'true', cwd: dir, env_id: null }), logLimit: 1_000_000 });
  return { sent, calls, done };
}

test("a run's last log piece goes with its outcome, not uploaded on its own", async (t) => {
  const piece: LogPiece = { id: 'j', host: 'here', run: 'run-key', text: 'out\n--- queuectl: run 1 of 4 exited 0\n' };
  let line = '';
  const { sent, calls, done } = endingWorker(t, async (_id, given) => {
    line = given;
    return piece;
  });
  await done;
  assert.match(line, /^--- queuectl: run 1 of 4 /, "the run's end line goes to endRun");
  assert.deepEqual(calls, ['endRun j true'], 'no appendToRun (which would upload), no flush to wait for');
  const finished = sent.find((message) => message.type === 'finished');
  assert.deepEqual(finished?.type === 'finished' ? finished.log : undefined, piece);
});

test("a run whose log went the usual way (a large piece): the outcome, with no piece, is sent once endRun resolved", async (t) => {
  let uploaded!: () => void;
  let asked!: () => void;
  const endAsked = new Promise<void>((resolve) => (asked = resolve));
  const { sent, calls, done } = endingWorker(t, () => {
    asked();
    return new Promise((resolve) => (uploaded = () => resolve(undefined)));
  });
  await endAsked;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(sent.map((message) => message.type), ['started'], 'the log is on its way: no outcome yet');
  uploaded();
  await done;
  assert.deepEqual(calls, ['endRun j true']);
  const finished = sent.find((message) => message.type === 'finished');
  assert.equal(finished?.type === 'finished' && 'log' in finished, false, 'no piece');
});

test('endRun that throws (no log to end): the outcome is sent all the same', async (t) => {
  const { sent, done } = endingWorker(t, () => {
    throw new Error('ENOENT');
  });
  await done;
  assert.deepEqual(sent.map((message) => message.type), ['started', 'finished']);
});

test('endRun that fails: the outcome, with no piece, waits for the uploads begun, as without endRun', async (t) => {
  const { sent, calls, done } = endingWorker(t, async () => {
    throw new Error('EIO');
  });
  await done;
  assert.deepEqual(calls, ['endRun j true', 'flushLogs']);
  const finished = sent.find((message) => message.type === 'finished');
  assert.equal(finished?.type === 'finished' && 'log' in finished, false, 'no piece');
});

/** A worker on tempLogs, recording what it sends and the limits its runs' logs were opened with. */
function plainWorker(t: TestContext) {
  const { dir, logs, limits } = tempLogs(t);
  const sent: WorkerMessage[] = [];
  const waiters: { type: WorkerMessage['type']; count: number; resolve: () => void }[] = [];
  const worker = new Worker(
    {
      dataDir: dir,
      logs,
      send: (message, then) => {
        sent.push(message);
        for (const waiter of waiters) if (sent.filter((m) => m.type === waiter.type).length >= waiter.count) waiter.resolve();
        then?.();
      },
      log: () => undefined,
    },
    () => undefined,
  );
  /** Resolves once `count` messages of `type` were sent in all. */
  const sentCount = (type: WorkerMessage['type'], count: number) =>
    new Promise<void>((resolve) => {
      waiters.push({ type, count, resolve });
      if (sent.filter((m) => m.type === type).length >= count) resolve();
    });
  return { dir, worker, sent, limits, sentCount };
}

test('a job whose stored environment the worker lacks: it asks its manager once, runs in the answer, and keeps it for the next job of that environment', async (t) => {
  const { dir, worker, sent, sentCount } = plainWorker(t);
  const envId = 'e'.repeat(32);
  const job = (id: string) => claimedJob(id, { command: `printf %s "$GREETING" > ${id}.out`, cwd: dir, env_id: envId });
  worker.handle({ type: 'run', job: job('a'), logLimit: 0 });
  assert.deepEqual(sent, [{ type: 'env', id: envId }], 'asked, not started yet');
  worker.handle({ type: 'env', id: envId, env: { GREETING: 'hi', PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  await sentCount('finished', 1);
  assert.equal(readFileSync(join(dir, 'a.out'), 'utf8'), 'hi', "the run had the manager's answer for its environment");
  worker.handle({ type: 'run', job: job('b'), logLimit: 0 });
  await sentCount('finished', 2);
  assert.equal(readFileSync(join(dir, 'b.out'), 'utf8'), 'hi');
  assert.equal(sent.filter((message) => message.type === 'env').length, 1, 'the second job of that environment did not ask again');
});

test("an environment the manager cannot give: the run fails to start with the manager's reason; an answer for another id is no answer", async (t) => {
  const { dir, worker, sent, sentCount } = plainWorker(t);
  const envId = 'f'.repeat(32);
  worker.handle({ type: 'run', job: claimedJob('a', { command: 'true', cwd: dir, env_id: envId }), logLimit: 0 });
  worker.handle({ type: 'env', id: 'a'.repeat(32), env: {} });
  assert.deepEqual(sent.map((message) => message.type), ['env'], 'still waiting for its own');
  worker.handle({ type: 'env', id: envId, error: `its environment ${envId} is missing from the database` });
  await sentCount('finished', 1);
  const finished = sent.find((message) => message.type === 'finished');
  assert.deepEqual(finished?.type === 'finished' ? finished.outcome : undefined, { kind: 'spawn_failed', message: `its environment ${envId} is missing from the database` });
});

test("a run's log is opened with the log_limit its manager sent with the job", async (t) => {
  const { dir, worker, limits, sentCount } = plainWorker(t);
  worker.handle({ type: 'run', job: claimedJob('a', { command: 'true', cwd: dir, env_id: null }), logLimit: 4096 });
  await sentCount('finished', 1);
  assert.deepEqual(limits, [4096]);
});

test('a run the system refuses to start (a command or environment over its limits: E2BIG) is recorded as not started; the worker lives on', async (t) => {
  const { dir, worker, sent, sentCount } = plainWorker(t);
  // One variable longer than Linux lets one string of a new program's environment be (128 KiB).
  const big = claimedJob('big', { command: 'true', cwd: dir, env_id: null, env: { BIG: 'x'.repeat(200_000) } });
  worker.handle({ type: 'run', job: big, logLimit: 1_000_000 });
  await sentCount('finished', 1);
  const outcome = sent.find((message) => message.type === 'finished');
  assert.ok(outcome?.type === 'finished' && outcome.outcome.kind === 'spawn_failed', JSON.stringify(outcome?.type === 'finished' && outcome.outcome));
  assert.match(outcome.outcome.message, /E2BIG .*longer than the system allows/);
});
