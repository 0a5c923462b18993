/**
 * End-to-end: queue.json and its journal (queue.journal) on a queue of more than 10,000 jobs,
 * where a change is an appended line and queue.json is rewritten only now and then. Writers are
 * killed in the middle of their appends and of their checkpoints, between the checkpoint's rename
 * and the journal's reset, while a reader keeps reading; a journal is found torn or corrupt.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { Job } from '../../core/rules/job.js';
import { CLI, cliCode, cliJson, cliOk, runCli, snapshotDir, startManager, waitFor, withDeadline, workspace } from '../helpers.js';
import { pendingJob } from '../sample-jobs.js';
import { summarizeJobs } from '../../core/rules/summary.js';
import { JobFileEncoder } from '../../store/file/job-file.js';

const FAR = '2099-01-01T00:00:00.000Z';
/** Above the size up to which every change rewrites queue.json (store/file/queue-log.ts). */
const BULK = 10_001;
const FILE_STORE = new URL('../../store/file/file-store.js', import.meta.url).href;
const JQ = spawnSync('jq', ['--version']).status === 0;

/** `version` 2: a queue.json whose journal is in use, as queuectl writes it above 10,000 jobs (store/file/job-file.ts). */
function writeQueue(data: string, jobs: readonly Job[], version: 1 | 2 = 1): void {
  writeFileSync(join(data, 'queue.json'), `{"version":${version},"jobs":[\n${jobs.map((job) => JSON.stringify(job)).join(',\n')}\n]}\n`);
}

const bulk = () => Array.from({ length: BULK }, (_, i) => pendingJob(`bulk-${i}`, { run_at: FAR, command: `echo ${i}` }));
const journalLines = (data: string) => readText(join(data, 'queue.journal')).split('\n').filter(Boolean);

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A reader in a thread, through the file store without the lock, as `list` reads: every view
 * must hold all the bulk jobs and each batch whole or not at all, whatever checkpoint or append
 * is half done.
 */
