/**
 * End-to-end: the worker manager and its workers, driven through the real CLI in real
 * processes. Jobs record their runs (job id, attempt, worker pid, time) in a runs log in the
 * test's temp dir, written by test/fixtures/record-run.sh.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  allJobs,
  CLI,
  cliJson,
  cliOk,
  hasStarted,
  killGroup,
  processAlive,
  queued,
  runCli,
  startManager,
  waitFor,
  waitForAllFinished,
  withDeadline,
  workspace,
} from '../helpers.js';
import { readRuns, recordingJob } from '../runs-log.js';

interface StatusJson {
  data_dir: string;
  counts: Record<string, number>;
  workers: { pid: number; manager_pid: number; job: string | null }[];
}

async function jobState(dataDir: string, id: string): Promise<string | undefined> {
  return (await allJobs(dataDir)).get(id)?.state;
}

/** Waits until job `id` is running: its command recorded its start, and so did the queue. */
async function waitUntilRunning(dataDir: string, runs: string, id: string): Promise<void> {
  await waitFor(async () => hasStarted((await allJobs(dataDir)).get(id)) && readRuns(runs).some((run) => run.id === id && run.event === 'start'), {
    what: `job ${id} to be running`,
  });
}

test('three workers share 60 jobs: each runs exactly once, and the workers run in parallel', { timeout: 60_000 }, async (t) => {
  const { data, work, runs } = workspace(t);
  const ids = Array.from({ length: 60 }, (_, i) => `job${String(i + 1).padStart(2, '0')}`);
  const batch = join(work, 'jobs.ndjson');
  writeFileSync(batch, ids.map((id) => JSON.stringify({ id, command: recordingJob(runs, 0.2) })).join('\n') + '\n');
  await cliOk(data, ['enqueue', '--file', batch]);

  startManager(t, data, 3);
  await waitForAllFinished(data, 45_000);

  const jobs = (await allJobs(data));
  assert.equal(jobs.size, 60);
  for (const id of ids) {
    const job = jobs.get(id);
    assert.equal(job?.state, 'completed', `${id} is ${job?.state}`);
    assert.equal(job?.attempts, 1, `${id} attempts`);
  }

  const log = readRuns(runs);
  const starts = log.filter((run) => run.event === 'start');
  const ends = log.filter((run) => run.event === 'end');
  assert.deepEqual(starts.map((run) => run.id).sort(), ids, 'every job started exactly once');
  assert.deepEqual(ends.map((run) => run.id).sort(), ids, 'every job ended exactly once');

  const intervals = starts.map((start) => {
    const end = ends.find((run) => run.id === start.id)!;
    return { worker: start.worker, from: start.at, to: end.at };
  });
  const workers = new Set(intervals.map((run) => run.worker));
  assert.ok(workers.size >= 2, `jobs ran on ${workers.size} worker(s), expected several`);
  const overlapping = intervals.some((a, i) =>
    intervals.some((b, j) => i < j && a.worker !== b.worker && a.from < b.to && b.from < a.to),
  );
  assert.ok(overlapping, 'no two runs on different workers overlapped in time');
});

test('SIGTERM to the manager lets the running job finish, then the manager exits 0', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t, { lease: 2 });
  const manager = startManager(t, data, 1);
  await cliOk(data, ['enqueue', '--id', 'slow', '--command', recordingJob(runs, 1.5)]);
  await waitUntilRunning(data, runs, 'slow');

  process.kill(manager.pid, 'SIGTERM');
  const code = await withDeadline(manager.exited, 15_000, 'the manager to exit');
  assert.equal(code, 0, manager.output());

  const job = (await allJobs(data)).get('slow');
  assert.equal(job?.state, 'completed');
  assert.equal(job?.attempts, 1);
  assert.deepEqual(
    readRuns(runs).map((run) => run.event),
    ['start', 'end'],
    'the job ran once, to its end',
  );
  assert.deepEqual(
    [...(await allJobs(data)).values()].filter((other) => other.state === 'processing').map((other) => other.id),
    [],
  );
});

test('worker stop lets the running job finish, waits for the manager and says what it stopped', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t, { lease: 2 });
  const manager = startManager(t, data, 1);
  await cliOk(data, ['enqueue', '--id', 'slow', '--command', recordingJob(runs, 1.5)]);
  await waitUntilRunning(data, runs, 'slow');

  const stop = await runCli(data, ['worker', 'stop'], { timeoutMs: 20_000 });
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`stopped 1 manager\\(s\\): ${manager.pid}\\b`));
  // worker stop returned, so the manager is done and its job with it.
  assert.equal(await jobState(data, 'slow'), 'completed');
  assert.deepEqual(
    readRuns(runs).map((run) => run.event),
    ['start', 'end'],
  );
  assert.equal(await withDeadline(manager.exited, 5_000, 'the manager to exit'), 0, manager.output());
  assert.deepEqual(
    [...(await allJobs(data)).values()].filter((job) => job.state === 'processing').map((job) => job.id),
    [],
  );
});

