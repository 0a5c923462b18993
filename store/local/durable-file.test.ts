import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { QueuectlError } from '../../core/rules/errors.js';
import { writeFileDurably } from './durable-file.js';

function directory(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-atomic-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a write creates or replaces the file and leaves no temp file behind', (t) => {
  const dir = directory(t);
  const path = join(dir, 'jobs.json');
  writeFileDurably(path, 'first\n');
  writeFileDurably(path, Buffer.from('second\n'));
  assert.equal(readFileSync(path, 'utf8'), 'second\n');
  assert.deepEqual(readdirSync(dir), ['jobs.json']);
});

test('the replaced file keeps its permission bits, but never setuid or setgid', (t) => {
  const path = join(directory(t), 'jobs.json');
  writeFileSync(path, 'old\n');
  chmodSync(path, 0o600);
  writeFileDurably(path, 'new\n');
  assert.equal(statSync(path).mode & 0o7777, 0o600);
  chmodSync(path, 0o4750);
  writeFileDurably(path, 'newer\n');
  assert.equal(statSync(path).mode & 0o7777, 0o750);
});

test('a symlinked data file is written through: the file it points to changes, the link stays', (t) => {
  const dir = directory(t);
  const real = join(dir, 'dotfiles-config.json');
  const link = join(dir, 'config.json');
  writeFileSync(real, '{}\n');
  symlinkSync(real, link);
  writeFileDurably(link, '{"max_retries":5}\n');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(real, 'utf8'), '{"max_retries":5}\n');
  // A link to a file that does not exist yet creates that file.
  const dangling = join(dir, 'dead.json');
  symlinkSync('elsewhere-dead.json', dangling);
  writeFileDurably(dangling, '[]\n');
  assert.ok(lstatSync(dangling).isSymbolicLink());
  assert.equal(readFileSync(join(dir, 'elsewhere-dead.json'), 'utf8'), '[]\n');
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'dead.json', 'dotfiles-config.json', 'elsewhere-dead.json']);
});

test('it returns the stat of the file it wrote', (t) => {
  const path = join(directory(t), 'jobs.json');
  const written = writeFileDurably(path, 'twelve bytes');
  const now = statSync(path, { bigint: true });
  assert.equal(written.ino, now.ino);
  assert.equal(written.size, 12n);
  assert.equal(written.mtimeNs, now.mtimeNs);
  assert.equal(written.ctimeNs, now.ctimeNs, 'taken after the rename, which changes ctime');
});

test('a failure of the file system is one line naming the file, and leaves nothing behind', (t) => {
  const dir = directory(t);
  const path = join(dir, 'missing', 'jobs.json');
  assert.throws(
    () => writeFileDurably(path, 'x'),
    (error: unknown) =>
      error instanceof QueuectlError && error.message === `could not write ${path}: ENOENT (open): no such file or directory` && !error.message.includes('\n'),
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('beforeRename runs once the temp file holds the whole new text, before the target changes', (t) => {
  const dir = directory(t);
  const path = join(dir, 'jobs.json');
  writeFileSync(path, 'old\n');
  let seen: { temp: string; target: string } | undefined;
  writeFileDurably(path, 'new\n', {
    beforeRename: () => {
      const temps = readdirSync(dir).filter((name) => /^jobs\.json\.\d+$/.test(name));
      assert.equal(temps.length, 1);
      seen = { temp: readFileSync(join(dir, temps[0]!), 'utf8'), target: readFileSync(path, 'utf8') };
    },
  });
  assert.deepEqual(seen, { temp: 'new\n', target: 'old\n' });
  assert.equal(readFileSync(path, 'utf8'), 'new\n');
});

test('when beforeRename throws (the lock was lost), the target is untouched and the temp file is gone', (t) => {
  const dir = directory(t);
  const path = join(dir, 'jobs.json');
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
  assert.deepEqual(readdirSync(dir), ['jobs.json']);
});