function startReader(t: TestContext, data: string, batch: number) {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { data, batch, bulk, stopFlag, url } = workerData;
    (async () => {
      const { FileStore } = await import(url);
      const problems = [];
      let reads = 0;
      while (Atomics.load(stopFlag, 0) === 0 && problems.length < 20) {
        let jobs;
        try { jobs = await new FileStore(data).list(); } catch (error) { problems.push(error.message); continue; }
        reads++;
        const counts = new Map();
        let bulkSeen = 0;
        for (const job of jobs) {
          if (job.id.startsWith('bulk-')) { bulkSeen++; continue; }
          const m = /^(b\\d+)-/.exec(job.id);
          if (m) counts.set(m[1], (counts.get(m[1]) || 0) + 1);
        }
        if (bulkSeen !== bulk) problems.push(bulkSeen + ' of ' + bulk + ' bulk jobs');
        for (const [name, count] of counts) if (count !== batch) problems.push('batch ' + name + ': ' + count + ' of ' + batch + ' jobs');
        Atomics.wait(stopFlag, 0, 0, 20);
      }
      parentPort.postMessage({ reads, problems });
    })();
  `;
  const worker = new Worker(code, { eval: true, workerData: { data, batch, bulk: BULK, stopFlag, url: FILE_STORE } });
  const result = new Promise<{ reads: number; problems: string[] }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  t.after(() => worker.terminate());
  return {
    stop() {
      Atomics.store(stopFlag, 0, 1);
      Atomics.notify(stopFlag, 0);
      return result;
    },
  };
}

test('enqueues killed mid-append, mid-checkpoint and between the checkpoint and the journal reset: no partial batch, no acknowledged batch lost, readers never see a half state', { timeout: 60_000 }, async (t) => {
  const { data, work } = workspace(t);
  const BATCH = 400;
  const ROUNDS = 8; // two of each kind of kill
  writeQueue(data, bulk());
  const reader = startReader(t, data, BATCH);

  let target: { child: ChildProcess; pattern: RegExp } | undefined;
  const landed: string[] = [];
  const watcher = watch(data, (_event, name) => {
    if (target && name && target.pattern.test(name)) {
      landed.push(name.replace(/\d+$/, 'N'));
      target.child.kill('SIGKILL');
      target = undefined;
    }
  });
  t.after(() => watcher.close());
  // Each kind of kill: when a checkpoint starts writing queue.json, when the journal's reset
  // starts (queue.json renamed already), when the journal changes (an append), at a random moment.
  const patterns = [/^queue\.json\.\d+$/, /^queue\.journal\.\d+$/, /^queue\.journal$/, null];
  const rounds: { r: number; code: number | null }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const batch = join(work, `batch-${r}.ndjson`);
    writeFileSync(batch, Array.from({ length: BATCH }, (_, i) => JSON.stringify({ id: `b${r}-${i}`, command: 'true', run_at: FAR })).join('\n'));
    const child = spawn(process.execPath, [CLI, '--data-dir', data, 'enqueue', '--file', batch], { stdio: 'ignore' });
    const pattern = patterns[r % patterns.length]!;
    if (pattern) target = { child, pattern };
    else setTimeout(() => child.kill('SIGKILL'), 100 + Math.random() * 500);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    target = undefined;
    rounds.push({ r, code });
    // A lock left by a killed writer: age it rather than wait out the stale period.
    if (existsSync(join(data, '.lock'))) utimesSync(join(data, '.lock'), new Date(0), new Date(0));
  }
  watcher.close();
  const seen = await reader.stop();
  assert.deepEqual(seen.problems, [], 'a reader saw a half state');
  t.diagnostic(`${seen.reads} reads; ${rounds.filter((round) => round.code !== 0).length} of ${rounds.length} writers killed (on ${landed.join(', ')}); ${journalLines(data).length} journal lines`);

  const check = async () => {
    const ids = (await cliJson<Job[]>(data, ['list'])).map((job) => job.id);
    assert.equal(new Set(ids).size, ids.length, 'list shows a job twice');
    assert.equal(ids.filter((id) => id.startsWith('bulk-')).length, BULK);
    for (const { r, code } of rounds) {
      const count = ids.filter((id) => id.startsWith(`b${r}-`)).length;
      assert.ok(count === 0 || count === BATCH, `batch ${r} is partly there: ${count} of ${BATCH}`);
      if (code === 0) assert.equal(count, BATCH, `batch ${r} was reported enqueued but is missing`);
    }
    return ids;
  };
  const before = await check();
  // The next writer cuts off a torn line and appends after the good ones.
  await cliOk(data, ['enqueue', '--id', 'next', '--command', 'true', '--run-at', FAR]);
  const lines = journalLines(data);
  for (const line of lines) JSON.parse(line);
  assert.deepEqual((await check()).filter((id) => !before.includes(id)), ['next']);
  // The reads that take only the ends of the files (the head's summary and tail, a lookup by id) say what the whole read says.
  const whole = await cliJson<Job[]>(data, ['list']);
  const status = await cliJson<{ counts: Record<string, number> }>(data, ['status']);
  assert.equal(status.counts.pending, whole.filter((job) => job.state === 'pending').length);
  assert.deepEqual((await cliJson<Job[]>(data, ['list', '--limit', '3'])).map((job) => job.id), whole.slice(-3).map((job) => job.id));
  assert.equal((await cliJson<Job>(data, ['show', 'next'])).id, 'next');
  await cliCode(data, ['enqueue', '--id', 'next', '--command', 'true'], 2);
  // A manager folds the journal into queue.json once the queue is quiet: queue.json alone is then whole.
  startManager(t, data, 1);
  await waitFor(() => readText(join(data, 'queue.journal')) === '', { what: 'the checkpoint of a quiet manager', timeoutMs: 20_000 });
  const folded = JSON.parse(readFileSync(join(data, 'queue.json'), 'utf8')) as { version: number; jobs: Job[] };
  assert.equal(folded.version, 2, 'above 10,000 jobs queue.json is version 2, which an older queuectl refuses');
  const inFile = folded.jobs.map((job) => job.id);
  assert.deepEqual(inFile.sort(), (await check()).sort());
});

for (const head of ['written by hand', "queuectl's own, which sums the queue up"] as const) {
test(`a journal whose last line is torn is read without it; one corrupt before its last line is reported with its path by every command and left as it is (queue.json's head ${head})`, async (t) => {
  const { data } = workspace(t);
  const queued = [pendingJob('a', { run_at: FAR })];
  if (head === 'written by hand') writeQueue(data, queued, 2);
  // status, list --limit and enqueue read this head and the journal, not the jobs (store/file/queue-log.ts).
  else writeFileSync(join(data, 'queue.json'), Buffer.concat(new JobFileEncoder().encodeParts(queued, 0, 2, summarizeJobs(queued))));
  const line = (seq: number, job: Job) => `${JSON.stringify({ seq, jobs: [job], removed: [] })}\n`;
  const journal = join(data, 'queue.journal');
  writeFileSync(journal, `${line(1, pendingJob('b', { run_at: FAR }))}${line(2, pendingJob('c', { run_at: FAR })).slice(0, 40)}`);
  assert.deepEqual((await cliJson<Job[]>(data, ['list'])).map((job) => job.id), ['a', 'b']);
  assert.equal((await cliJson<{ counts: { pending: number } }>(data, ['status'])).counts.pending, 2);

  writeFileSync(journal, `${line(1, pendingJob('b', { run_at: FAR }))}{"seq":2,"jobs":[{"id\n${line(3, pendingJob('c', { run_at: FAR }))}`);
  const before = snapshotDir(data);
  for (const args of [['list'], ['list', '--limit', '1'], ['status'], ['show', 'a'], ['enqueue', '--command', 'true'], ['enqueue', '--command', 'true', '--after', 'a'], ['cancel', 'a'], ['worker', 'start']]) {
    const result = await runCli(data, args);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`^queuectl: ${journal} is corrupt at line 2 \\(not JSON[^\\n]*will not overwrite it[^\\n]*\\n$`), args.join(' '));
  }
  assert.deepEqual(snapshotDir(data), before, 'nothing on disk changed');
});
}

