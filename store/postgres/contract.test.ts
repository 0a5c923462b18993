/**
 * The store contract (../contract.ts), against a real PostgreSQL: the one QUEUECTL_TEST_POSTGRES
 * names (`postgres://…`; .ci/run starts one). Each test gets a schema of its own, dropped after.
 * Without a server the tests are skipped, with the reason.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { storeContract } from '../contract.js';
import { PgStore } from './pg-store.js';

const url = process.env.QUEUECTL_TEST_POSTGRES;

if (url === undefined || url === '') {
  test('postgres store: the store contract', { skip: 'no PostgreSQL: set QUEUECTL_TEST_POSTGRES=postgres://… (.ci/run starts one)' }, () => undefined);
} else {
  storeContract('postgres', async (t) => {
    const schema = `queuectl_test_${randomBytes(6).toString('hex')}`;
    const stores: PgStore[] = [];
    const open = () => {
      const store = new PgStore({ url, schema });
      stores.push(store);
      return store;
    };
    t.after(async () => {
      await Promise.all(stores.map((store) => store.close()));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    });
    return { store: open(), reopen: open, copy: () => open().queueCopy() };
  });
}
