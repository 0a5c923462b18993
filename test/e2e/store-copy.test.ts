/**
 * `queuectl store copy` and `queuectl config set store`, end to end: the real CLI and real
 * worker managers, between data directories and PostgreSQL queues. The tests with PostgreSQL
 * use a schema of their own in the database QUEUECTL_TEST_POSTGRES names, dropped after, and
 * are skipped with the reason where it is not set.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, createReadStream, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import type { CopySummary } from '../../core/rules/copy.js';
import type { Job } from '../../core/rules/job.js';
import { finished, MINUTE, writeJobs, writeLog } from '../crafted-jobs.js';
import { describeRun, rejected, runCli, snapshotDir, startManager, tempDataDir, tempDir, waitFor, type CliResult } from '../helpers.js';
import { needsPostgres as needsPostgresOnly, testSchema, url } from './postgres-hosts.js';

const needsPostgres = { ...needsPostgresOnly, timeout: 90_000 };

/** A queue of its own in the test database, dropped when the test ends: its URL. */
function pgQueue(t: TestContext): string {
  return `${url}${url.includes('?') ? '&' : '?'}schema=${testSchema(t, 'queuectl_copy')}`;
}

/** The CLI on one data dir (and, with `store`, on that store through QUEUECTL_STORE). */
function on(data: string, store?: string) {
  const env = store === undefined ? {} : { QUEUECTL_STORE: store };
  const run = (args: readonly string[]) => runCli(data, args, { env });
  const ok = async (args: readonly string[]): Promise<CliResult> => {
    const result = await run(args);
    assert.equal(result.code, 0, describeRun(args, result));
    return result;
  };
  const json = async <T>(args: readonly string[]) => JSON.parse((await ok([...args, '--json'])).stdout) as T;
  const jobs = async () => new Map((await json<Job[]>(['list'])).map((job) => [job.id, job]));
  const states = async () => Object.fromEntries([...(await jobs())].map(([id, job]) => [id, job.state]));
  return { data, run, ok, json, jobs, states, manager: (t: TestContext, count = 1) => startManager(t, data, count, env) };
}

/** `store copy` from `from` to `to`, run on `data` (whose own store plays no part). */
function copy(data: string, from: string, to: string, json = false): Promise<CliResult> {
  return runCli(data, ['store', 'copy', '--from', from, '--to', to, ...(json ? ['--json'] : [])]);
}

/** Until every job named is in the state given. */
async function settle(queue: ReturnType<typeof on>, wanted: Record<string, string>, what: string): Promise<void> {
  await waitFor(
    async () => {
      const states = await queue.states();
      return Object.entries(wanted).every(([id, state]) => states[id] === state);
    },
    { timeoutMs: 30_000, what },
  );
}

/**
 * A data dir with a finished history: `done` completed and `bad` dead, each with a log, run by a
 * manager that is stopped again; then `later` (after `done`, printing a variable of its enqueue's
 * environment) and `plain` pending, and `max_retries` set.
 */
async function historyIn(t: TestContext, queue: ReturnType<typeof on>): Promise<void> {
  await queue.ok(['enqueue', '--id', 'done', '--', 'echo', 'output of done']);
  await queue.ok(['enqueue', '--id', 'bad', '--max-retries', '0', '--', 'sh', '-c', 'echo output of bad; exit 3']);
  const manager = queue.manager(t);
  await settle(queue, { done: 'completed', bad: 'dead' }, 'done to complete and bad to die');
  await queue.ok(['worker', 'stop']);
  await manager.exited;
  const later = await runCli(queue.data, ['enqueue', '--id', 'later', '--after', 'done', '--', 'sh', '-c', 'echo "greeting: $GREETING"'], {
    env: { GREETING: 'carried along' },
  });
  assert.equal(later.code, 0, describeRun(['enqueue', 'later'], later));
  await queue.ok(['enqueue', '--id', 'plain', '--', 'echo', 'plain']);
  await queue.ok(['config', 'set', 'max_retries', '1']);
}

