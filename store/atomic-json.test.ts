import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { writeFileDurably } from './atomic-json.js';

function directory(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-atomic-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a write creates or replaces the file and leaves no temp file behind', (t) => {
  const dir = directory(t);
  const path = join(dir, 'queue.json');
  writeFileDurably(path, 'first\n');
  writeFileDurably(path, Buffer.from('second\n'));
  assert.equal(readFileSync(path, 'utf8'), 'second\n');
  assert.deepEqual(readdirSync(dir), ['queue.json']);
});

test('the replaced file keeps its mode', (t) => {
  const path = join(directory(t), 'queue.json');
  writeFileSync(path, 'old\n');
  chmodSync(path, 0o600);
  writeFileDurably(path, 'new\n');
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('beforeRename runs once the temp file holds the whole new text, before the target changes', (t) => {
  const dir = directory(t);
  const path = join(dir, 'queue.json');
  writeFileSync(path, 'old\n');
  let seen: { temp: string; target: string } | undefined;
  writeFileDurably(path, 'new\n', {
    beforeRename: () => {
      const temps = readdirSync(dir).filter((name) => /^queue\.json\.\d+$/.test(name));
      assert.equal(temps.length, 1);
      seen = { temp: readFileSync(join(dir, temps[0]!), 'utf8'), target: readFileSync(path, 'utf8') };
    },
  });
  assert.deepEqual(seen, { temp: 'new\n', target: 'old\n' });
  assert.equal(readFileSync(path, 'utf8'), 'new\n');
});

test('when beforeRename throws (the lock was lost), the target is untouched and the temp file is gone', (t) => {
  const dir = directory(t);
  const path = join(dir, 'queue.json');
  writeFileSync(path, 'newer, written by the process that took the lock over\n');
  const lost = new Error('lost the lock');
  assert.throws(
    () =>
      writeFileDurably(path, 'stale\n', {
        beforeRename: () => {
          throw lost;
        },
      }),
    (error) => error === lost,
  );
  assert.equal(readFileSync(path, 'utf8'), 'newer, written by the process that took the lock over\n');
  assert.deepEqual(readdirSync(dir), ['queue.json']);
});
