import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration } from './output.js';

test('durations read in the largest units that fit', () => {
  assert.equal(formatDuration(0), '0 ms');
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(1_234), '1.23 s');
  assert.equal(formatDuration(12_345), '12.3 s');
  assert.equal(formatDuration(185_000), '3m 05s');
  assert.equal(formatDuration(3_599_400), '59m 59s');
  assert.equal(formatDuration(7_380_000), '2h 03m');
  assert.equal(formatDuration(5 * 86_400_000 + 6 * 3_600_000), '5d 06h');
});