test('worker stop run by a job asks its own manager to stop and does not wait for it (it waits for the job): the job ends, then the manager', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  const manager = startManager(t, data, 2);
  // As a job of a pipeline would end the batch: the job runs queuectl on the queue it runs on.
  await cliOk(data, ['enqueue', '--id', 'stopper', '--', process.execPath, CLI, 'worker', 'stop']);
  assert.equal(await withDeadline(manager.exited, 15_000, 'the manager to exit'), 0, manager.output());
  const stopper = (await allJobs(data)).get('stopper');
  assert.equal(stopper?.state, 'completed', JSON.stringify(stopper));
  const log = (await cliOk(data, ['logs', 'stopper'])).stdout;
  assert.match(log, new RegExp(`^stopping manager ${manager.pid} \\(2 worker\\(s\\)\\); running jobs finish first$`, 'm'));
  assert.match(log, new RegExp(`^not waiting for manager ${manager.pid}: it runs this job \\(stopper\\), and stops once it ends$`, 'm'));
  // Not "stopped 0 manager(s)" alone: the one it asked stops later.
  assert.match(log, new RegExp(`^stopped 0 manager\\(s\\); ${manager.pid} once this job ends$`, 'm'));
});

test('worker stop with config.json corrupt (the choice of store unknown) still stops the managers, found by their records, and says why it went that way; --all, which needs the store, fails', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  const manager = startManager(t, data, 1);
  await waitFor(async () => manager.output().includes('started 1 worker'), { what: 'the manager to start' });
  writeFileSync(join(data, 'config.json'), '{');
  const all = await runCli(data, ['worker', 'stop', '--all']);
  assert.equal(all.code, 1, all.stderr);
  assert.match(all.stderr, /^queuectl: \S+config\.json is not valid JSON[^\n]*\n$/);
  const stop = await runCli(data, ['worker', 'stop'], { timeoutMs: 20_000 });
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, /^queuectl: \S+config\.json is not valid JSON[^\n]*; stopping this host's managers from their records in \S+: they record their runs' outcomes once it is fixed \(--timeout to stop sooner\)\n$/);
  assert.match(stop.stdout, new RegExp(`stopped 1 manager\\(s\\): ${manager.pid}\\b`));
  assert.equal(await withDeadline(manager.exited, 5_000, 'the manager to exit'), 0, manager.output());
  assert.equal(readFileSync(join(data, 'config.json'), 'utf8'), '{', 'left as it is');
});

test('worker stop with no manager running exits 0 and says so', async (t) => {
  const { data } = workspace(t);
  const result = await runCli(data, ['worker', 'stop']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /no worker manager is running/);
});