test('file → PostgreSQL: every job, the DLQ, the settings, logs and environments; a worker there drains the copy, and logs reads it', needsPostgres, async (t) => {
  const source = on(tempDataDir(t));
  await historyIn(t, source);
  const before = snapshotDir(source.data);
  const target = pgQueue(t);
  const result = await copy(tempDataDir(t), source.data, target, true);
  assert.equal(result.code, 0, describeRun(['store', 'copy'], result));
  const summary = JSON.parse(result.stdout) as CopySummary;
  assert.deepEqual(
    { jobs: summary.jobs, dlq: summary.dlq, settings: summary.settings, logs: summary.logs, envs: summary.envs },
    { jobs: 3, dlq: 1, settings: 2, logs: 2, envs: 2 },
    "done, later and plain; bad; poll_interval and max_retries; the logs of done and bad; the environments of the enqueues (later's has GREETING)",
  );
  assert.match(summary.to, /^postgres:\/\/127\.0\.0\.1:\d+\/\w+ \(schema queuectl_copy_\w+\)$/);
  assert.deepEqual(snapshotDir(source.data), before, 'the source is as it was');

  const there = on(tempDataDir(t), target);
  assert.deepEqual(await there.states(), { done: 'completed', bad: 'dead', later: 'pending', plain: 'pending' });
  assert.deepEqual((await there.json<Job[]>(['dlq', 'list'])).map((job) => [job.id, job.exit_code]), [['bad', 3]]);
  assert.equal((await there.ok(['config', 'get', 'max_retries'])).stdout, '1\n');
  assert.match((await there.ok(['logs', 'done'])).stdout, /^--- queuectl: run 1 of 4 started [^\n]*\noutput of done\n--- queuectl: run 1 of 4 exited with code 0/);
  assert.match((await there.ok(['logs', 'bad'])).stdout, /^output of bad$/m);

  there.manager(t, 2);
  await settle(there, { later: 'completed', plain: 'completed' }, 'the copied jobs to run in the target');
  assert.match((await there.ok(['logs', 'later'])).stdout, /^greeting: carried along$/m, 'it ran in the environment of its enqueue');
  assert.equal((await source.states()).later, 'pending', 'the source did not run it');

  // Copied again: every id is there now. Nothing is written, and the ids are named.
  const listed = await there.json<Job[]>(['list']);
  const again = await copy(tempDataDir(t), source.data, target);
  assert.equal(again.code, 2, describeRun(['store', 'copy'], again));
  assert.match(again.stderr, /^queuectl: 4 jobs already exist \("done", "bad", "later", "plain"\) in postgres:\/\/[^\n]+: nothing was copied [^\n]+\n$/);
  assert.deepEqual(await there.json<Job[]>(['list']), listed);
});

test('PostgreSQL → file: a new data dir gets the queue, a pruned dependency counts as completed, and a worker there drains it', needsPostgres, async (t) => {
  const store = pgQueue(t);
  const source = on(tempDataDir(t), store);
  await source.ok(['enqueue', '--id', 'first', '--', 'echo', 'first ran']);
  const manager = source.manager(t);
  await settle(source, { first: 'completed' }, 'first to complete');
  await source.ok(['worker', 'stop']);
  await manager.exited;
  await source.ok(['enqueue', '--id', 'keep', '--', 'echo', 'kept']);
  await source.ok(['config', 'set', 'lease', '20']);
  await source.ok(['prune']); // first goes; its id stays known as completed
  await source.ok(['enqueue', '--id', 'second', '--after', 'first', '--', 'echo', 'second ran']);
  const listedBefore = await source.json<Job[]>(['list']);

  const dir = join(tempDir(t), 'new', 'queue');
  const result = await copy(tempDataDir(t), store, dir);
  assert.equal(result.code, 0, describeRun(['store', 'copy'], result));
  assert.match(result.stdout, /^copied 2 job\(s\), 0 DLQ job\(s\), 1 setting\(s\) and 0 log\(s\) from postgres:\/\/[^\n]+ to [^\n]+\/new\/queue\n$/);
  assert.deepEqual(await source.json<Job[]>(['list']), listedBefore, 'the source is as it was');

  const there = on(dir);
  assert.deepEqual(await there.json<Job[]>(['list']), listedBefore, 'the same jobs, in the same order');
  assert.equal((await there.ok(['config', 'get', 'lease'])).stdout, '20\n');
  there.manager(t);
  await settle(there, { keep: 'completed', second: 'completed' }, 'the copied jobs to run in the data dir');
  assert.match((await there.ok(['logs', 'second'])).stdout, /^second ran$/m);
});

