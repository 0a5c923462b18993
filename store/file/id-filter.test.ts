import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idFilter, idTest } from './id-filter.js';

test('the id filter never turns down an id it holds, and passes about one in a hundred it does not', () => {
  const held = Array.from({ length: 10_000 }, (_, i) => `job-${i.toString(16).padStart(8, '0')}`);
  const mayHold = idTest(JSON.parse(JSON.stringify(idFilter(held, held.length))))!;
  for (const id of held) assert.ok(mayHold(id), id);
  let passed = 0;
  for (let i = 0; i < 10_000; i++) if (mayHold(`other-${i}`)) passed++;
  assert.ok(passed < 300, `${passed} of 10,000 ids not held passed`);
});

test('what is not a filter gives no test: every id is looked up', () => {
  for (const value of [undefined, null, {}, { bits: '', hashes: 7 }, { bits: 'AAAA', hashes: 0 }, { bits: 3, hashes: 7 }]) assert.equal(idTest(value), null, JSON.stringify(value));
  assert.ok(idTest(idFilter([], 0))!('a') === false, 'an empty queue holds no id');
});
