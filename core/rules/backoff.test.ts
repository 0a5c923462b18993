import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextRunAt, reconnectDelayMs, retryDelaySeconds } from './backoff.js';

test('the n-th failed run waits base ^ n seconds', () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelaySeconds(n, 2, 3600)), [2, 4, 8, 16]);
  assert.deepEqual([1, 2, 3].map((n) => retryDelaySeconds(n, 3, 3600)), [3, 9, 27]);
});

test('the wait is capped at max_backoff', () => {
  assert.equal(retryDelaySeconds(12, 2, 3600), 3600);
  assert.equal(retryDelaySeconds(5, 2, 10), 10);
  assert.equal(retryDelaySeconds(1, 2, 0), 0);
});

test('a base of 1 retries after a constant second, and a fractional base grows slowly', () => {
  assert.equal(retryDelaySeconds(7, 1, 3600), 1);
  assert.equal(retryDelaySeconds(2, 1.5, 3600), 2.25);
});

test('a huge exponent does not overflow past the cap', () => {
  assert.equal(retryDelaySeconds(10_000, 2, 3600), 3600);
});

test('the next run is now plus the delay', () => {
  const now = new Date('2026-11-23T10:00:00.000Z');
  assert.equal(nextRunAt(now, 3, 2, 3600), '2026-11-23T10:00:08.000Z');
  assert.equal(nextRunAt(now, 2, 1.5, 3600), '2026-11-23T10:00:02.250Z');
});

test('queuectl tries again what failed after 1 s, doubling with each failure in a row, up to 10 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 1000].map(reconnectDelayMs), [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
});
