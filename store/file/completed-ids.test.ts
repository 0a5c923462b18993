import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { findCompletedIds, recordCompletedIds } from './completed-ids.js';
import { dataPaths } from './paths.js';

function paths(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-completed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dataPaths(dir);
}

test('recorded ids are found, whole ids only, and nothing is found in no record', (t) => {
  const p = paths(t);
  assert.deepEqual(findCompletedIds(p, new Set(['a'])), new Set());
  recordCompletedIds(p, ['job-1', 'b']);
  recordCompletedIds(p, []);
  recordCompletedIds(p, ['c']);
  assert.equal(readFileSync(p.completedIds, 'utf8'), 'job-1\nb\nc\n');
  assert.deepEqual(findCompletedIds(p, new Set(['job-1', 'b', 'c', 'job', 'ob-1', 'x'])), new Set(['job-1', 'b', 'c']));
});

test('past its bound the record moves to .1, which is still searched, and the one before goes', (t) => {
  const p = paths(t);
  recordCompletedIds(p, ['old-1', 'old-2'], 10);
  recordCompletedIds(p, ['mid'], 10); // 12 bytes > 10: old ones move to .1 first
  assert.equal(readFileSync(`${p.completedIds}.1`, 'utf8'), 'old-1\nold-2\n');
  assert.deepEqual(findCompletedIds(p, new Set(['old-1', 'mid'])), new Set(['old-1', 'mid']));
  recordCompletedIds(p, ['x'.repeat(20)], 10);
  recordCompletedIds(p, ['new'], 10);
  assert.deepEqual(findCompletedIds(p, new Set(['old-1', 'mid', 'new'])), new Set(['mid', 'new']), 'old-1 is forgotten after two rotations');
  assert.ok(existsSync(p.completedIds));
});
