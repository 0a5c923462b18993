import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileCacheDirectory, compileCacheFile, STALE_CACHE_MS } from './compile-cache.js';

const MODULE = fileURLToPath(new URL('./compile-cache.js', import.meta.url));
const uid = process.getuid!();

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-compile-cache-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the cache directory is made for this user alone, and used only while it stays so', (t) => {
  const base = tempDir(t);
  const dir = compileCacheDirectory(base, uid, {});
  assert.equal(dir, join(base, `queuectl-compile-cache-${uid}`));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(compileCacheDirectory(base, uid, {}), dir, 'found again');
  chmodSync(dir, 0o755);
  assert.equal(compileCacheDirectory(base, uid, {}), undefined, 'others may read or write it');
});

test('a cache directory that is a link, or a file, is not used', (t) => {
  const base = tempDir(t);
  const elsewhere = join(base, 'elsewhere');
  mkdirSync(elsewhere, { mode: 0o700 });
  symlinkSync(elsewhere, join(base, `queuectl-compile-cache-${uid}`));
  assert.equal(compileCacheDirectory(base, uid, {}), undefined);
  const other = join(base, 'other');
  mkdirSync(other);
  writeFileSync(join(other, `queuectl-compile-cache-${uid}`), '');
  assert.equal(compileCacheDirectory(other, uid, {}), undefined);
});

test('NODE_DISABLE_COMPILE_CACHE, or no user id, means no cache, and nothing is made', (t) => {
  const base = tempDir(t);
  assert.equal(compileCacheDirectory(base, uid, { NODE_DISABLE_COMPILE_CACHE: '1' }), undefined);
  assert.equal(compileCacheDirectory(base, null, {}), undefined);
  assert.deepEqual(readdirSync(base), []);
});

test('a rebuilt bundle has another cache file, even at the same length', (t) => {
  const dir = tempDir(t);
  const bundle = join(dir, 'x.bundle.js');
  writeFileSync(bundle, 'module.exports = 1;');
  const first = compileCacheFile(dir, bundle, 'enqueue');
  assert.notEqual(compileCacheFile(dir, bundle, 'status'), first, 'one per command');
  rmSync(bundle);
  writeFileSync(bundle, 'module.exports = 2;');
  assert.notEqual(compileCacheFile(dir, bundle, 'enqueue'), first);
});

/** A bundle of `text` in a temporary directory that is also the TMPDIR of its runs (runInChild), and where its cache of key `k` lies. */
function bundleOf(t: TestContext, text: string): { base: string; bundle: string; cache: () => string } {
  const base = tempDir(t);
  const bundle = join(base, 'x.bundle.js');
  writeFileSync(bundle, text);
  return { base, bundle, cache: () => compileCacheFile(join(base, `queuectl-compile-cache-${uid}`), bundle, 'k') };
}

/** Runs `bundle` through runBundle in a fresh process whose temporary directory is `base`; returns its stdout. */
function runInChild(base: string, bundle: string, env: NodeJS.ProcessEnv = {}): string {
  const script = `const { runBundle } = await import(${JSON.stringify(MODULE)}); runBundle(${JSON.stringify(bundle)}, 'k');`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, TMPDIR: base, ...env } });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

test('a bundle runs as a CommonJS module, writes its cache as it exits, and then reads it without writing again', (t) => {
  const base = tempDir(t);
  const bundle = join(base, 'x.bundle.js');
  writeFileSync(bundle, `"use strict";\nconst { sep } = require('node:path');\nfunction twice(x) { return 2 * x; }\nconsole.log(twice(21), typeof module.exports, __filename === ${JSON.stringify(bundle)}, sep);\n`);
  assert.equal(runInChild(base, bundle), '42 object true /\n');
  const cache = compileCacheFile(join(base, `queuectl-compile-cache-${uid}`), bundle, 'k');
  const written = statSync(cache);
  assert.ok(written.size > 0);
  assert.equal(runInChild(base, bundle), '42 object true /\n');
  assert.equal(statSync(cache).ino, written.ino, 'a cache V8 took is left as it is');
});

test('a cache V8 refuses (damaged) is replaced by a good one, and the bundle runs all the same', (t) => {
  const { base, bundle, cache: cacheOf } = bundleOf(t, 'console.log("ran");\n');
  assert.equal(runInChild(base, bundle), 'ran\n');
  const cache = cacheOf();
  writeFileSync(cache, 'not a code cache');
  const damaged = statSync(cache);
  assert.equal(runInChild(base, bundle), 'ran\n');
  const replaced = statSync(cache);
  assert.notEqual(replaced.ino, damaged.ino);
  assert.equal(runInChild(base, bundle), 'ran\n');
  assert.equal(statSync(cache).ino, replaced.ino, 'the new one is taken');
});

