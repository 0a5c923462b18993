import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QueuectlError } from '../core/rules/errors.js';
import { parseCopyEnd, sameEnd, showStoreText, whichStore } from './store-choice.js';

const saved = (text: string) => () => ({ text, file: '/data/config.json' });
const none = () => undefined;
const badInput = (pattern: RegExp) => (error: unknown) => error instanceof QueuectlError && error.exitCode === 2 && pattern.test(error.message);

test('the store: --store, else QUEUECTL_STORE, else the data dir\'s config.json, else the files; each says where it came from', () => {
  const env = { QUEUECTL_STORE: 'postgres://env/db' };
  assert.deepEqual(whichStore('postgres://flag/db', env, saved('postgres://saved/db')).from, '--store');
  assert.equal(whichStore(undefined, env, saved('postgres://saved/db')).from, 'QUEUECTL_STORE');
  const fromFile = whichStore(undefined, {}, saved('postgres://saved/db?schema=nightly'));
  assert.deepEqual(fromFile, { choice: { kind: 'postgres', url: 'postgres://saved/db', schema: 'nightly' }, text: 'postgres://saved/db?schema=nightly', from: 'config.json' });
  assert.deepEqual(whichStore(undefined, { QUEUECTL_STORE: '' }, none), { choice: { kind: 'file' }, text: 'file', from: 'default' });
  assert.deepEqual(whichStore(undefined, {}, saved('file')).choice, { kind: 'file' });
});

test('config.json is not read when a flag or the environment chooses', () => {
  const unread = () => {
    throw new Error('read');
  };
  assert.equal(whichStore('file', {}, unread).from, '--store');
  assert.equal(whichStore(undefined, { QUEUECTL_STORE: 'file' }, unread).from, 'QUEUECTL_STORE');
});

test('a broken choice in config.json is a broken file (exit 1) that names it and says how to fix it', () => {
  assert.throws(
    () => whichStore(undefined, {}, saved('mysql://x')),
    (error: unknown) =>
      error instanceof QueuectlError && error.exitCode === 1 && /^"store" in \/data\/config\.json must be file or a postgres:\/\/ URL, got "mysql:\/\/x"; fix it or run queuectl config set store/.test(error.message),
  );
});

test('a password is masked where the store is shown', () => {
  assert.equal(showStoreText('postgres://queue:s3cret@db:5432/jobs?schema=x'), 'postgres://queue:***@db:5432/jobs?schema=x');
  assert.equal(showStoreText('postgres://queue@db/jobs'), 'postgres://queue@db/jobs');
  assert.equal(showStoreText('file'), 'file');
});

test('an end of store copy is a postgres:// URL or a data directory; anything else is bad input', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-ends-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a-file'), '');
  assert.deepEqual(parseCopyEnd('postgres://db/jobs?schema=q2', '--to'), { kind: 'postgres', url: 'postgres://db/jobs', schema: 'q2' });
  assert.deepEqual(parseCopyEnd(join(dir, 'new'), '--to'), { kind: 'file', dir: join(dir, 'new') });
  assert.throws(() => parseCopyEnd(undefined, '--from'), badInput(/^store copy needs --from/));
  assert.throws(() => parseCopyEnd('', '--to'), badInput(/^--to is empty/));
  assert.throws(() => parseCopyEnd('mysql://db/jobs', '--to'), badInput(/^--to must be a data directory or a postgres:\/\/ URL, got "mysql:\/\/db\/jobs"/));
  assert.throws(() => parseCopyEnd('postgres://db/jobs?schema=Bad-Name', '--to'), badInput(/schema must be lower-case/));
  // PostgreSQL keeps pg_ names for its own schemas (pg_catalog, pg_temp…): bad input, not a failure of the server.
  assert.throws(() => parseCopyEnd('postgres://db/jobs?schema=pg_catalog', '--to'), badInput(/schema must not begin with pg_, which PostgreSQL keeps for its own schemas, got "pg_catalog"/));
  // Two schemas named: which one was meant is not for queuectl to guess (it took the first).
  assert.throws(() => parseCopyEnd('postgres://db/jobs?schema=nightly&schema=daily', '--to'), badInput(/--to: schema is given more than once \("nightly", "daily"\): give one/));
  assert.throws(() => parseCopyEnd(join(dir, 'a-file'), '--from'), badInput(/is a file, not a data directory/));
  assert.throws(() => parseCopyEnd(join(dir, 'a-file', 'below'), '--to'), badInput(/is not a data directory \(ENOTDIR\)/));
});

test('two ends are one store when they name one directory, or one database and schema', () => {
  assert.equal(sameEnd({ kind: 'file', dir: '/a' }, { kind: 'file', dir: '/a' }), true);
  assert.equal(sameEnd({ kind: 'file', dir: '/a' }, { kind: 'file', dir: '/b' }), false);
  const a = parseCopyEnd('postgres://db/jobs', '--from');
  assert.equal(sameEnd(a, parseCopyEnd('postgres://db/jobs?schema=queuectl', '--to')), true, 'the default schema named or not');
  assert.equal(sameEnd(a, parseCopyEnd('postgres://db/jobs?schema=other', '--to')), false);
  assert.equal(sameEnd(a, { kind: 'file', dir: '/a' }), false);
});
