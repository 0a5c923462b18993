/**
 * How a run's log reaches the database (PgRunLogs with PgStore), against the server
 * QUEUECTL_TEST_POSTGRES names (skipped without one): above all the end of a short run, which
 * goes with the run's outcome, in the dispatch cycle that records it.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import type { LogPiece } from '../../core/ports/host.js';
import type { CycleResult } from '../../core/ports/store.js';
import type { ClaimedJob } from '../../core/rules/job.js';
import { hostPaths } from '../local/paths.js';
import { PgRunLogs } from './pg-run-logs.js';
import { PgStore } from './pg-store.js';

const url = process.env.QUEUECTL_TEST_POSTGRES;
const END = '--- queuectl: run 1 of 4 exited with code 0 after 0.01 s';

async function setup(t: TestContext) {
  const schema = `queuectl_test_${randomBytes(6).toString('hex')}`;
  const store = new PgStore({ url: url!, schema });
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-pg-logs-'));
  const logs = new PgRunLogs(hostPaths(dir), store, 'host-a');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  t.after(async () => {
    await logs.flushed();
    await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.prepare();
  const hooks = { newToken: randomUUID, runStarted: () => false };
  /** Enqueues job `id` and claims it. */
  const claim = async (id: string): Promise<ClaimedJob> => {
    await store.enqueue([{ command: 'true', id }], { cwd: '/' });
    const { claimed } = await store.cycle({ outcomes: [], renew: [], claim: 1 }, hooks);
    assert.equal(claimed[0]?.id, id);
    return claimed[0]!;
  };
  /** Records the run's outcome (a success) in a cycle, with `log` if given, under `token` (its own by default). */
  const record = (job: ClaimedJob, log: LogPiece | undefined, token = job.lease.token): Promise<CycleResult> => {
    const at = new Date().toISOString();
    const outcome = { id: job.id, token, workerPid: 7, startedAt: at, endedAt: at, outcome: { kind: 'exited', code: 0 } as const };
    return store.cycle({ outcomes: [log === undefined ? outcome : { ...outcome, log }], renew: [], claim: 0 }, hooks);
  };
  /** A run of job `id` on this host that wrote `output`. */
  const run = (id: string, output: Buffer | string): void => {
    const fd = logs.open(id, `--- queuectl: run 1 of 4 started by worker 7 ${logs.claimMark(randomUUID())}: true`);
    writeSync(fd, Buffer.from(output));
    logs.close(fd);
  };
  const file = (id: string) => readFileSync(logs.pathOf(id), 'utf8');
  return { store, logs, claim, record, run, file };
}

