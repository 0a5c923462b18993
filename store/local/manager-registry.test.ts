import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ManagerRecord } from '../../core/ports/host.js';
import { processIdentity } from '../../core/os/process-identity.js';
import { ManagerFiles } from './manager-registry.js';

test('a manager record renewed unchanged is not written again (each write waits for the disk); a changed one is, and a removed one is written anew', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = new ManagerFiles(join(dir, 'managers'));
  const record: ManagerRecord = { ...processIdentity(process.pid), started_at: new Date().toISOString(), count: 1, queues: null, workers: [] };
  // Every write replaces the file by a rename: a new inode each time.
  const inode = () => statSync(files.recordPath(process.pid)).ino;
  await files.write(record);
  const first = inode();
  await files.write({ ...record });
  assert.equal(inode(), first, 'the same record again: not rewritten');
  await files.write({ ...record, count: 2 });
  const changed = inode();
  assert.notEqual(changed, first, 'a changed record is written');
  assert.equal((await files.live())[0]?.count, 2);
  await files.remove(process.pid);
  await files.write({ ...record, count: 2 });
  assert.equal((await files.live())[0]?.count, 2, 'written anew after its removal');
});
