/**
 * What the PostgreSQL store does beyond the store contract, against the server
 * QUEUECTL_TEST_POSTGRES names (skipped without one).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import type { StoreChange } from '../../core/ports/store.js';
import { PgStore } from './pg-store.js';

const url = process.env.QUEUECTL_TEST_POSTGRES;

if (url === undefined || url === '') {
  test('postgres store', { skip: 'no PostgreSQL: set QUEUECTL_TEST_POSTGRES=postgres://… (.ci/run starts one)' }, () => undefined);
} else {
  test('postgres store: a stored environment is read from the database once, then kept (its id is a hash of its content)', async (t) => {
    const schema = `queuectl_test_${randomBytes(6).toString('hex')}`;
    const store = new PgStore({ url, schema });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    t.after(async () => {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });
    const [job] = await store.enqueue([{ command: 'true' }], { cwd: '/', env: { GREETING: 'hello' } });
    const id = job!.env_id!;
    assert.deepEqual(await store.env(id), { GREETING: 'hello' });
    await admin.query(`DELETE FROM "${schema}".envs`);
    assert.deepEqual(await store.env(id), { GREETING: 'hello' }, 'kept: not asked for again');
    const other = new PgStore({ url, schema });
    await assert.rejects(other.env(id), /its environment \w+ is missing from/, 'another store asks the database');
    await other.close();
  });

  test('postgres store: its sessions have the server end a transaction left waiting 10 s for its next statement; the URL may set another wait', async (t) => {
    const setting = async (storeUrl: string) => {
      const store = new PgStore({ url: storeUrl, schema: `queuectl_test_${randomBytes(6).toString('hex')}` });
      t.after(() => store.close());
      // The pool's own connection, as every statement of the store gets one.
      const client = await (store as unknown as { pool: pg.Pool }).pool.connect();
      try {
        return (await client.query<{ idle_in_transaction_session_timeout: string }>('SHOW idle_in_transaction_session_timeout')).rows[0]!.idle_in_transaction_session_timeout;
      } finally {
        client.release();
      }
    };
    assert.equal(await setting(url), '10s');
    assert.equal(await setting(`${url}${url.includes('?') ? '&' : '?'}idle_in_transaction_session_timeout=60000`), '1min');
  });

  test('postgres store: an enqueue of a large batch, and a copy, commit though building their rows keeps the server waiting longer than the sessions allow', async (t) => {
    const schema = `queuectl_test_${randomBytes(6).toString('hex')}`;
    // 50 ms: building 20,000 rows between two statements takes longer (about 250 ms).
    const impatient = `${url}${url.includes('?') ? '&' : '?'}idle_in_transaction_session_timeout=50`;
    const store = new PgStore({ url: impatient, schema });
    const target = new PgStore({ url: impatient, schema: `${schema}_copy` });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    t.after(async () => {
      await store.close();
      await target.close();
      for (const name of [schema, `${schema}_copy`]) await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      await admin.end();
    });
    const jobs = await store.enqueue(Array.from({ length: 20_000 }, (_, i) => ({ command: `echo ${i}` })), { cwd: '/' });
    assert.equal(jobs.length, 20_000);
    const dump = await store.queueCopy().dump();
    assert.equal(dump.jobs.length, 20_000);
    await target.queueCopy().load(dump);
    assert.equal((await admin.query(`SELECT count(*)::int AS n FROM "${schema}_copy".jobs`)).rows[0].n, 20_000);
  });

  test('postgres store: watch listens again after the server ended its connection (a restart, a failover), says "jobs" for what it missed, then hears changes again', async (t) => {
    const schema = `queuectl_test_${randomBytes(6).toString('hex')}`;
    const store = new PgStore({ url, schema });
    const other = new PgStore({ url, schema });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const changes: StoreChange[] = [];
    const stop = store.watch((change) => changes.push(change));
    t.after(async () => {
      stop();
      await store.close();
      await other.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });
    const listener = async () =>
      (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [`queuectl listen ${schema}`])).rows;
    const waitUntil = async (what: string, done: () => Promise<boolean> | boolean, poke?: () => Promise<unknown>) => {
      const deadline = Date.now() + 10_000;
      while (!(await done())) {
        assert.ok(Date.now() < deadline, `${what}: not within 10 s`);
        await poke?.();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await waitUntil('listening', async () => (await listener()).length === 1);
    const [{ pid }] = (await listener()) as [{ pid: number }];
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitUntil('listening again, on another connection', async () => (await listener()).some((row) => row.pid !== pid));
    await waitUntil('told it may have missed changes', () => changes.includes('jobs'));
    changes.length = 0;
    let n = 0;
    await waitUntil('a change by another store heard', () => changes.length > 0, () => other.enqueue([{ command: 'true', id: `poke-${n++}` }], { cwd: '/' }));
  });

  test('postgres store: two enqueues of one id at once: the one that loses says the id is taken, as any taken id is said', async (t) => {
    const schema = `queuectl_test_${randomBytes(6).toString('hex')}`;
    const store = new PgStore({ url, schema });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    t.after(async () => {
      await store.close();
      await other.end();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });
    await store.prepare();
    // The other enqueue has inserted "same" and not yet committed: this one's look does not see it.
    await other.query('BEGIN');
    await other.query(`INSERT INTO "${schema}".jobs (id, state, queue, priority, run_at, created_at, doc) VALUES ('same', 'pending', 'default', 0, '', '', '{}')`);
    const racing = store.enqueue([{ command: 'true', id: 'same' }], { cwd: '/' });
    // Once its insert waits on the other's row, the other commits.
    const waiting = async () =>
      (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO "${schema}".jobs%'`)).rowCount! > 0;
    for (let tries = 0; !(await waiting()); tries++) {
      assert.ok(tries < 200, 'the insert never waited on the other');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await other.query('COMMIT');
    await assert.rejects(racing, (error: Error & { exitCode?: number }) => /a job with id "same" already exists/.test(error.message) && error.exitCode === 2);
  });

  test('postgres store: a dispatch cycle that takes nothing from anyone says "claims"; one that takes back a lease run out says "jobs"', async (t) => {
    const schema = `queuectl_test_${randomBytes(6).toString('hex')}`;
    const store = new PgStore({ url, schema });
    const other = new PgStore({ url, schema });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const changes: StoreChange[] = [];
    const stop = other.watch((change) => changes.push(change));
    t.after(async () => {
      stop();
      await store.close();
      await other.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });
    const T0 = new Date('2026-01-01T00:00:00Z');
    let tokens = 0;
    const cycle = (request: { claim?: number; outcomes?: never[] }, now: Date) =>
      store.cycle({ outcomes: [], renew: [], claim: 0, ...request }, { now, newToken: () => `token-${++tokens}`, runStarted: () => false });
    /** Waits, within 5 s, for the watcher to have seen `count` changes in all. */
    const seen = async (count: number) => {
      for (const deadline = Date.now() + 5_000; changes.length < count; ) {
        assert.ok(Date.now() < deadline, `${changes.length} of ${count} changes seen: ${changes.join(' ')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // The watcher listens once a connection is made: enqueues until it hears one. Then a change of
    // another kind, a setting, as a marker: notifications come in commit order, so once it is
    // heard, every earlier one is, and what comes next is the cycles'.
    for (let pokes = 0, deadline = Date.now() + 5_000; changes.length === 0; pokes++) {
      assert.ok(Date.now() < deadline, 'no change heard within 5 s');
      await store.enqueue([{ command: 'true', id: `poke-${pokes}` }], { cwd: '/', now: T0 });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await store.setConfig('lease', 30);
    for (const deadline = Date.now() + 5_000; !changes.includes('config'); ) {
      assert.ok(Date.now() < deadline, `the marker was not heard within 5 s: ${changes.join(' ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const heard = changes.length;
    await cycle({ claim: 1 }, T0);
    await seen(heard + 1);
    assert.equal(changes[heard], 'claims', 'a claim takes nothing from anyone');
    await cycle({}, new Date(T0.getTime() + 31_000));
    await seen(heard + 2);
    assert.equal(changes[heard + 1], 'jobs', "a lease taken back was someone's claim: its manager must check");
  });
}