if (url === undefined || url === '') {
  test('postgres run logs', { skip: 'no PostgreSQL: set QUEUECTL_TEST_POSTGRES=postgres://… (.ci/run starts one)' }, () => undefined);
} else {
  test("postgres run logs: a short run's end is not uploaded: it goes with the outcome, written by the cycle that records it", async (t) => {
    const { store, logs, claim, record, run, file } = await setup(t);
    const job = await claim('a');
    run('a', 'hello\n');
    const piece = await logs.endRun('a', END, 2_000);
    assert.ok(piece !== undefined, 'a piece to send with the outcome');
    assert.deepEqual({ ...piece, run: typeof piece.run }, { id: 'a', host: 'host-a', run: 'string', text: file('a') });
    assert.ok(file('a').endsWith(`hello\n${END}\n`), "the host's file has the end line");
    assert.equal(await store.readLog('a'), undefined, 'nothing sent on its own');
    const result = await record(job, piece);
    assert.equal(result.recorded[0]?.state, 'completed');
    assert.equal(await store.readLog('a'), file('a'), 'the whole run, with the outcome');
  });

  test('postgres run logs: the piece of a run that uploaded part of its output while it ran appends to the same row', async (t) => {
    const { store, logs, claim, record, file } = await setup(t);
    const job = await claim('b');
    const fd = logs.open('b', `--- queuectl: run 1 of 4 started by worker 7 ${logs.claimMark(randomUUID())}: true`);
    writeSync(fd, 'first\n');
    const deadline = Date.now() + 10_000;
    while ((await store.readLog('b')) !== file('b')) {
      assert.ok(Date.now() < deadline, 'the output so far was never uploaded');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    writeSync(fd, 'second\n');
    logs.close(fd);
    const piece = await logs.endRun('b', END, 2_000);
    assert.equal(piece?.text, `second\n${END}\n`, 'from where the database has the run to its end');
    await record(job, piece);
    assert.equal(await store.readLog('b'), file('b'));
    assert.equal((await store.logRows('b')).length, 1, 'one row: the run');
  });

  test("postgres run logs: an outcome whose claim was lost is dropped, its run's piece is written all the same", async (t) => {
    const { store, logs, claim, record, run, file } = await setup(t);
    const job = await claim('c');
    run('c', 'lost one\n');
    const piece = await logs.endRun('c', END, 2_000);
    assert.ok(piece !== undefined);
    const result = await record(job, piece, 'not-its-token');
    assert.deepEqual([result.recorded[0], result.lostClaims[0]], [null, 'taken back']);
    assert.equal(await store.readLog('c'), file('c'));
  });

  test('postgres run logs: a run whose end is over 64 KiB is uploaded before endRun resolves, as before, and no piece goes with the outcome', async (t) => {
    const { store, logs, claim, record, run, file } = await setup(t);
    const job = await claim('d');
    run('d', `${'x'.repeat(99)}\n`.repeat(700)); // 70,000 bytes, within log_limit
    assert.equal(await logs.endRun('d', END, 2_000), undefined);
    assert.equal(await store.readLog('d'), file('d'), 'in the database before the outcome is sent');
    await record(job, undefined);
    assert.equal(await store.readLog('d'), file('d'));
  });

  test("postgres run logs: a run whose output passed log_limit is rewritten by its upload, as before, and no piece goes with the outcome", async (t) => {
    const { store, logs, claim, run, file } = await setup(t);
    await store.setConfig('log_limit', 1024);
    await claim('e');
    run('e', `${'y'.repeat(99)}\n`.repeat(20)); // 2,000 bytes
    assert.equal(await logs.endRun('e', END, 2_000), undefined);
    const rows = await store.logRows('e');
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.cut > 0, 'the row was rewritten, cut');
    assert.match(rows[0]!.text, /bytes of this run's output cut \(log_limit/);
    assert.ok(rows[0]!.text.endsWith(`${END}\n`) && file('e').endsWith(`${END}\n`));
  });

  test("postgres run logs: a NUL byte, which a text column refuses, is in the database's copy as U+FFFD; the run's end goes with its outcome", async (t) => {
    const { store, logs, claim, record, run, file } = await setup(t);
    const job = await claim('f');
    run('f', Buffer.from('a\0b\n'));
    const piece = await logs.endRun('f', END, 2_000);
    assert.ok(piece !== undefined, 'a piece, as for any short end');
    assert.ok(file('f').includes('a\0b\n'), "the host's file keeps the byte");
    assert.equal((await record(job, piece)).recorded[0]?.state, 'completed');
    assert.equal(await store.readLog('f'), file('f').replaceAll('\0', '\uFFFD'));
  });

  test('postgres run logs: a NUL byte in the output of a run going on does not stop its later output from reaching the database', async (t) => {
    const { store, logs, claim, record, file } = await setup(t);
    const job = await claim('n');
    const fd = logs.open('n', `--- queuectl: run 1 of 4 started by worker 7 ${logs.claimMark(randomUUID())}: true`);
    writeSync(fd, 'before\nx\0y\n');
    const uploaded = async (what: string) => {
      const deadline = Date.now() + 10_000;
      while ((await store.readLog('n')) !== file('n').replaceAll('\0', '\uFFFD')) {
        assert.ok(Date.now() < deadline, `${what} never reached the database: ${JSON.stringify(await store.readLog('n'))}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await uploaded('the output with the NUL byte');
    writeSync(fd, 'after\n');
    await uploaded('the output after it');
    logs.close(fd);
    await record(job, await logs.endRun('n', END, 2_000));
    assert.equal(await store.readLog('n'), file('n').replaceAll('\0', '\uFFFD'));
    assert.ok((await store.readLog('n'))!.endsWith(`after\n${END}\n`));
  });

  /** A run of job `id` begun by the worker side `logs` under claim `token`, which wrote `output` and then died: its uploads end there. */
  const diedWhileRunning = async (logs: PgRunLogs, id: string, token: string, output: string) => {
    const fd = logs.open(id, `--- queuectl: run 1 of 4 started by worker 7 ${logs.claimMark(token)}: true`);
    writeSync(fd, output);
    logs.close(fd);
    await logs.flushed(); // what it had sent is there; no more comes from it
  };
  const LOST = '--- queuectl: run 1 of 4 lost: worker 7 was killed by SIGKILL';

  test("postgres run logs: a run whose worker died: the manager's lost line brings the rest of the run from this host's file, in the run's own row", async (t) => {
    const { store, logs, file } = await setup(t);
    const token = randomUUID();
    const fd = logs.open('l', `--- queuectl: run 1 of 4 started by worker 7 ${logs.claimMark(token)}: true`);
    writeSync(fd, 'first\n');
    const deadline = Date.now() + 10_000;
    while ((await store.readLog('l')) !== file('l')) {
      assert.ok(Date.now() < deadline, 'the first line was never uploaded');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await logs.flushed();
    writeSync(fd, 'second\n'); // written just before the worker died: never uploaded by it
    logs.close(fd);
    // The manager: another process on this host, with logs of its own.
    const manager = new PgRunLogs(hostPaths(join(logs.pathOf('l'), '..', '..')), store, 'host-a');
    manager.appendToRun('l', LOST, token);
    await manager.uploaded();
    assert.equal(await store.readLog('l'), file('l'));
    assert.ok(file('l').endsWith(`first\nsecond\n${LOST}\n`));
    assert.equal((await store.logRows('l')).length, 1, "one row: the run's, brought up to date");
  });

  test('postgres run logs: a run whose worker died before its first upload gets its row from the lost line; past log_limit, its tail', async (t) => {
    const { store, logs, file } = await setup(t);
    await store.setConfig('log_limit', 1024);
    const manager = new PgRunLogs(hostPaths(join(logs.pathOf('x'), '..', '..')), store, 'host-a');
    const short = randomUUID();
    await diedWhileRunning(logs, 'm', short, 'only line\n');
    manager.appendToRun('m', LOST, short);
    await manager.uploaded();
    assert.equal(await store.readLog('m'), file('m'));

    const long = randomUUID();
    await diedWhileRunning(logs, 'o', long, `${'z'.repeat(99)}\n`.repeat(20));
    manager.appendToRun('o', LOST, long);
    await manager.uploaded();
    const rows = await store.logRows('o');
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.cut > 0, 'cut to log_limit');
    assert.ok(rows[0]!.text.startsWith('--- queuectl: run 1 of 4 started by worker 7'), 'the header stays');
    assert.match(rows[0]!.text, /bytes of this run's output cut \(log_limit/);
    assert.ok(rows[0]!.text.endsWith(`${LOST}\n`));
  });

  test("postgres run logs: a lost run that is not in this host's file (it ran on another host): the lost line alone", async (t) => {
    const { store, logs, file } = await setup(t);
    logs.appendToRun('p', LOST, randomUUID());
    await logs.uploaded();
    assert.equal(await store.readLog('p'), `${LOST}\n`, 'no file here: the line, to the log on the other host');
    const fd = logs.open('q', `--- queuectl: run 1 of 4 started by worker 7 ${logs.claimMark(randomUUID())}: true`);
    writeSync(fd, 'ran here\n');
    logs.close(fd);
    logs.appendToRun('q', END);
    await logs.uploaded(); // this host's run is in the database before the next run begins
    const manager = new PgRunLogs(hostPaths(join(logs.pathOf('q'), '..', '..')), store, 'host-a');
    manager.appendToRun('q', LOST, randomUUID()); // its next run, on another host
    await manager.uploaded();
    assert.equal(await store.readLog('q'), file('q'), "the run of this host, then the other's lost line");
    assert.equal((await store.logRows('q')).length, 2);
  });

  test('postgres run logs: a run that did not start on this host (a lost one): its end line is uploaded, no piece', async (t) => {
    const { store, logs } = await setup(t);
    logs.note('g', '--- queuectl: enqueued');
    await logs.uploaded();
    assert.equal(await logs.endRun('g', '--- queuectl: run 1 of 4 lost: its worker died', 2_000), undefined);
    assert.match((await store.readLog('g')) ?? '', /lost: its worker died\n$/);
  });

  test('postgres run logs: a note about a job whose run goes on on this host (a cancel) is in its log once, not again with the run', async (t) => {
    const { store, logs, claim, record } = await setup(t);
    const job = await claim('canceled');
    const fd = logs.open('canceled', `--- queuectl: run 1 of 4 started by worker 7 ${logs.claimMark(job.lease.token)}: true`);
    writeSync(fd, 'tick\n');
    // `cancel`, another process on this host: its own PgRunLogs.
    const canceler = new PgRunLogs(hostPaths(join(logs.pathOf('canceled'), '..', '..')), store, 'host-a');
    canceler.note('canceled', '--- queuectl: canceled by user while running');
    await canceler.flushed();
    writeSync(fd, 'tock\n');
    logs.close(fd);
    const piece = await logs.endRun('canceled', '--- queuectl: run 1 of 4 stopped (it was canceled) after 0.50 s', 2_000);
    await record(job, piece);
    await logs.flushed();
    const text = (await store.readLog('canceled')) ?? '';
    assert.equal(text.split('canceled by user while running').length - 1, 1, text);
    assert.match(text, /^tick\ntock\n--- queuectl: run 1 of 4 stopped \(it was canceled\)/m);
  });
}