test('worker start --detach returns at once; its workers do the jobs and worker stop ends them', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t);
  const started = Date.now();
  const start = await runCli(data, ['worker', 'start', '--count', '2', '--detach'], { timeoutMs: 20_000 });
  const elapsed = Date.now() - started;
  // The workspace's cleanup kills the background manager by pid, whatever happens below.
  const managerPid = Number(/started worker manager (\d+)/.exec(start.stdout)?.[1]) || undefined;
  assert.equal(start.code, 0, start.stderr);
  assert.ok(managerPid, `no manager pid in: ${start.stdout}`);
  assert.ok(elapsed < 10_000, `worker start --detach took ${elapsed} ms`);
  assert.ok(processAlive(managerPid), 'the background manager runs');

  const status = await cliJson<StatusJson>(data, ['status']);
  assert.equal(status.workers.length, 2);
  const workerPids = status.workers.map((worker) => worker.pid);
  for (const worker of status.workers) {
    assert.equal(worker.manager_pid, managerPid);
    assert.ok(processAlive(worker.pid), `worker ${worker.pid} runs`);
  }

  for (const id of ['a', 'b', 'c', 'd']) await cliOk(data, ['enqueue', '--id', id, '--command', recordingJob(runs)]);
  await waitForAllFinished(data);
  assert.deepEqual(
    [...(await allJobs(data)).values()].map((job) => job.state),
    ['completed', 'completed', 'completed', 'completed'],
  );

  const stop = await runCli(data, ['worker', 'stop'], { timeoutMs: 20_000 });
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`stopped 1 manager\\(s\\): ${managerPid}\\b`));
  await waitFor(async () => !processAlive(managerPid), { timeoutMs: 5_000, what: 'the manager to be gone' });
  for (const pid of workerPids) {
    await waitFor(async () => !processAlive(pid), { timeoutMs: 5_000, what: `worker ${pid} to be gone` });
  }
  const after = await cliJson<StatusJson>(data, ['status']);
  assert.deepEqual(after.workers, []);
  // manager.log, which every detached manager of the data dir writes to: each line begins with its
  // time, then names its manager, or the worker of it that wrote it.
  const lines = readFileSync(join(data, 'manager.log'), 'utf8').split('\n').filter(Boolean);
  const by = new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z \\[(manager ${managerPid}|worker (${workerPids.join('|')}))\\] `);
  for (const line of lines) assert.match(line, by);
  assert.ok(lines.filter((line) => line.includes(`[manager ${managerPid}]`)).length >= 3, lines.join('\n'));
  assert.ok(lines.some((line) => /\[worker \d+\] \S+: run 1 of \d+ started/.test(line)), lines.join('\n'));
});

test('the "stop with:" line of worker start --detach works pasted into a shell, for a data dir with spaces', { timeout: 60_000 }, async (t) => {
  const { work } = workspace(t);
  const data = join(work, "my queue's data");
  const start = await runCli(data, ['worker', 'start', '--detach'], { timeoutMs: 20_000 });
  assert.equal(start.code, 0, start.stderr);
  const managerPid = Number(/started worker manager (\d+)/.exec(start.stdout)?.[1]);
  t.after(() => killGroup(managerPid));
  const line = /^stop with: (.*)$/m.exec(start.stdout)?.[1];
  assert.ok(line, start.stdout);
  const shell = spawnSync('sh', ['-c', line.replace(/^queuectl /, `'${process.execPath}' '${CLI}' `)], { encoding: 'utf8' });
  assert.equal(shell.status, 0, shell.stderr);
  assert.match(shell.stdout, new RegExp(`stopped 1 manager\\(s\\): ${managerPid}\\b`));
});

test('a worker killed with SIGKILL while idle is replaced by the manager', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  const manager = startManager(t, data, 2);
  const before = await waitFor(
    async () => {
      const status = await cliJson<StatusJson>(data, ['status']);
      return status.workers.length === 2 ? status.workers.map((worker) => worker.pid) : null;
    },
    { what: 'two workers' },
  );
  const [victim, survivor] = before as [number, number];

  process.kill(victim, 'SIGKILL');
  const after = await waitFor(
    async () => {
      const status = await cliJson<StatusJson>(data, ['status']);
      const pids = status.workers.map((worker) => worker.pid);
      return pids.length === 2 && !pids.includes(victim) ? status.workers : null;
    },
    { what: 'a replacement worker' },
  );
  const pids = after.map((worker) => worker.pid);
  assert.ok(pids.includes(survivor), 'the other worker kept running');
  for (const worker of after) {
    assert.equal(worker.manager_pid, manager.pid);
    assert.ok(processAlive(worker.pid), `worker ${worker.pid} runs`);
  }
  assert.ok(!processAlive(victim));
});

test('one worker takes jobs by highest priority, then oldest run_at, then enqueue order', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t);
  const now = Date.now();
  const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();
  // In enqueue order; every job is ready already.
  const jobs = [
    { id: 'p0-10s-first', priority: 0, run_at: ago(10) },
    { id: 'p5-10s-first', priority: 5, run_at: ago(10) },
    { id: 'p0-20s', priority: 0, run_at: ago(20) },
    { id: 'p5-10s-second', priority: 5, run_at: ago(10) },
    { id: 'p1-5s', priority: 1, run_at: ago(5) },
    { id: 'neg-30s', priority: -1, run_at: ago(30) },
    { id: 'p0-10s-second', priority: 0, run_at: ago(10) },
    { id: 'p5-15s', priority: 5, run_at: ago(15) },
  ];
  for (const { id, priority } of jobs) {
    await cliOk(data, ['enqueue', JSON.stringify({ id, priority, command: recordingJob(runs) })]);
  }
  // Ready since different times, as retries whose time came, or jobs scheduled for a time now
  // passed: an enqueue takes a time in the past as now, so the file is written as they would stand.
  const readySince = new Map(jobs.map((job) => [job.id, job.run_at]));
  const queue = (await queued(data)).map((job) => ({ ...job, run_at: readySince.get(job.id)! }));
  writeFileSync(join(data, 'queue.json'), `${JSON.stringify({ version: 1, jobs: queue })}\n`);
  assert.deepEqual(readRuns(runs), [], 'nothing runs without a worker');

  startManager(t, data, 1);
  await waitForAllFinished(data);
  assert.deepEqual(
    readRuns(runs)
      .filter((run) => run.event === 'start')
      .map((run) => run.id),
    ['p5-15s', 'p5-10s-first', 'p5-10s-second', 'p1-5s', 'p0-20s', 'p0-10s-first', 'p0-10s-second', 'neg-30s'],
  );
});

test('worker stop --timeout 1 kills a long job, records the failed attempt and returns in seconds', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t, { lease: 2 });
  const manager = startManager(t, data, 1);
  await cliOk(data, ['enqueue', '--id', 'long', '--command', recordingJob(runs, 60)]);
  await waitUntilRunning(data, runs, 'long');

  const started = Date.now();
  const stop = await runCli(data, ['worker', 'stop', '--timeout', '1'], { timeoutMs: 20_000 });
  const elapsed = Date.now() - started;
  assert.equal(stop.code, 0, stop.stderr);
  assert.ok(elapsed >= 1_000, `worker stop --timeout 1 returned after ${elapsed} ms, before its timeout`);
  assert.ok(elapsed < 10_000, `worker stop --timeout 1 took ${elapsed} ms, as if it waited for the 60 s job`);
  assert.match(stop.stdout, new RegExp(`stopped 1 manager\\(s\\): ${manager.pid}\\b`));

  const job = (await allJobs(data)).get('long');
  assert.ok(job?.state === 'failed' || job?.state === 'dead', `job is ${job?.state}`);
  assert.equal(job.attempts, 1);
  assert.match(job.last_error ?? '', /killed/);
  assert.ok(!readRuns(runs).some((run) => run.event === 'end'), 'the 60 s job did not run to its end');
  const shell = readRuns(runs)[0]!.shell;
  await waitFor(async () => !processAlive(shell), { timeoutMs: 5_000, what: 'the job process to be gone' });
  assert.equal(await withDeadline(manager.exited, 5_000, 'the manager to exit'), 0, manager.output());
  assert.deepEqual(
    (await queued(data))
      .filter((other) => other.state === 'processing')
      .map((other) => other.id),
    [],
  );
});

for (const how of ['deleted', 'replaced'] as const) {
  test(`a manager whose data dir is ${how} stops with exit 1, kills its run and says why`, { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t);
    await cliOk(data, ['enqueue', '--id', 'long', '--command', recordingJob(runs, 60)]);
    // Two workers: the one that ends first must not make the manager write its registry anew.
    const manager = startManager(t, data, 2);
    await waitUntilRunning(data, runs, 'long');
    const shell = readRuns(runs)[0]!.shell;

    const moved = `${data}.old`;
    t.after(() => rmSync(moved, { recursive: true, force: true }));
    // The manager may write a file in the middle of the rm: try again, as a person would.
    if (how === 'deleted') rmSync(data, { recursive: true, force: true, maxRetries: 20, retryDelay: 20 });
    else {
      renameSync(data, moved);
      mkdirSync(data);
    }
    assert.equal(await withDeadline(manager.exited, 10_000, 'the manager to stop'), 1, manager.output());
    // rm -rf empties the directory before it removes it; and seen between the rename and the
    // mkdir, a replaced directory was gone, for a moment.
    const was = how === 'deleted' ? '(deleted or moved away|emptied)' : '(replaced|deleted or moved away)';
    // rm -rf removes queue.json before the directory: the manager may see its job vanish first,
    // and stop its run for that, before it sees the directory go. Either way the run is killed.
    assert.match(manager.output(), new RegExp(`error: its data directory ${data} was ${was}; stopping, and killing [01] running job`));
    assert.match(manager.output(), new RegExp(`queuectl: manager ${manager.pid} stopped: its data directory ${data} was ${was}\\n`));
    assert.doesNotMatch(manager.output(), /\n\s+at /, 'no stack trace');
    await waitFor(async () => !processAlive(shell), { timeoutMs: 10_000, what: 'the run to be killed' });
    if (how === 'replaced') assert.deepEqual(readdirSync(data), [], 'nothing was written into the new directory');
    else assert.equal(existsSync(data), false, 'the deleted directory was not made again');
  });
}
