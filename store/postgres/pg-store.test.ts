/**
 * What the PostgreSQL store does beyond the store contract, against the server
 * QUEUECTL_TEST_POSTGRES names (skipped without one).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
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
}