test('the README recipe for jq while the queue is busy gives what list --json gives', { skip: !JQ && 'jq is not available' }, async (t) => {
  const { data } = workspace(t);
  writeQueue(data, [pendingJob('a', { run_at: FAR }), pendingJob('b', { run_at: FAR }), pendingJob('c', { run_at: FAR })], 2);
  const changed = { ...pendingJob('b', { run_at: FAR }), priority: 5 };
  const lines = [
    { seq: 1, jobs: [changed, pendingJob('d', { run_at: FAR })], removed: ['a'] },
    { seq: 2, jobs: [pendingJob('a', { run_at: FAR })], removed: [] },
  ];
  writeFileSync(join(data, 'queue.journal'), `${lines.map((line) => JSON.stringify(line)).join('\n')}\n{"seq":3,"jo`);
  const recipe = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').match(/<!-- jq-journal -->\n```sh\n([^`]+)```/)?.[1];
  assert.ok(recipe, 'the recipe is in the README');
  const run = spawnSync('sh', ['-c', recipe], { cwd: data, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const viaJq = (JSON.parse(run.stdout) as Job[]).map((job) => `${job.id}:${job.priority}`);
  const listed = (await cliJson<Job[]>(data, ['list'])).map((job) => `${job.id}:${job.priority}`);
  assert.deepEqual(viaJq, ['b:5', 'c:0', 'd:0', 'a:0']);
  assert.deepEqual([...viaJq].sort(), [...listed].sort());
});

test('beside another manager whose job runs, a manager told to stop exits at once (its fold of the journal waited out its minute before); the last manager to stop, with nothing running, leaves queue.json current', { timeout: 60_000 }, async (t) => {
  const { data } = workspace(t);
  writeQueue(data, bulk(), 2);
  await cliOk(data, ['enqueue', '--id', 'long', '--', 'sleep', '600']);
  const first = startManager(t, data, 1);
  await waitFor(async () => (await cliJson<Job>(data, ['show', 'long'])).started_at !== null, { what: 'the long job to start' });
  const second = startManager(t, data, 1);
  await waitFor(async () => second.output().includes('started 1 worker'), { what: 'the second manager to start' });
  await cliOk(data, ['enqueue', '--id', 'short', '--', 'true']); // a change for its cycles to see in the journal
  await waitFor(async () => (await cliJson<Job>(data, ['show', 'short'])).state === 'completed', { what: 'the short job to complete' });
  assert.ok(journalLines(data).length > 0, 'the changes are in the journal');
  const stopping = Date.now();
  process.kill(second.pid, 'SIGTERM');
  assert.equal(await withDeadline(second.exited, 10_000, 'the second manager to exit'), 0);
  assert.ok(Date.now() - stopping < 5_000, `the second manager took ${Date.now() - stopping} ms to exit`);
  // The run ends; its manager, last to stop, folds what the journal holds.
  await cliOk(data, ['cancel', 'long']);
  process.kill(first.pid, 'SIGTERM');
  assert.equal(await withDeadline(first.exited, 10_000, 'the first manager to exit'), 0);
  assert.deepEqual(journalLines(data), [], 'the journal is folded in');
  const onFile = (JSON.parse(readFileSync(join(data, 'queue.json'), 'utf8')) as { jobs: Job[] }).jobs;
  assert.deepEqual(
    onFile.map((job) => `${job.id}:${job.state}`),
    (await cliJson<Job[]>(data, ['list'])).map((job) => `${job.id}:${job.state}`),
    'queue.json alone holds the queue as list shows it',
  );
});

test('a change that leaves the queue at 10,000 jobs or fewer rewrites queue.json whole, as for any small queue: a cancel of most of a large queue with no manager running leaves no journal behind', async (t) => {
  const { data } = workspace(t, { retention: 10 });
  writeQueue(data, bulk(), 2);
  await cliOk(data, ['enqueue', '--id', 'extra', '--', 'true']); // a journal line: the queue stays large
  assert.equal(journalLines(data).length, 1);
  await cliOk(data, ['cancel', '--all']); // retention moves all but the newest 110 out
  assert.deepEqual(journalLines(data), []);
  const onFile = JSON.parse(readFileSync(join(data, 'queue.json'), 'utf8')) as { version: number; jobs: Job[] };
  assert.equal(onFile.version, 1);
  assert.deepEqual(
    onFile.jobs.map((job) => `${job.id}:${job.state}`),
    (await cliJson<Job[]>(data, ['list'])).map((job) => `${job.id}:${job.state}`),
  );
});
