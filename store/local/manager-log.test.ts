import assert from 'node:assert/strict';
import { appendFileSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rotateManagerLog } from './manager-log.js';

test('past its limit the log is copied to .1 and emptied in place, and a writer that appends goes on at its start', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-mlog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'manager.log');
  const fd = openSync(log, 'a'); // as `worker start --detach` opens it for the manager and its workers
  t.after(() => closeSync(fd));
  writeSync(fd, 'x'.repeat(100));
  assert.equal(rotateManagerLog(log, 100), false, 'not past the limit');
  writeSync(fd, 'first\n');
  assert.equal(rotateManagerLog(log, 100), true);
  assert.equal(readFileSync(`${log}.1`, 'utf8'), `${'x'.repeat(100)}first\n`);
  writeSync(fd, 'after\n');
  assert.equal(readFileSync(log, 'utf8'), 'after\n', 'no hole of NULs where the old content was');
  appendFileSync(log, 'more\n');
  writeSync(fd, 'y'.repeat(200));
  rotateManagerLog(log, 100);
  assert.match(readFileSync(`${log}.1`, 'utf8'), /^after\nmore\ny+$/, 'the older copy is replaced');
});
