import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CONTEXT = fileURLToPath(new URL('./context.js', import.meta.url));
const CHOICE = fileURLToPath(new URL('./store-choice.js', import.meta.url));

/** Which of node-postgres's files a fresh process has loaded once `probe` (module code) ran. */
function pgLoadedAfter(probe: string): string[] {
  const script = `${probe}
    const { createRequire } = await import('node:module');
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache).filter((file) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(file))));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

// A worker sends the ends of its short runs with their outcomes through its manager, and so
// needs no connection of its own: node-postgres would add about 40 ms of CPU to each worker's
// start, four times over in a drain of 1,000 jobs on 2 managers × 2 workers.
test('a worker on PostgreSQL starts without loading node-postgres', () => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-worker-side-'));
  try {
    const loaded = pgLoadedAfter(`
      const { openWorkerSide } = await import(${JSON.stringify(CONTEXT)});
      const { parseStoreChoice } = await import(${JSON.stringify(CHOICE)});
      await openWorkerSide(${JSON.stringify(dir)}, parseStoreChoice('postgres://nobody@127.0.0.1:1/none', 'QUEUECTL_STORE'));`);
    assert.deepEqual(loaded, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A probe to preload with --import: reports, as the command exits, how many of pg's files (its own, or its bundle's) the process loaded. */
const PG_FILES_REPORT = `data:text/javascript,${encodeURIComponent(`import { createRequire } from 'node:module';
  const cache = createRequire('/').cache;
  process.on('exit', () => process.stderr.write('pg files: ' + Object.keys(cache).filter((file) => file.includes('/node_modules/pg/') || file.endsWith('/bundle/pg.bundle.js')).length + '\\n'));`)}`;
/** The CLI as compiled, and as installed (its bundle, which holds pg's code in a bundle of its own). */
const CLIS = [fileURLToPath(new URL('./index.js', import.meta.url)), fileURLToPath(new URL('../bundle/queuectl.js', import.meta.url))];

// The issue's promise for the default store: PostgreSQL support makes its commands load nothing new.
test('commands on the file store load no node-postgres', () => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-file-commands-'));
  try {
    for (const cli of CLIS) {
      for (const args of [['enqueue', '--', 'true'], ['status'], ['list'], ['show', '--json', 'nosuch'], ['worker', 'stop']]) {
        const result = spawnSync(process.execPath, ['--import', PG_FILES_REPORT, cli, '--data-dir', dir, ...args], { encoding: 'utf8' });
        assert.match(result.stderr, /pg files: 0\n/, `${cli} ${args.join(' ')}: ${result.stderr}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the report sees node-postgres where a command uses a PostgreSQL store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-pg-commands-'));
  try {
    for (const cli of CLIS) {
      // Nothing listens on port 1: the command loads pg, fails to connect, and says so.
      const result = spawnSync(process.execPath, ['--import', PG_FILES_REPORT, cli, '--data-dir', dir, '--store', 'postgres://nobody@127.0.0.1:1/none', 'status'], { encoding: 'utf8' });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /pg files: [1-9]\d*\n/, `${cli}: ${result.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the probe sees node-postgres once it is loaded', () => {
  assert.notDeepEqual(pgLoadedAfter(`await import(${JSON.stringify(fileURLToPath(new URL('../store/postgres/pg.js', import.meta.url)))});`), []);
});