test('with NODE_DISABLE_COMPILE_CACHE the bundle runs and no cache is written', (t) => {
  const { base, bundle } = bundleOf(t, 'console.log("ran");\n');
  assert.equal(runInChild(base, bundle, { NODE_DISABLE_COMPILE_CACHE: '1' }), 'ran\n');
  assert.deepEqual(readdirSync(base), ['x.bundle.js']);
});

test('a module another bundle holds is run once, from that bundle, when first required', (t) => {
  const base = tempDir(t);
  const main = join(base, 'main.bundle.js');
  const other = join(base, 'other.bundle.js');
  writeFileSync(other, 'console.log("other ran"); module.exports = { n: 7 };\n');
  writeFileSync(main, 'console.log("main ran"); console.log(require("other").n + require("other").n);\n');
  const script = `const { runBundle } = await import(${JSON.stringify(MODULE)}); runBundle(${JSON.stringify(main)}, 'k', { other: { file: ${JSON.stringify(other)}, key: 'o' } });`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, TMPDIR: base } });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'main ran\nother ran\n14\n');
});

test('writing a cache removes those of other builds of the bundle older than an hour, and no other file', (t) => {
  const base = tempDir(t);
  const dir = join(base, `queuectl-compile-cache-${uid}`);
  mkdirSync(dir, { mode: 0o700 });
  const bundle = join(base, 'x.bundle.js');
  writeFileSync(bundle, 'console.log("ran");\n');
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);
  const put = (name: string, age: number) => {
    writeFileSync(join(dir, name), 'old');
    utimesSync(join(dir, name), hoursAgo(age), hoursAgo(age));
  };
  put('x.bundle.js.k.v20.0.0-x64.1-2-3.cache', 2); // another build, stale
  put('x.bundle.js.k.v20.0.0-x64.1-2-3.cache.99.tmp', 2); // a writer that died
  put('x.bundle.js.k.v20.0.0-x64.4-5-6.cache', 0.5); // another build, run within the hour (a second install)
  put('y.bundle.js.k.v20.0.0-x64.1-2-3.cache', 2); // another bundle's
  put('notes.txt', 2);
  const current = compileCacheFile(dir, bundle, 'other-key');
  put(current.slice(dir.length + 1), 2); // this build's, of another command
  assert.equal(runInChild(base, bundle), 'ran\n');
  assert.deepEqual(readdirSync(dir).sort(), [
    'notes.txt',
    'x.bundle.js.k.v20.0.0-x64.4-5-6.cache',
    current.slice(dir.length + 1),
    compileCacheFile(dir, bundle, 'k').slice(dir.length + 1),
    'y.bundle.js.k.v20.0.0-x64.1-2-3.cache',
  ].sort());
});

test('a bundle rewritten in place at the same length and time has another cache file (npm gives every file one time)', (t) => {
  const dir = tempDir(t);
  const bundle = join(dir, 'x.bundle.js');
  writeFileSync(bundle, 'console.log("queuectl");\n');
  const time = new Date('1985-10-26T08:15:00Z');
  utimesSync(bundle, time, time);
  const before = compileCacheFile(dir, bundle, 'k');
  const inode = statSync(bundle).ino;
  writeFileSync(bundle, 'console.log("QUEUECTL");\n');
  utimesSync(bundle, time, time);
  assert.equal(statSync(bundle).ino, inode);
  assert.notEqual(compileCacheFile(dir, bundle, 'k'), before);
});

test('a cache damaged on disk (bits flipped, which V8 does not check) is not run: the bundle runs compiled afresh, and the cache is written again', (t) => {
  const { base, bundle, cache: cacheOf } = bundleOf(t, `function f(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }\n${'function g() { return f(10); }\n'.repeat(200)}console.log(f(4));\n`);
  assert.equal(runInChild(base, bundle), '6\n');
  const cache = cacheOf();
  const good = readFileSync(cache);
  const damaged = Buffer.from(good);
  for (let i = 40; i < damaged.length; i += 97) damaged[i] = damaged[i]! ^ 0xaa;
  writeFileSync(cache, damaged);
  assert.equal(runInChild(base, bundle), '6\n');
  assert.notDeepEqual(readFileSync(cache), damaged, 'written again as the run ended');
  const rewritten = statSync(cache).ino;
  assert.equal(runInChild(base, bundle), '6\n');
  assert.equal(statSync(cache).ino, rewritten, 'and taken by the next run');
});

test('a cache in use keeps a recent time, so that pruning spares it however long ago it was written', (t) => {
  const { base, bundle, cache: cacheOf } = bundleOf(t, 'console.log("ran");\n');
  assert.equal(runInChild(base, bundle), 'ran\n');
  const cache = cacheOf();
  const longAgo = new Date(Date.now() - 2 * STALE_CACHE_MS);
  utimesSync(cache, longAgo, longAgo);
  assert.equal(runInChild(base, bundle), 'ran\n');
  assert.ok(Date.now() - statSync(cache).mtimeMs < STALE_CACHE_MS);
});
