/**
 * Values written into SQL as literals come back from the server exactly as they went in,
 * whatever they hold; against the server QUEUECTL_TEST_POSTGRES names (skipped without one).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { integer, jsonb, text, textArray, textArrayOrNull } from './sql.js';

const url = process.env.QUEUECTL_TEST_POSTGRES;

const awkward = [
  '',
  "it's",
  "''",
  'back\\slash',
  "\\'; DROP TABLE jobs; --",
  '$$ dollar $$',
  'line\nbreak\ttab',
  'E\'x\'',
  'ünïcödé ✓ 😀',
];

test('integer: whole numbers only', () => {
  assert.equal(integer(42), '42');
  assert.equal(integer(-3), '-3');
  assert.throws(() => integer(1.5), RangeError);
  assert.throws(() => integer(Number.NaN), RangeError);
  assert.throws(() => integer(2 ** 60), RangeError);
});

test('text and arrays: NULL where there is no value', () => {
  assert.equal(text(null), 'NULL');
  assert.equal(text(undefined), 'NULL');
  assert.equal(textArrayOrNull(null), 'NULL::text[]');
  assert.equal(textArray([]), `'{}'::text[]`);
});

if (url === undefined || url === '') {
  test('sql literals on a real server', { skip: 'no PostgreSQL: set QUEUECTL_TEST_POSTGRES=postgres://… (.ci/run starts one)' }, () => undefined);
} else {
  test('sql literals on a real server: text, text[] and jsonb come back exactly', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const value of awkward) {
        const [row] = (await client.query(`SELECT ${text(value)} AS v, ${jsonb({ value })} AS j`)).rows;
        assert.equal(row.v, value);
        assert.deepEqual(row.j, { value });
      }
      const [row] = (await client.query(`SELECT ${textArray(awkward)} AS a, ${textArrayOrNull(null)} AS n`)).rows;
      assert.deepEqual(row.a, awkward);
      assert.equal(row.n, null);
      // Several statements in one go, as a batch sends them: each literal ends where it should.
      const results = (await client.query(`SELECT ${text("a'b")} AS v; SELECT ${text('c\\d')} AS v`)) as unknown as pg.QueryResult[];
      assert.deepEqual(results.map((result) => result.rows[0].v), ["a'b", 'c\\d']);
    } finally {
      await client.end();
    }
  });
}