test('PostgreSQL → file: a source at an older schema version is left as it is: the copy says to migrate it first (exit 1), and writes nothing', needsPostgres, async (t) => {
  const schema = testSchema(t, 'queuectl_copy');
  const store = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
  const source = on(tempDataDir(t), store);
  await source.ok(['enqueue', '--id', 'kept', '--', 'true']);
  // As queuectl of schema version 5 left it.
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  t.after(() => admin.end());
  await admin.query(`ALTER TABLE "${schema}".managers DROP COLUMN stop_now`);
  await admin.query(`UPDATE "${schema}".meta SET value = '5' WHERE key = 'schema_version'`);
  const dir = join(tempDir(t), 'target');
  const result = await copy(tempDataDir(t), store, dir);
  assert.equal(result.code, 1, describeRun(['store', 'copy'], result));
  assert.match(result.stderr, /^queuectl: postgres:\/\/\S+ \(schema \w+\) is at schema version 5, older than this queuectl's \(\d+\); a copy changes nothing in its source: bring it up to date first with queuectl --store URL store migrate\n$/);
  assert.equal((await admin.query(`SELECT value FROM "${schema}".meta WHERE key = 'schema_version'`)).rows[0].value, 5, 'the source is not migrated');
  const column = await admin.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'managers' AND column_name = 'stop_now'`, [schema]);
  assert.equal(column.rowCount, 0);
  assert.equal(existsSync(dir), false, 'nothing written');
  // Once migrated, as the message says, the copy goes through.
  await source.ok(['store', 'migrate']);
  assert.equal((await copy(tempDataDir(t), store, dir)).code, 0);
  assert.deepEqual(Object.keys(await on(dir).states()), ['kept']);
});

test('file → file; an id that the target holds stops the copy with nothing written, naming it (exit 2); the archive stays behind', { timeout: 60_000 }, async (t) => {
  const source = on(tempDataDir(t));
  await source.ok(['enqueue', '--id', 'a', '--', 'true']);
  await source.ok(['enqueue', '--id', 'b', '--', 'true']);
  // An archive batch, as retention writes one: a finished job moved out of queue.json.
  const archived = (await source.jobs()).get('a')!;
  mkdirSync(join(source.data, 'archive'));
  writeFileSync(join(source.data, 'archive', '2026-11-23T10-30-00-000Z-1.json'), JSON.stringify({ version: 1, jobs: [{ ...archived, id: 'old' }] }));
  const target = on(tempDataDir(t));
  await target.ok(['enqueue', '--id', 'b', '--', 'echo', 'mine']);
  await target.ok(['config', 'set', 'lease', '10']);
  const sourceBefore = snapshotDir(source.data);
  const targetBefore = snapshotDir(target.data);

  const refused = await copy(source.data, source.data, target.data);
  assert.equal(refused.code, 2, describeRun(['store', 'copy'], refused));
  assert.equal(refused.stderr, `queuectl: job "b" already exists in ${target.data}: nothing was copied (cancel and prune, or copy into another store)\n`);
  assert.equal(refused.stdout, '');
  assert.deepEqual(snapshotDir(target.data), targetBefore, 'nothing written to the target');
  assert.deepEqual(snapshotDir(source.data), sourceBefore);

  const fresh = join(tempDir(t), 'copy');
  const result = await copy(source.data, source.data, fresh);
  assert.equal(result.code, 0, describeRun(['store', 'copy'], result));
  assert.equal(result.stdout, `copied 2 job(s), 0 DLQ job(s), 1 setting(s) and 0 log(s) from ${source.data} to ${fresh} (the 1 archived job(s) stay in ${source.data})\n`);
  assert.deepEqual(await on(fresh).json<Job[]>(['list']), await source.json<Job[]>(['list']));
  assert.equal((await runCli(fresh, ['show', 'old'])).code, 2, 'the archive is not copied');
  assert.deepEqual(snapshotDir(source.data), sourceBefore, 'the source is as it was');
});

/** The sha256 of a file, read a piece at a time (a log may be larger than a string can be). */
async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const HEADER_1 = '--- queuectl: run 1 of 2 started 2026-12-01T10:00:00.000Z by worker 4242 under lease t1 in /: make big\n';
const END_1 = '--- queuectl: run 1 of 2 exited with code 1 after 9.00 s\n';
const HEADER_2 = '--- queuectl: run 2 of 2 started 2026-12-01T10:01:00.000Z by worker 4242 under lease t2 in /: make big\n';
const END_2 = '--- queuectl: run 2 of 2 exited with code 0 after 0.01 s\n';
/** The last lines of the first run of `big`: 110,000 bytes. */
const LINES_1 = Array.from({ length: 10_000 }, (_, i) => `line ${String(i).padStart(5, '0')}\n`).join('');

/**
 * A data dir holding the completed job `big`, whose log is over 512 MiB (more than a string can
 * be): a first run of 600 MB (sparse: mostly zeros) ending in 10,000 lines, then a short second
 * run; and `nul`, whose log has a NUL byte and a byte that is not UTF-8.
 */
function hugeLogDir(t: TestContext): { data: string; big: string } {
  const data = tempDataDir(t);
  writeJobs(data, [finished('big', 'completed', MINUTE), finished('nul', 'completed', MINUTE)]);
  const big = writeLog(data, 'big');
  writeFileSync(big, HEADER_1);
  truncateSync(big, 600_000_000);
  appendFileSync(big, `${LINES_1}${END_1}${HEADER_2}second run\n${END_2}`);
  writeFileSync(writeLog(data, 'nul'), Buffer.from(`${HEADER_2}a\0b caf\xe9\n${END_2}`, 'latin1'));
  return { data, big };
}

test('file → file: logs go byte for byte, one over 512 MiB too, without holding it in memory', { timeout: 120_000 }, async (t) => {
  const { data, big } = hugeLogDir(t);
  const before = await fileHash(big);
  const target = join(tempDir(t), 'copy');
  const result = await runCli(data, ['store', 'copy', '--from', data, '--to', target], { timeoutMs: 100_000 });
  assert.equal(result.code, 0, describeRun(['store', 'copy'], result));
  assert.match(result.stdout, /^copied 2 job\(s\), 0 DLQ job\(s\), \d setting\(s\) and 2 log\(s\) /);
  assert.equal(await fileHash(join(target, 'logs', 'big.log')), before);
  assert.deepEqual(readFileSync(join(target, 'logs', 'nul.log')), readFileSync(join(data, 'logs', 'nul.log')));
  assert.equal(await fileHash(big), before, 'the source is as it was');
});

test('file → PostgreSQL: each run of a log is kept as a run there keeps it, within the target\'s log_limit, a NUL as U+FFFD; a run it cannot hold (log_limit 0) stops the copy with nothing written', needsPostgres, async (t) => {
  const { data } = hugeLogDir(t);
  const target = pgQueue(t);
  const there = on(tempDataDir(t), target);
  await there.ok(['config', 'set', 'log_limit', '0']);
  const refused = await copy(data, data, target);
  assert.equal(refused.code, 1, describeRun(['store', 'copy'], refused));
  assert.match(refused.stderr, /^queuectl: the log of job "big" is 600\d{6} bytes, and on [^\n]* log_limit 0 keeps all of it: [^\n]*nothing was copied\n$/);
  assert.deepEqual(await there.json<Job[]>(['list']), [], 'nothing was copied');

  await there.ok(['config', 'set', 'log_limit', '64k']);
  const result = await copy(data, data, target);
  assert.equal(result.code, 0, describeRun(['store', 'copy'], result));
  const log = (await there.ok(['logs', 'big'])).stdout;
  const output1 = 600_000_000 - HEADER_1.length + LINES_1.length + END_1.length;
  const cut = /^--- queuectl: (\d+) bytes of this run's output cut \(log_limit: [^\n]*\)\n/.exec(log.slice(HEADER_1.length));
  assert.ok(log.startsWith(HEADER_1) && cut, log.slice(0, 500));
  const kept = log.slice(HEADER_1.length + cut[0].length, log.indexOf(HEADER_2));
  assert.ok(kept.length <= 65_536 && kept.length > 60_000, `kept ${kept.length} bytes`);
  assert.match(kept, /^line \d{5}\n/, 'from the start of a line');
  assert.ok(kept.endsWith(`line 09999\n${END_1}`));
  assert.equal(Number(cut[1]) + kept.length, output1, 'the cut and the kept make the run');
  assert.equal(log.slice(log.indexOf(HEADER_2)), `${HEADER_2}second run\n${END_2}`, 'a run within the limit, whole');
  assert.equal((await there.ok(['logs', 'nul'])).stdout, `${HEADER_2}a\uFFFDb caf\uFFFD\n${END_2}`);
});

test('file → PostgreSQL: a log with a NUL byte goes in as a run there writes it, the NUL as U+FFFD; a log within log_limit, whole', needsPostgres, async (t) => {
  const data = tempDataDir(t);
  writeJobs(data, [finished('nul', 'completed', MINUTE)]);
  writeFileSync(writeLog(data, 'nul'), `${HEADER_2}a\0b\n${END_2}`);
  const target = pgQueue(t);
  const result = await copy(data, data, target);
  assert.equal(result.code, 0, describeRun(['store', 'copy'], result));
  assert.equal((await on(tempDataDir(t), target).ok(['logs', 'nul'])).stdout, `${HEADER_2}a\uFFFDb\n${END_2}`);
});

test('a source with a processing job, or with a manager running, refuses the copy (exit 1) and says to stop its workers first', { timeout: 60_000 }, async (t) => {
  const source = on(tempDataDir(t));
  await source.ok(['enqueue', '--id', 'long', '--', 'sleep', '600']);
  source.manager(t);
  await waitFor(async () => (await source.jobs()).get('long')?.started_at != null, { what: 'the run to start' });
  const target = join(tempDir(t), 'copy');
  const running = await copy(source.data, source.data, target);
  assert.equal(running.code, 1, describeRun(['store', 'copy'], running));
  assert.match(running.stderr, /^queuectl: 1 job\(s\) of \S+ are processing \("long"\): their runs belong to a manager of the source, and a copy would run them again; stop its workers first \(queuectl worker stop --all: on a store many hosts share, those of every host\), then copy\n$/);
  assert.equal(existsSync(target), false, 'nothing written');

  const idle = on(tempDataDir(t));
  await idle.ok(['enqueue', '--id', 'due-later', '--delay', '1h', '--', 'true']);
  const manager = idle.manager(t);
  await waitFor(async () => (await idle.json<{ workers: unknown[] }>(['status'])).workers.length === 1, { what: 'the idle manager to register' });
  const managed = await copy(idle.data, idle.data, target);
  assert.equal(managed.code, 1, describeRun(['store', 'copy'], managed));
  assert.match(managed.stderr, /^queuectl: 1 worker manager\(s\) run on \S+: they would run the copied jobs there as well; stop them first \(queuectl worker stop --all: on a store many hosts share, those of every host\), then copy\n$/);
  assert.equal(existsSync(target), false, 'nothing written');
  await idle.ok(['worker', 'stop']);
  await manager.exited;
  assert.equal((await copy(idle.data, idle.data, target)).code, 0, 'once stopped, the copy goes');
});

test('store copy: bad input is one line, exit 2, and nothing written', { timeout: 60_000 }, async (t) => {
  const source = on(tempDataDir(t));
  await source.ok(['enqueue', '--id', 'a', '--', 'true']);
  const target = join(tempDir(t), 'copy');
  const file = join(tempDir(t), 'a-file');
  writeFileSync(file, '');
  const cases: [string[], RegExp][] = [
    [['store', 'copy', '--to', target], /store copy needs --from/],
    [['store', 'copy', '--from', source.data], /store copy needs --to/],
    [['store', 'copy', '--from', source.data, '--to', source.data], /--from and --to name the same store/],
    [['store', 'copy', '--from', source.data, '--to', `${source.data}/.`], /--from and --to name the same store/],
    [['store', 'copy', '--from', source.data, '--to', 'mysql://db/jobs'], /--to must be a data directory or a postgres:\/\/ URL, got "mysql:\/\/db\/jobs"/],
    [['store', 'copy', '--from', source.data, '--to', file], /--to \S+ is a file, not a data directory/],
    [['store', 'copy', '--from', source.data, '--to', 'postgres://db/jobs?schema=Bad'], /schema must be lower-case/],
    [['store', 'copy', '--from', join(target, 'nothing'), '--to', target], /there is no queue at \S+ to copy/],
    [['store', 'copy', '--store', 'file', '--from', source.data, '--to', target], /--store does not apply/],
    [['store', 'migrate', '--from', source.data], /--from goes with store copy/],
  ];
  for (const [args, message] of cases) await rejected(source.data, args, message);
  assert.equal(existsSync(target), false, 'no target made');
});

test('config set store: the data dir\'s own choice, shown with where it came from; --store and QUEUECTL_STORE win; bad values change nothing', { timeout: 60_000 }, async (t) => {
  const here = on(tempDataDir(t));
  assert.equal((await here.ok(['config', 'get', 'store'])).stdout, 'file (the default)\n');
  await rejected(here.data, ['config', 'set', 'store', 'mysql://db/jobs'], /store must be file or a postgres:\/\/ URL, got "mysql:\/\/db\/jobs"/);
  await rejected(here.data, ['config', 'set', 'store', 'postgres://db/jobs?schema=Bad'], /schema must be lower-case/);
  await rejected(here.data, ['config', 'set', 'store', ''], /store must be file or a postgres:\/\/ URL, got ""/);
  assert.equal((await here.ok(['config', 'set', 'store', 'file'])).stdout, `store = file (in ${here.data}/config.json)\n`);
  assert.deepEqual(await here.json(['config', 'get', 'store']), { value: 'file', from: 'config.json', saved: 'file' });
  const env = await runCli(here.data, ['config', 'get', 'store'], { env: { QUEUECTL_STORE: 'postgres://u:secret@db/jobs' } });
  assert.equal(env.stdout, 'postgres://u:***@db/jobs (from QUEUECTL_STORE)\n', 'the password masked');
  const flag = await here.ok(['--store', 'file', 'config', 'get', 'store']);
  assert.equal(flag.stdout, 'file (from --store)\n');
  // The table of every setting has it too; the file store's settings still read the same.
  assert.match((await here.ok(['config', 'get'])).stdout, /^store +file \(from the data dir's config\.json\)$/m);
  await here.ok(['config', 'set', 'max_retries', '2']);
  assert.equal((await here.ok(['config', 'get', 'max_retries'])).stdout, '2\n');
  // A value broken by hand is reported naming the file (exit 1), and config set store mends it.
  writeFileSync(join(here.data, 'config.json'), JSON.stringify({ store: 'mysql://x', max_retries: 2 }));
  const broken = await here.run(['list']);
  assert.equal(broken.code, 1, describeRun(['list'], broken));
  assert.match(broken.stderr, /^queuectl: "store" in \S+\/config\.json must be file or a postgres:\/\/ URL, got "mysql:\/\/x"; fix it or run queuectl config set store/);
  await here.ok(['config', 'set', 'store', 'file']);
  await here.ok(['list']);
});

test("config.json may hold the store's password: it is private (0600), in a data dir the user made too, and a write makes it private again", { timeout: 60_000 }, async (t) => {
  const data = join(tempDir(t), 'made-by-hand');
  mkdirSync(data);
  chmodSync(data, 0o755); // as `mkdir` makes it: others may look inside
  const here = on(data);
  const config = join(data, 'config.json');
  const mode = () => statSync(config).mode & 0o777;
  await here.ok(['config', 'set', 'store', 'postgres://u:secret@db/jobs']);
  assert.equal(mode().toString(8), '600', 'made private');
  chmodSync(config, 0o644);
  await here.ok(['config', 'set', 'store', 'file']);
  assert.equal(mode().toString(8), '600', 'made private again');
  chmodSync(config, 0o644);
  await here.ok(['config', 'set', 'max_retries', '2']); // the file store's settings live in the same file
  assert.equal(mode().toString(8), '600', 'a setting of the file store writes it private too');
});

test('config set store postgres://…: every command of the data dir then uses it, its workers too, and other settings go to the database', needsPostgres, async (t) => {
  const store = pgQueue(t);
  const here = on(tempDataDir(t));
  const set = await here.ok(['config', 'set', 'store', store]);
  assert.equal(set.stdout, `store = ${store} (in ${here.data}/config.json)\n`);
  assert.deepEqual(await here.json(['config', 'get', 'store']), { value: store, from: 'config.json', saved: store });
  await here.ok(['config', 'set', 'max_retries', '7']);
  await here.ok(['enqueue', '--id', 'via-config', '--', 'echo', 'ran on postgres']);
  const status = await here.json<{ store: string }>(['status']);
  assert.match(status.store, /^postgres:\/\/127\.0\.0\.1:\d+\/\w+ \(schema queuectl_copy_/);
  // In the database: another data dir that names the store sees it; the data dir's files do not hold it.
  const elsewhere = on(tempDataDir(t), store);
  assert.equal((await elsewhere.jobs()).get('via-config')?.max_retries, 7);
  assert.equal((await here.run(['--store', 'file', 'show', 'via-config'])).code, 2);
  assert.equal((await here.ok(['--store', 'file', 'config', 'get', 'max_retries'])).stdout, '3\n', 'not set in the files');
  // A manager started without --store or QUEUECTL_STORE runs it there, and so do its workers.
  here.manager(t);
  await settle(elsewhere, { 'via-config': 'completed' }, 'the job to run on the chosen store');
  assert.match((await elsewhere.ok(['logs', 'via-config'])).stdout, /^ran on postgres$/m);
  const set2 = await runCli(here.data, ['config', 'set', 'store', 'file'], { env: { QUEUECTL_STORE: store } });
  assert.equal(set2.code, 0, describeRun(['config', 'set', 'store', 'file'], set2));
  assert.match(set2.stdout, /^store = file \(in \S+\/config\.json\); QUEUECTL_STORE overrides it here \(in use: postgres:\/\/[^\n]+\)\n$/);
});

test('worker start --detach --store postgres://…: the background manager runs on that store, not the data dir\'s files', needsPostgres, async (t) => {
  const store = pgQueue(t);
  const data = tempDataDir(t);
  const started = await runCli(data, ['--store', store, 'worker', 'start', '--detach']);
  assert.equal(started.code, 0, describeRun(['worker', 'start', '--detach'], started));
  const there = on(data, store);
  await there.ok(['enqueue', '--id', 'detached', '--', 'echo', 'ran']);
  await settle(there, { detached: 'completed' }, 'the background manager to run the job on the store');
  await there.ok(['worker', 'stop']);
});
