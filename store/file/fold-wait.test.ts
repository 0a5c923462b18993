import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUSY_CHECKPOINT_MS, foldWait } from './file-store.js';

test('a quiet queue is folded into queue.json at once at rest, and at most every BUSY_CHECKPOINT_MS while jobs are processing', () => {
  const last = 1_000_000;
  assert.equal(foldWait(false, last, last + 1), 0, 'nothing runs: now');
  assert.equal(foldWait(true, last, last + 1_000), BUSY_CHECKPOINT_MS - 1_000, 'lease renewals keep coming: later');
  assert.equal(foldWait(true, last, last + BUSY_CHECKPOINT_MS + 5), 0);
});
