/**
 * End-to-end: crash safety. Every fault we can cause from outside — kill -9 of worker children
 * and of the whole manager, a worker frozen past its lease, a process killed while it holds the
 * lock or while it writes a file, a move between queue.json and dlq.json cut in half, many
 * writers at once — and what must hold afterwards: no job lost, no file torn, no lock stuck.
 *
 * Black-box through the CLI and real processes, so that the tests outlive rewrites of the
 * worker, the manager and the store. Jobs record their runs with test/fixtures/record-run.sh;
 * where it matters, every process also traces its lock cycles (QUEUECTL_LOCK_LOG) so that the
 * test can check that no two processes ever held the lock at once.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, watch, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { Job, ProcessingJob } from '../../core/rules/job.js';
import { checkLockLog } from '../../scripts/lock-log.js';
import {
  CLI,
  cliJson,
  cliOk,
  hasStarted,
  killGroup,
  openFiles,
  processAlive,
  readDlqFile,
  readQueueFile,
  runCli,
  snapshotDir,
  startManager,
  waitFor,
  waitForAllFinished,
  withDeadline,
  workspace,
} from '../helpers.js';
import { readRuns, RECORD, recordingJob, starts, type Run } from '../runs-log.js';
import { completedJob, deadJob, pendingJob, processingJob } from '../sample-jobs.js';

/** Every job in queue.json and dlq.json, by id (dlq.json's copy of a job in both). */
const allJobs = (dataDir: string): Map<string, Job> => new Map([...readQueueFile(dataDir), ...readDlqFile(dataDir)].map((job) => [job.id, job]));

/** The lock's stale period (store/file/lock.ts): a lock left by a killed process blocks this long. */
const LOCK_STALE_MS = 5_000;
/** Far enough ahead that no worker runs the job during a test. */
const FAR = '2099-01-01T00:00:00.000Z';

interface StatusJson {
  counts: Record<string, number>;
  workers: { pid: number; manager_pid: number; job: string | null }[];
}

/** A job command that records its run and sleeps `first` seconds on attempt 1, `later` after. */
function attemptJob(runs: string, first: number, later: number, code: { first?: number; later?: number } = {}): string {
  const seconds = `$([ "$QUEUECTL_ATTEMPT" = 1 ] && echo ${first} || echo ${later})`;
  const exit = `$([ "$QUEUECTL_ATTEMPT" = 1 ] && echo ${code.first ?? 0} || echo ${code.later ?? 0})`;
  return `sh '${RECORD}' '${runs}' $PPID ${seconds} ${exit}`;
}

/** Writes queue.json / dlq.json as queuectl does: `{"version": 1, "jobs": [...]}`, one job per line. */
function writeJobFile(path: string, jobs: readonly Job[]): void {
  writeFileSync(path, `{"version":1,"jobs":[\n${jobs.map((job) => JSON.stringify(job)).join(',\n')}\n]}\n`);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The runs of one job, each with its start and (if it got there) its end. */
function runsOf(log: readonly Run[], id: string): { attempt: number; worker: number; shell: number; from: number; to: number | null }[] {
  return log
    .filter((run) => run.id === id && run.event === 'start')
    .map((start) => {
      const end = log.find((run) => run.shell === start.shell && run.event !== 'start');
      return { attempt: start.attempt, worker: start.worker, shell: start.shell, from: start.at, to: end?.at ?? null };
    });
}

test('worker children killed with -9 mid-job again and again: every job completes, re-runs never exceed kills, each dead child is replaced', { timeout: 60_000 }, async (t) => {
  // A long lease: the manager records a dead child's run at once, so recovery does not wait for
  // it, and a kill that lands inside a lock cycle (stale for 5 s) cannot expire other leases.
  const { data, work, runs } = workspace(t, { lease: 10, backoff_base: 1, max_backoff: 1 });
  const ids = ['k1', 'k2', 'k3', 'k4', 'k5'];
  const batch = join(work, 'jobs.ndjson');
  writeFileSync(batch, ids.map((id) => JSON.stringify({ id, command: recordingJob(runs, 1), max_retries: 20 })).join('\n'));
  await cliOk(data, ['enqueue', '--file', batch]);
  const manager = startManager(t, data, 2);

  const KILLS = 5;
  const killedRuns: Run[] = [];
  const killed: number[] = [];
  while (killed.length < KILLS) {
    // A run that started less than half its 1 s ago, on a worker not killed yet: kill that
    // worker, certainly before the run ends.
    const victim = await waitFor(
      () => {
        const running = readRuns(runs).find((run) => run.event === 'start' && !killed.includes(run.worker) && Date.now() - run.at < 500);
        return running && processAlive(running.worker) ? running : null;
      },
      { timeoutMs: 20_000, intervalMs: 20, what: `a job running on a live worker (kill ${killed.length + 1} of ${KILLS})` },
    );
    process.kill(victim.worker, 'SIGKILL');
    killed.push(victim.worker);
    killedRuns.push(victim);
  }
  await waitForAllFinished(data, 40_000);

  const jobs = allJobs(data);
  const log = readRuns(runs);
  const startsTotal = log.filter((run) => run.event === 'start').length;
  for (const id of ids) assert.equal(jobs.get(id)?.state, 'completed', `${id} is ${jobs.get(id)?.state}`);
  assert.ok(startsTotal - ids.length <= killed.length, `${startsTotal - ids.length} re-runs for ${killed.length} kills`);
  t.diagnostic(`${killed.length} kills, ${startsTotal} runs of ${ids.length} jobs`);
  for (const id of ids) {
    const job = jobs.get(id)!;
    const jobRuns = runsOf(log, id);
    assert.equal(job.attempts, jobRuns.length, `${id}: attempts counts every run`);
    const killedOfJob = jobRuns.filter((run) => killedRuns.some((victim) => victim.shell === run.shell));
    assert.equal(killedOfJob.length, jobRuns.length - 1, `${id}: every run but the last was killed`);
    for (const run of killedOfJob) {
      assert.equal(run.to, null, `${id}: the run of killed worker ${run.worker} went on to its end`);
      assert.ok(!processAlive(run.shell), `${id}: the command of killed worker ${run.worker} still runs`);
    }
  }

  for (const pid of killed) assert.match(manager.output(), new RegExp(`worker ${pid} was killed by SIGKILL`));
  const status = await waitFor(
    async () => {
      const current = await cliJson<StatusJson>(data, ['status']);
      return current.workers.length === 2 ? current : null;
    },
    { what: 'two workers again' },
  );
  for (const worker of status.workers) {
    assert.ok(!killed.includes(worker.pid), `killed worker ${worker.pid} is still listed`);
    assert.equal(worker.manager_pid, manager.pid);
    assert.ok(processAlive(worker.pid), `worker ${worker.pid} is not alive`);
  }
});

test('after kill -9 of the manager with all its children, the next manager takes every orphaned job back within the lease', { timeout: 60_000 }, async (t) => {
  const LEASE_S = 2;
  // A 3 s backoff keeps each taken-back job `failed` long enough to be seen so on a loaded machine.
  const { data, work, runs } = workspace(t, { lease: LEASE_S, backoff_base: 3, max_backoff: 3 });
  const lockLog = join(work, 'lock.log');
  const env = { QUEUECTL_LOCK_LOG: lockLog };
  const ids = ['o1', 'o2'];
  // The first runs would go on for 30 s, so they are still running when the manager dies.
  for (const id of ids) await cliOk(data, ['enqueue', '--id', id, '--max-retries', '5', '--command', attemptJob(runs, 30, 0)]);
  const first = startManager(t, data, 2, env);
  const firstRuns = await waitFor(
    () => {
      const jobs = readQueueFile(data);
      const started = ids.map((id) => starts(runs, id)[0]);
      // Running, and recorded as such: a start is written by the cycle after the worker reports it.
      return jobs.every(hasStarted) && started.every(Boolean) ? (started as Run[]) : null;
    },
    { what: 'both jobs to be running' },
  );
  const workers = firstRuns.map((run) => run.worker);

  // The manager and its workers are one process group; the jobs' commands have groups of their own.
  killGroup(first.pid);
  const killedAt = Date.now();
  await withDeadline(first.exited, 5_000, 'the manager to die');
  await waitFor(() => workers.every((pid) => !processAlive(pid)), { timeoutMs: 5_000, what: 'the workers to die' });
  // The manager was the only process to take the lock; its trace has gaps on either side of
  // the mkdir and rmdir of .lock, so the directory itself says whether it died holding it.
  const killedHoldingLock = existsSync(join(data, '.lock'));
  const leases = new Map(readQueueFile(data).map((job) => [job.id, (job as ProcessingJob).lease]));
  for (const id of ids) assert.ok(leases.get(id), `${id} is processing with a lease after the kill`);
  const orphansAfterKill = firstRuns.filter((run) => processAlive(run.shell)).length;

  const second = startManager(t, data, 1, env);
  // Taken back: the job leaves `processing` with the lost run counted as a failed attempt.
  const takenBack = new Map<string, Job>();
  await waitFor(
    () => {
      for (const job of readQueueFile(data)) {
        if (ids.includes(job.id) && job.state !== 'processing' && !takenBack.has(job.id)) takenBack.set(job.id, job);
      }
      return takenBack.size === ids.length;
    },
    { timeoutMs: 20_000, what: 'both jobs to be taken back' },
  );
  const orphansAtRerun: number[] = [];
  for (const id of ids) {
    const rerun = await waitFor(() => starts(runs, id)[1], { timeoutMs: 10_000, what: `${id} to run again` });
    const orphan = firstRuns.find((run) => run.id === id)!;
    if (processAlive(orphan.shell)) orphansAtRerun.push(orphan.shell);
    assert.equal(rerun.attempt, 2);
  }
  await waitFor(() => ids.every((id) => allJobs(data).get(id)?.state === 'completed'), { what: 'both jobs to complete' });

  // Within the lease: not before it expired (the run might still be alive), and right after.
  // Slack for the new manager to start and poll on a loaded machine, and for a lock left behind.
  const slackMs = 3_000 + (killedHoldingLock ? LOCK_STALE_MS : 0);
  const delays: number[] = [];
  for (const id of ids) {
    const job = takenBack.get(id)!;
    const expires = Date.parse(leases.get(id)!.expires_at);
    const at = Date.parse(job.updated_at);
    assert.equal(job.state, 'failed', `${id} came back as ${job.state}`);
    assert.match(job.last_error ?? '', /lease expired/);
    assert.ok(at >= expires, `${id} was taken back at ${job.updated_at}, before its lease expired at ${leases.get(id)!.expires_at}`);
    assert.ok(at - expires <= slackMs, `${id} was taken back ${at - expires} ms after its lease expired`);
    assert.ok(at - killedAt <= LEASE_S * 1000 + slackMs, `${id} was taken back ${at - killedAt} ms after the kill`);
    delays.push(at - expires);
    const done = allJobs(data).get(id)!;
    assert.equal(done.attempts, 2);
  }
  const status = await cliJson<StatusJson>(data, ['status']);
  assert.deepEqual(
    status.workers.map((worker) => worker.manager_pid),
    [second.pid],
    'only the new manager is listed',
  );
  const report = checkLockLog(readText(lockLog));
  assert.deepEqual(report.overlaps, [], 'two processes held the lock at once');

  t.diagnostic(
    `taken back ${delays.join(' and ')} ms after their leases expired; killed while holding the lock: ${killedHoldingLock ? 'yes' : 'no'}; ` +
      `orphaned commands alive after the kill: ` +
      `${orphansAfterKill} of ${ids.length}, still alive when their job ran again: ${orphansAtRerun.length}`,
  );
  assert.deepEqual(orphansAtRerun, [], 'the orphaned first runs were killed before their jobs ran again');
});

test('a manager frozen (SIGSTOP) past its lease and then resumed never overwrites the newer outcome of its job', { timeout: 60_000 }, async (t) => {
  // The manager holds the leases of its workers' jobs and writes their outcomes: it is the
  // writer that can freeze. Its worker is not frozen with it, so run 1 ends (exit 7) while the
  // manager cannot record it; another manager takes the job back after the lease and runs it
  // again (4 s, long enough to resume the frozen one meanwhile).
  const { data, work, runs } = workspace(t, { lease: 2, backoff_base: 1, max_backoff: 1 });
  const lockLog = join(work, 'lock.log');
  await cliOk(data, ['enqueue', '--id', 'thawed', '--max-retries', '5', '--command', attemptJob(runs, 0.3, 4, { first: 7 })]);
  const frozen = startManager(t, data, 1, { QUEUECTL_LOCK_LOG: lockLog });
  await waitFor(() => starts(runs, 'thawed')[0] && hasStarted(allJobs(data).get('thawed')), { what: 'the first run, its start recorded' });

  // Freeze it outside a lock cycle: a process frozen inside one is another fault (see below).
  // Only the manager takes the lock now, so .lock exists exactly while it holds it.
  await waitFor(
    async () => {
      process.kill(frozen.pid, 'SIGSTOP');
      await waitFor(() => processState(frozen.pid) === 'T', { timeoutMs: 5_000, intervalMs: 5, what: 'the manager to stop' });
      if (!existsSync(join(data, '.lock'))) return true;
      process.kill(frozen.pid, 'SIGCONT');
      return false;
    },
    { timeoutMs: 10_000, intervalMs: 20, what: 'the manager to be frozen outside a lock cycle' },
  );
  t.after(() => killGroup(frozen.pid, 'SIGCONT'));
  const other = startManager(t, data, 1, { QUEUECTL_LOCK_LOG: lockLog });

  const secondRun = await waitFor(() => starts(runs, 'thawed')[1], { timeoutMs: 15_000, what: 'the job to be taken back and run again' });
  const during = await waitFor(() => readQueueFile(data).find((job) => job.id === 'thawed' && hasStarted(job)) as ProcessingJob | undefined, {
    what: 'the start of run 2 to be recorded',
  });
  assert.equal(during.state, 'processing');
  assert.equal(during.attempts, 2);
  assert.equal(secondRun.attempt, 2);
  assert.match(other.output(), /took back thawed: worker lost: lease expired/);

  // Resumed, the manager finds the outcome of run 1 (exit 7) waiting, and its claim gone.
  process.kill(frozen.pid, 'SIGCONT');
  await waitFor(() => /thawed: taken back; this run's outcome is dropped/.test(frozen.output()), {
    timeoutMs: 10_000,
    what: 'the resumed manager to drop the outcome of run 1',
  });
  const whileRun2 = readQueueFile(data).find((job) => job.id === 'thawed') as ProcessingJob;
  assert.ok(!readRuns(runs).some((run) => run.id === 'thawed' && run.attempt === 2 && run.event === 'end'), 'run 2 ended too soon for this test');
  assert.equal(whileRun2.state, 'processing', 'the resumed manager changed the job that another manager runs');
  assert.equal(whileRun2.lease.token, during.lease.token, 'the resumed manager renewed or took over the new claim');
  assert.equal(whileRun2.attempts, 2);

  await waitFor(() => allJobs(data).get('thawed')?.state === 'completed', { what: 'run 2 to complete' });
  const job = allJobs(data).get('thawed')!;
  assert.equal(job.attempts, 2);
  assert.equal(job.exit_code, 0, 'the exit code of run 1 overwrote that of run 2');
  assert.equal(job.last_error, null);
  assert.deepEqual(readDlqFile(data), []);
  assert.deepEqual(
    readRuns(runs)
      .filter((run) => run.id === 'thawed' && run.event === 'end')
      .map((run) => run.attempt),
    [1, 2],
    'both runs ended on their own',
  );
  assert.deepEqual(checkLockLog(readText(lockLog)).overlaps, [], 'two processes held the lock at once');
});

/** The data dir's lock, taken as another process holds it: made, and kept fresh until the test ends. Returns its path. */
function holdLock(t: TestContext, data: string): string {
  const lock = join(data, '.lock');
  mkdirSync(lock);
  const keepFresh = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(lock, now, now);
    } catch {
      // The test is over and its data dir gone.
    }
  }, 250);
  t.after(() => clearInterval(keepFresh));
  return lock;
}

test('while another process keeps the lock fresh, writing commands wait a bounded time, then exit 1 naming the lock', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'before', '--command', 'true']);
  writeJobFile(join(data, 'dlq.json'), [deadJob('dead-one')]);
  const lock = holdLock(t, data);
  const before = snapshotDir(data);

  const env = { QUEUECTL_LOCK_TIMEOUT: '2' };
  const started = Date.now();
  const results = await Promise.all([
    runCli(data, ['enqueue', '--id', 'blocked', '--command', 'true'], { env }),
    runCli(data, ['config', 'set', 'max_retries', '7'], { env }),
    runCli(data, ['dlq', 'retry', 'dead-one'], { env }),
  ]);
  const elapsed = Date.now() - started;
  for (const result of results) {
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.startsWith(`queuectl: could not take the lock ${lock} within 2 s`), result.stderr);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, `not one line: ${result.stderr}`);
  }
  assert.ok(elapsed >= 2_000, `gave up after ${elapsed} ms, before the 2 s wait`);
  assert.ok(elapsed < 10_000, `gave up only after ${elapsed} ms`);
  assert.deepEqual(snapshotDir(data), before, 'a command that gave up changed the data dir');
  // Reads take no lock: they still work.
  assert.deepEqual(
    (await cliJson<Job[]>(data, ['list'])).map((job) => job.id),
    ['dead-one', 'before'], // oldest first: the dead job was enqueued long before
  );
});

test('Ctrl-C while cancel waits for the lock stops it at once: exit 130, nothing canceled, no lock left behind', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'keep', '--command', 'true']);
  holdLock(t, data); // the cancel waits for it (30 s by default)
  const before = snapshotDir(data);
  const child = spawn(process.execPath, [CLI, '--data-dir', data, 'cancel', 'keep'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Waiting for the lock, it sleeps between tries: its CPU time stops growing. Before that (its
  // start), it does not, and a SIGINT would find no listener of its own yet.
  const cpuTicks = () => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).join(' ');
  let last = '';
  let still = 0;
  await waitFor(
    () => {
      const now = cpuTicks();
      still = now === last ? still + 1 : 0;
      last = now;
      return still >= 3;
    },
    { timeoutMs: 10_000, intervalMs: 100, what: 'cancel to wait for the lock (its CPU time still)' },
  );
  const interrupted = Date.now();
  child.kill('SIGINT');
  assert.equal(await withDeadline(exited, 10_000, 'cancel to exit on SIGINT'), 130, stderr);
  assert.ok(Date.now() - interrupted < 5_000, `exited ${Date.now() - interrupted} ms after the SIGINT`);
  assert.match(stderr, /^queuectl: interrupted by SIGINT before the cancel was written; nothing was canceled\n$/);
  assert.deepEqual(snapshotDir(data), before, 'the interrupted cancel changed the data dir');
});

test('a process killed while it holds the lock: the next command takes the lock over after the stale period', { timeout: 60_000 }, async (t) => {
  const { data, work } = workspace(t);
  const lock = join(data, '.lock');
  // A big queue.json keeps the holder inside its lock cycle long enough to be killed there.
  writeJobFile(join(data, 'queue.json'), bulkJobs('bulk', 4_000));
  const batch = join(work, 'batch.ndjson');
  writeFileSync(batch, Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `killed-${i}`, command: 'true', run_at: FAR })).join('\n'));

  let victim: ChildProcess | undefined;
  const watcher = watch(data, (_event, name) => {
    if (name === '.lock') victim?.kill('SIGKILL');
  });
  t.after(() => watcher.close());
  for (let attempt = 1; attempt <= 5 && !existsSync(lock); attempt++) {
    victim = spawn(process.execPath, [CLI, '--data-dir', data, 'enqueue', '--file', batch], { stdio: 'ignore' });
    await new Promise((resolve) => victim!.once('exit', resolve));
  }
  watcher.close();
  assert.ok(existsSync(lock), 'no writer was killed while it held the lock in 5 tries');
  const lockTime = statSync(lock).mtimeMs;

  const started = Date.now();
  await cliOk(data, ['enqueue', '--id', 'after', '--command', 'true']);
  const done = Date.now();
  assert.ok(done >= lockTime + LOCK_STALE_MS - 100, `the lock was taken over ${done - lockTime} ms after its last update`);
  assert.ok(done - started < LOCK_STALE_MS + 5_000, `the next command waited ${done - started} ms`);
  assert.ok(!existsSync(lock), 'the lock was not released');
  const ids = readQueueFile(data).map((job) => job.id);
  assert.ok(ids.includes('after'));
  const killed = ids.filter((id) => id.startsWith('killed-')).length;
  assert.ok(killed === 0 || killed === 20, `the killed batch is partly there: ${killed} of 20`);
  t.diagnostic(`waited ${done - started} ms for the lock; the killed batch is ${killed === 0 ? 'absent' : 'whole'}`);
});

test('a writer frozen (SIGSTOP) as it takes the lock, past the stale period, either finds the lock lost and writes nothing or takes it again', { timeout: 40_000 }, async (t) => {
  const { data } = workspace(t);
  writeJobFile(join(data, 'queue.json'), bulkJobs('bulk', 3_000)); // a read long enough to land in
  let writer: ChildProcess | undefined;
  const watcher = watch(data, (_event, name) => {
    if (writer && name === '.lock' && existsSync(join(data, '.lock'))) writer.kill('SIGSTOP');
  });
  t.after(() => {
    watcher.close();
    writer?.kill('SIGKILL');
  });
  // Freeze a writer that holds the lock but has not begun to write its temp file.
  let id = '';
  for (let attempt = 1; attempt <= 5 && !writer; attempt++) {
    id = `frozen-${attempt}`;
    const candidate = spawn(process.execPath, [CLI, '--data-dir', data, 'enqueue', '--id', id, '--command', 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    writer = candidate;
    await waitFor(() => processState(candidate.pid!) === 'T' || candidate.exitCode !== null, { what: 'the writer to freeze or end' });
    const frozenBeforeWrite =
      processState(candidate.pid!) === 'T' &&
      existsSync(join(data, '.lock')) &&
      !readdirSync(data).some((name) => /^queue\.json\.\d+$/.test(name)) &&
      !readQueueFile(data).some((job) => job.id === id);
    if (frozenBeforeWrite) break;
    writer = undefined;
    candidate.kill('SIGKILL');
    await new Promise((resolve) => (candidate.exitCode !== null ? resolve(null) : candidate.once('exit', resolve)));
    if (existsSync(join(data, '.lock'))) utimesSync(join(data, '.lock'), new Date(0), new Date(0));
    await cliOk(data, ['prune', '--dry-run']); // let the stale lock go
  }
  watcher.close();
  if (!writer) {
    t.skip('no writer was frozen between taking the lock and writing in 5 tries');
    return;
  }
  const frozen = writer;
  let stderr = '';
  frozen.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => frozen.once('exit', (code) => resolve(code)));

  await cliOk(data, ['enqueue', '--id', 'meanwhile', '--command', 'true']); // takes the stale lock over
  frozen.kill('SIGCONT');
  const code = await withDeadline(exited, 10_000, 'the resumed writer to end');
  const ids = readQueueFile(data).map((job) => job.id);
  assert.ok(ids.includes('meanwhile'), 'the job enqueued meanwhile was lost');
  // Frozen while proper-lockfile was still taking the lock, the writer takes it again on resuming
  // and writes after `meanwhile`, correctly; frozen once it had it, it must write nothing.
  if (code === 0) {
    assert.ok(ids.includes(id), `${id} reported success but is missing`);
  } else {
    assert.equal(code, 1, stderr);
    assert.match(stderr, /lost the lock .*\.lock .*nothing was written/);
    assert.ok(!ids.includes(id), 'the failed enqueue wrote its job');
  }
  t.diagnostic(`the resumed writer exited ${code}`);
});

test('a writer frozen (SIGSTOP) in the middle of writing its temp file, past the stale period, finds the lock lost on resuming and renames nothing', { timeout: 60_000 }, async (t) => {
  const { data } = workspace(t);
  const lock = join(data, '.lock');
  const isTemp = (name: string) => /^queue\.json\.\d+$/.test(name);
  // A big queue.json makes the write and fsync of the temp file long enough to be frozen in.
  writeJobFile(join(data, 'queue.json'), bulkJobs('bulk', 10_000));
  let writer: ChildProcess | undefined;
  const watcher = watch(data, (_event, name) => {
    if (writer && name && isTemp(name)) writer.kill('SIGSTOP');
  });
  t.after(() => {
    watcher.close();
    writer?.kill('SIGKILL');
  });
  // The writer checks the lock after it has closed its temp file: frozen while it still holds
  // the file open, it has certainly not checked yet. A freeze that lands later is tried again.
  const ATTEMPTS = 10;
  let id = '';
  for (let attempt = 1; attempt <= ATTEMPTS && !writer; attempt++) {
    id = `frozen-${attempt}`;
    const candidate = spawn(process.execPath, [CLI, '--data-dir', data, 'enqueue', '--id', id, '--command', 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    writer = candidate;
    const pid = candidate.pid!;
    await waitFor(() => processState(pid) === 'T' || candidate.exitCode !== null, { what: 'the writer to freeze or end' });
    if (processState(pid) === 'T' && openFiles(pid).some((path) => isTemp(basename(path)))) break;
    writer = undefined;
    candidate.kill('SIGKILL');
    await new Promise((resolve) => (candidate.exitCode !== null ? resolve(null) : candidate.once('exit', resolve)));
    if (existsSync(lock)) utimesSync(lock, new Date(0), new Date(0)); // let the killed writer's lock go
  }
  watcher.close();
  assert.ok(writer, `no writer was frozen while writing its temp file in ${ATTEMPTS} tries`);
  const frozen = writer;
  let stderr = '';
  frozen.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => frozen.once('exit', (code) => resolve(code)));

  // Another command takes the lock over once it is stale, and succeeds.
  await cliOk(data, ['enqueue', '--id', 'meanwhile', '--command', 'true']);
  frozen.kill('SIGCONT');
  const code = await withDeadline(exited, 10_000, 'the resumed writer to end');
  const ids = readQueueFile(data).map((job) => job.id);
  t.diagnostic(`${id} was frozen; the resumed writer exited ${code}; queue.json has it: ${ids.includes(id)}, meanwhile: ${ids.includes('meanwhile')}`);
  assert.ok(ids.includes('meanwhile'), 'a job enqueued with success was lost: the resumed writer renamed its stale queue.json over it');
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^queuectl: lost the lock .*\.lock .*nothing was written$/m);
  assert.ok(!ids.includes(id), 'the failed enqueue wrote its job');
  assert.deepEqual(readdirSync(data).filter(isTemp), [], 'the refused temp file was left behind');
});

test('writers killed in the middle of their writes never leave a torn file, a partial batch, or a job in neither file', { timeout: 60_000 }, async (t) => {
  const { data, work } = workspace(t);
  const paths = { queue: join(data, 'queue.json'), dlq: join(data, 'dlq.json'), config: join(data, 'config.json') };
  const lock = join(data, '.lock');
  const BATCH = 50;
  // At least 12 rounds; more (up to 36) until a kill has landed in the middle of a write, which
  // takes longer on a fast disk.
  const ROUNDS = 12;
  const MAX_ROUNDS = 36;
  const retried = Array.from({ length: MAX_ROUNDS }, (_, r) => `dead-${r}`);
  const tempFiles = () => readdirSync(data).filter((name) => /^(queue|dlq|config)\.json\.\d+$/.test(name));
  // Big files make each write long enough to be caught in the middle.
  writeJobFile(paths.queue, bulkJobs('bulk', 2_000));
  writeJobFile(paths.dlq, [...retried.map((id) => deadJob(id)), ...bulkJobs('bulk-dead', 1_000).map((job) => deadJob(job.id))]);
  const reader = startFileChecker(t, paths, BATCH, retried);

  let target: { child: ChildProcess; pattern: RegExp } | undefined;
  const watcher = watch(data, (_event, name) => {
    if (target && name && target.pattern.test(name)) target.child.kill('SIGKILL');
  });
  t.after(() => watcher.close());

  const rounds: { kind: string; r: number; code: number | null }[] = [];
  for (let r = 0; r < ROUNDS || (r < MAX_ROUNDS && tempFiles().length === 0); r++) {
    const kind = (['enqueue', 'retry', 'config'] as const)[r % 3]!;
    let args: string[];
    let pattern: RegExp;
    if (kind === 'enqueue') {
      const batch = join(work, `batch-${r}.ndjson`);
      writeFileSync(batch, Array.from({ length: BATCH }, (_, i) => JSON.stringify({ id: `b${r}-${i}`, command: 'true', run_at: FAR })).join('\n'));
      args = ['enqueue', '--file', batch];
      pattern = /^queue\.json\.\d+$/;
    } else if (kind === 'retry') {
      // queue.json gains the job first: killed when it writes dlq.json, between the two writes.
      args = ['dlq', 'retry', retried[r]!];
      pattern = /^dlq\.json\.\d+$/;
    } else {
      args = ['config', 'set', 'max_backoff', String(100 + r)];
      pattern = /^config\.json\.\d+$/;
    }
    const child = spawn(process.execPath, [CLI, '--data-dir', data, ...args], { stdio: 'ignore' });
    // Half the rounds are killed the moment they start writing, the others at a random moment.
    if (r % 2 === 0) target = { child, pattern };
    else setTimeout(() => child.kill('SIGKILL'), 50 + Math.random() * 600);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    target = undefined;
    rounds.push({ kind, r, code });
    // A lock left by a killed writer: age it rather than wait 5 s (that wait is tested above).
    if (existsSync(lock)) utimesSync(lock, new Date(0), new Date(0));
  }
  watcher.close();
  const temps = tempFiles();
  const seen = await reader.stop();

  assert.deepEqual(seen.problems, [], 'a reader saw a torn file, a partial batch or a job in neither file');
  t.diagnostic(
    `${seen.reads} reads of the 3 files while writing; ${rounds.filter((round) => round.code !== 0).length} of ` +
      `${rounds.length} writers killed, ${temps.length} temp files left by kills in the middle of a write`,
  );
  assert.ok(temps.length > 0, `no kill landed in the middle of a write in ${rounds.length} rounds`);

  // Every command sees each job once; every batch is whole or absent.
  const listed = await cliJson<Job[]>(data, ['list']);
  const ids = listed.map((job) => job.id);
  assert.equal(new Set(ids).size, ids.length, 'list shows a job twice');
  for (const { kind, r, code } of rounds) {
    if (kind === 'enqueue') {
      const count = ids.filter((id) => id.startsWith(`b${r}-`)).length;
      assert.ok(count === 0 || count === BATCH, `batch ${r} is partly there: ${count} of ${BATCH}`);
      if (code === 0) assert.equal(count, BATCH, `batch ${r} was reported enqueued but is missing`);
    } else if (kind === 'retry') {
      const job = listed.find((one) => one.id === retried[r]);
      assert.ok(job, `${retried[r]} was lost`);
      if (code === 0) assert.equal(job.state, 'pending', `${retried[r]} was reported retried but is ${job.state}`);
    }
  }
  const config = await cliJson<{ max_backoff: number }>(data, ['config', 'get']);
  const setValues = rounds.filter((round) => round.kind === 'config').map((round) => 100 + round.r);
  assert.ok([3600, ...setValues].includes(config.max_backoff), `max_backoff is ${config.max_backoff}`);

  const dlqBefore = new Set(readDlqFile(data).map((job) => job.id));
  const halfMoves = readQueueFile(data).filter((job) => dlqBefore.has(job.id)).map((job) => job.id);
  // The next write repairs any move cut in half: no job is left in both files. And once the
  // temp files left by the kills are a minute old, it removes them.
  const old = new Date(Date.now() - 5 * 60_000);
  for (const name of temps) if (existsSync(join(data, name))) utimesSync(join(data, name), old, old);
  await cliOk(data, ['enqueue', '--id', 'next', '--command', 'true', '--run-at', FAR]);
  const inDlq = new Set(readDlqFile(data).map((job) => job.id));
  assert.deepEqual(readQueueFile(data).filter((job) => inDlq.has(job.id)).map((job) => job.id), [], 'jobs in both files');
  assert.deepEqual(temps.filter((name) => existsSync(join(data, name))), [], 'temp files left by the kills');
  t.diagnostic(`${halfMoves.length} dlq retries cut between their two writes (${halfMoves.join(', ')}), repaired by the next write`);
});

test('old temp files of interrupted writes go with the next manager or writing command, young ones and refused commands leave them', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  mkdirSync(join(data, 'archive'));
  const old = new Date(Date.now() - 5 * 60_000);
  const leftovers = (names: string[], mtime?: Date) => {
    for (const name of names) {
      writeFileSync(join(data, name), '{"version":1,"jo');
      if (mtime) utimesSync(join(data, name), mtime, mtime);
    }
  };
  const present = (names: string[]) => names.filter((name) => existsSync(join(data, name)));
  const first = ['queue.json.1234567', 'archive/2026-11-23T09-00-00.000Z-1.json.987654'];
  const young = ['dlq.json.555'];
  leftovers(first, old);
  leftovers(young);
  const manager = startManager(t, data, 1);
  await waitFor(() => /manager \d+ started/.test(manager.output()), { what: 'the manager to start' });
  assert.match(manager.output(), /removed 2 temp file\(s\) left by an interrupted write/);
  assert.deepEqual(present(first), []);
  assert.deepEqual(present(young), young, 'a young temp file may be a write in progress');

  const second = ['config.json.42', 'queue.json.777'];
  leftovers(second, old);
  const refused = await runCli(data, ['enqueue', '--id', 'x', '--command', '']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.deepEqual(present(second), second, 'a refused command changes nothing');
  await cliOk(data, ['config', 'set', 'max_retries', '4']);
  assert.deepEqual(present(second), []);
  assert.deepEqual(present(young), young);
});

test('a move between queue.json and dlq.json cut in half, either way: every command sees the job once, and the next write repairs both files', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  const at = (seconds: number) => new Date(Date.parse('2026-11-23T09:00:00.000Z') + seconds * 1000).toISOString();
  const lease = { worker_pid: 999_999, token: 'gone', expires_at: FAR };
  // To the DLQ: dlq.json gained the dead job; queue.json still has it as processing.
  // From the DLQ (dlq retry): queue.json gained it back as pending; dlq.json still has it dead.
  writeJobFile(join(data, 'queue.json'), [
    pendingJob('bystander', { run_at: FAR }),
    processingJob('to-dlq', { updated_at: at(0), lease }),
    pendingJob('from-dlq', { updated_at: at(10), run_at: FAR }),
  ]);
  writeJobFile(join(data, 'dlq.json'), [deadJob('from-dlq', { updated_at: at(3) }), deadJob('to-dlq', { updated_at: at(5) })]);
  const before = snapshotDir(data);

  const listed = await cliJson<Job[]>(data, ['list']);
  assert.deepEqual(
    listed.map((job) => [job.id, job.state]).sort(),
    [
      ['bystander', 'pending'],
      ['from-dlq', 'pending'],
      ['to-dlq', 'dead'],
    ],
  );
  assert.equal((await cliJson<Job>(data, ['show', 'to-dlq'])).state, 'dead');
  assert.equal((await cliJson<Job>(data, ['show', 'from-dlq'])).state, 'pending');
  assert.deepEqual(
    (await cliJson<Job[]>(data, ['dlq', 'list'])).map((job) => job.id),
    ['to-dlq'],
  );
  const status = await cliJson<StatusJson>(data, ['status']);
  assert.deepEqual(
    [status.counts.pending, status.counts.processing, status.counts.dead],
    [2, 0, 1],
  );
  const retry = await runCli(data, ['dlq', 'retry', 'from-dlq']);
  assert.equal(retry.code, 2);
  assert.match(retry.stderr, /job "from-dlq" is not in the DLQ \(it is pending\)/);
  const duplicate = await runCli(data, ['enqueue', '--id', 'to-dlq', '--command', 'true']);
  assert.equal(duplicate.code, 2);
  assert.match(duplicate.stderr, /a job with id "to-dlq" already exists/);
  assert.deepEqual(snapshotDir(data), before, 'reads and refused commands changed the files');

  await cliOk(data, ['enqueue', '--id', 'next', '--command', 'true', '--run-at', FAR]);
  assert.deepEqual(
    readQueueFile(data).map((job) => job.id),
    ['bystander', 'from-dlq', 'next'],
  );
  assert.deepEqual(
    readDlqFile(data).map((job) => job.id),
    ['to-dlq'],
  );
});

test('a worker that finds a half-done move to the DLQ with an expired lease repairs the files instead of running the job again', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t);
  const lease = { worker_pid: 999_999, token: 'gone', expires_at: '2020-01-01T00:00:30.000Z' };
  writeJobFile(join(data, 'queue.json'), [
    processingJob('to-dlq', { command: recordingJob(runs), updated_at: '2020-01-01T00:00:00.000Z', lease, max_retries: 5 }),
  ]);
  writeJobFile(join(data, 'dlq.json'), [deadJob('to-dlq', { command: recordingJob(runs), updated_at: '2020-01-01T00:00:05.000Z' })]);
  const manager = startManager(t, data, 1);
  await cliOk(data, ['enqueue', '--id', 'marker', '--command', recordingJob(runs)]);
  await waitFor(() => allJobs(data).get('marker')?.state === 'completed', { what: 'the marker job to run' });
  assert.deepEqual(
    readQueueFile(data).map((job) => job.id),
    ['marker'],
  );
  assert.deepEqual(
    readDlqFile(data).map((job) => [job.id, job.state]),
    [['to-dlq', 'dead']],
  );
  assert.deepEqual(starts(runs, 'to-dlq'), [], 'the dead job ran again');
  assert.doesNotMatch(manager.output(), /took back to-dlq/);
});

test('a job revived by a dlq retry cut in half, run and then archived by retention, does not come back from the DLQ', { timeout: 30_000 }, async (t) => {
  // retention 0: the 101st completed job sends every completed job to the archive.
  const { data, runs } = workspace(t, { retention: 0 });
  writeJobFile(join(data, 'queue.json'), [
    ...Array.from({ length: 100 }, (_, i) => completedJob(`done-${i}`)),
    pendingJob('revived', { command: recordingJob(runs), updated_at: '2026-11-23T09:00:10.000Z' }),
  ]);
  writeJobFile(join(data, 'dlq.json'), [deadJob('revived', { command: recordingJob(runs), updated_at: '2026-11-23T09:00:03.000Z' })]);
  startManager(t, data, 1);
  await waitFor(() => starts(runs, 'revived').length === 1 && readQueueFile(data).length === 0, { what: 'the job to run and be archived' });
  // One batch (beside it, the folder of its jobs' logs).
  assert.equal(readdirSync(join(data, 'archive')).filter((name) => name.endsWith('.json')).length, 1);
  assert.deepEqual(await cliJson<Job[]>(data, ['dlq', 'list']), [], 'the completed job is back in the DLQ');
  assert.equal((await cliJson<Job[]>(data, ['list'])).length, 0);
});

const STRACE = spawnSync('strace', ['-f', '-o', '/dev/null', 'true']).status === 0;

test('a write command reports success only after the new file and its directory are fsynced (strace)', { skip: !STRACE && 'strace is not available', timeout: 30_000 }, async (t) => {
  const { data, work } = workspace(t);
  writeJobFile(join(data, 'dlq.json'), [deadJob('dead-one')]);
  const fresh = join(work, 'new', 'data');
  const cases: { dir: string; args: string[]; files: string[]; says: string }[] = [
    { dir: data, args: ['enqueue', '--id', 'durable', '--command', 'true'], files: ['queue.json'], says: 'enqueued durable' },
    { dir: data, args: ['config', 'set', 'max_retries', '5'], files: ['config.json'], says: 'max_retries = 5' },
    { dir: data, args: ['dlq', 'retry', 'dead-one'], files: ['queue.json', 'dlq.json'], says: 'dead-one is pending again' },
    { dir: fresh, args: ['enqueue', '--id', 'first', '--command', 'true'], files: ['queue.json'], says: 'enqueued first' },
  ];
  for (const { dir, args, files, says } of cases) {
    const trace = join(work, 'trace.txt');
    const syscalls = 'trace=mkdir,mkdirat,openat,write,pwrite64,writev,pwritev,fsync,fdatasync,rename,renameat,renameat2,close';
    const result = spawnSync('strace', ['-f', '-qq', '-o', trace, '-e', syscalls, process.execPath, CLI, '--data-dir', dir, ...args], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    const lines = joinResumedCalls(readFileSync(trace, 'utf8').split('\n'));
    const success = lines.findIndex((line) => /\bwrite\(1, "/.test(line) && line.includes(says));
    assert.ok(success > 0, `no "${says}" on stdout in the trace`);
    let from = 0;
    if (dir === fresh) {
      // Each directory created is made durable in its parent before anything is written in it.
      for (const created of [join(work, 'new'), fresh]) {
        const made = lines.findIndex((line) => new RegExp(`\\bmkdir(at)?\\(.*"${created}", .*= 0$`).test(line.trim()));
        assert.ok(made >= 0, `no mkdir of ${created} in the trace`);
        const parent = join(created, '..');
        const [, synced] = directorySynced(lines, parent, made);
        assert.ok(synced < success, `the new directory ${created} was not durable before queuectl said so`);
      }
    }
    for (const file of files) {
      const steps = durableWriteSteps(lines, join(dir, file), dir, from);
      assert.ok(steps.every((step) => step < success), `queuectl ${args.join(' ')}: ${file} was not durable before it said so`);
      from = steps.at(-1)!;
    }
  }
});

test('40 enqueue processes, two managers, dlq retry and config set at once: nothing lost, no duplicate id, no job run twice, one lock holder at a time', { timeout: 180_000 }, async (t) => {
  // Nothing is killed here, so no lease may expire: a long one, because on a loaded machine a
  // worker among 48 other processes can wait many seconds for the lock to record its outcome or
  // renew its claim, and a lease that expires meanwhile means a second run of a finished job.
  const { data, work, runs } = workspace(t, { lease: 60, poll_interval: 500 });
  const lockLog = join(work, 'lock.log');
  // And more patience than 30 s for the lock: this test is about what is written, not how fast.
  const env = { QUEUECTL_LOCK_LOG: lockLog, QUEUECTL_LOCK_TIMEOUT: '120' };
  const fixed = join(work, 'fixed');
  // Three jobs that fail until `fixed` exists: they die into the DLQ first, to be retried later.
  const revivable = ['r1', 'r2', 'r3'];
  for (const id of revivable) {
    await cliOk(data, ['enqueue', '--id', id, '--max-retries', '0', '--command', `${recordingJob(runs)} && test -e '${fixed}'`]);
  }
  const managers = [startManager(t, data, 2, env), startManager(t, data, 2, env)];
  await waitFor(() => readDlqFile(data).length === revivable.length, { timeoutMs: 30_000, what: 'the revivable jobs to die' });
  writeFileSync(fixed, '');

  const settings: [string, string][] = [
    ['max_backoff', '1234'],
    ['retention', '4321'],
    ['poll_interval', '60'],
    ['job_timeout', '77'],
    ['lease', '61'],
  ];
  const results = await Promise.all([
    ...Array.from({ length: 40 }, (_, i) => runCli(data, ['enqueue', '--command', `${recordingJob(runs, 0.1)} # ${i}`, '--json'], { env, timeoutMs: 150_000 })),
    ...revivable.map((id) => runCli(data, ['dlq', 'retry', id], { env, timeoutMs: 150_000 })),
    ...settings.map(([key, value]) => runCli(data, ['config', 'set', key, value], { env, timeoutMs: 150_000 })),
  ]);
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  const enqueued = results.slice(0, 40).map((result) => (JSON.parse(result.stdout) as Job).id);
  assert.equal(new Set(enqueued).size, 40, 'two enqueues got the same id');

  await waitForAllFinished(data, 60_000);
  const jobs = [...readQueueFile(data), ...readDlqFile(data)];
  assert.equal(new Set(jobs.map((job) => job.id)).size, jobs.length, 'a job is stored twice');
  assert.deepEqual(jobs.map((job) => job.id).sort(), [...revivable, ...enqueued].sort(), 'jobs lost or added');
  for (const job of jobs) assert.equal(job.state, 'completed', `${job.id} is ${job.state}`);

  const log = readRuns(runs);
  const report = checkLockLog(readText(lockLog));
  const story = (id: string) =>
    [...managers.map((manager) => manager.output()).join('').split('\n').filter((line) => line.includes(id)), ...log.filter((run) => run.id === id).map((run) => JSON.stringify(run))].join('\n');
  for (const id of enqueued) {
    assert.equal(starts(runs, id).length, 1, `${id} ran ${starts(runs, id).length} times (lock overlaps: ${report.overlaps.length}):\n${story(id)}\n${JSON.stringify(allJobs(data).get(id))}`);
  }
  for (const id of revivable) {
    assert.deepEqual(
      starts(runs, id).map((run) => run.attempt),
      [1, 1],
      `${id}: one run before it died, one after dlq retry`,
    );
  }
  const config = await cliJson<Record<string, number>>(data, ['config', 'get']);
  for (const [key, value] of settings) assert.equal(config[key], Number(value), `config set ${key} was lost`);

  assert.deepEqual(report.problems, []);
  assert.equal(report.overlaps.length, 0, 'two processes held the lock at once');
  assert.equal(report.maxHolders, 1);
  const workerManagers = new Map<number, number>();
  for (const status of [await cliJson<StatusJson>(data, ['status'])]) for (const w of status.workers) workerManagers.set(w.pid, w.manager_pid);
  const byManager = managers.map((manager) => log.filter((run) => run.event === 'start' && workerManagers.get(run.worker) === manager.pid).length);
  t.diagnostic(`${report.acquisitions} lock acquisitions, none overlapping; runs per manager: ${byManager.join(', ')}`);
});

/** The state letter of /proc/<pid>/stat: R, S, T (stopped), Z…; '' when gone. */
function processState(pid: number): string {
  const stat = readText(`/proc/${pid}/stat`);
  return stat === '' ? '' : stat.charAt(stat.lastIndexOf(')') + 2);
}

/** `count` pending jobs delayed far ahead, named `<prefix>-<n>`. */
function bulkJobs(prefix: string, count: number): Job[] {
  return Array.from({ length: count }, (_, i) => pendingJob(`${prefix}-${i}`, { command: `echo ${prefix} ${i}`, run_at: FAR }));
}

/**
 * Line numbers in an strace log of: the temp file for `target` opened, written, fsynced and
 * renamed over `target`, then `dir` opened and fsynced. Fails if a step is missing.
 */
function durableWriteSteps(lines: readonly string[], target: string, dir: string, from: number): number[] {
  const find = (start: number, test: (line: string) => boolean, what: string): number => {
    for (let i = start; i < lines.length; i++) if (test(lines[i]!)) return i;
    throw new Error(`strace: no ${what} after line ${start + 1}`);
  };
  const open = find(from, (line) => line.includes(`openat(AT_FDCWD, "${target}.`) && line.includes('O_CREAT'), `open of a temp file for ${target}`);
  const temp = /"([^"]+)"/.exec(lines[open]!)![1]!;
  const fd = /= (\d+)$/.exec(lines[open]!.trim())![1]!;
  const written = find(open, (line) => new RegExp(`\\b(p?write(64|v)?|pwritev)\\(${fd}, `).test(line), `write to ${temp}`);
  const synced = find(written, (line) => new RegExp(`\\bf(data)?sync\\(${fd}\\) += 0`).test(line), `fsync of ${temp}`);
  const renamed = find(synced, (line) => /\brename(at2?)?\(/.test(line) && line.includes(`"${temp}"`) && line.includes(`"${target}"`), `rename of ${temp}`);
  const [dirOpen, dirSynced] = directorySynced(lines, dir, renamed);
  return [open, written, synced, renamed, dirOpen, dirSynced];
}

/** Line numbers in an strace log of `dir` opened, then fsynced, after line `from`. */
function directorySynced(lines: readonly string[], dir: string, from: number): [number, number] {
  for (let open = from; open < lines.length; open++) {
    if (!lines[open]!.includes(`openat(AT_FDCWD, "${dir}", O_RDONLY`)) continue;
    const fd = /= (\d+)$/.exec(lines[open]!.trim())?.[1];
    const synced = lines.findIndex((line, at) => at > open && new RegExp(`\\bfsync\\(${fd}\\) += 0`).test(line));
    if (fd !== undefined && synced > open) return [open, synced];
  }
  throw new Error(`strace: no open and fsync of ${dir} after line ${from + 1}`);
}

interface FileCheck {
  reads: number;
  problems: string[];
}

/**
 * Reads dlq.json, queue.json and config.json over and over in a worker thread until stopped,
 * and reports any read that is not a whole JSON document of the right shape, any batch
 * (`b<round>-<n>` ids) that is neither whole nor absent, and any of `moving` (ids that move
 * from the DLQ to the queue, never the other way) found in neither file. dlq.json is read
 * before queue.json: a job that left dlq.json had entered queue.json before.
 */
function startFileChecker(t: TestContext, paths: { queue: string; dlq: string; config: string }, batch: number, moving: readonly string[]) {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const { readFileSync } = require('node:fs');
    const { parentPort, workerData } = require('node:worker_threads');
    const { paths, batch, moving, stopFlag } = workerData;
    const problems = [];
    let reads = 0;
    const read = (path) => {
      const text = readFileSync(path, 'utf8');
      try { return JSON.parse(text); } catch (error) { problems.push(path + ': ' + error.message + ' (' + text.length + ' bytes)'); return null; }
    };
    while (Atomics.load(stopFlag, 0) === 0 && problems.length < 20) {
      const dlq = read(paths.dlq);
      const queue = read(paths.queue);
      const config = read(paths.config);
      reads++;
      if (!dlq || !queue || !config) continue;
      if (!Array.isArray(queue.jobs) || !Array.isArray(dlq.jobs)) { problems.push('a job file without a jobs array'); continue; }
      const counts = new Map();
      for (const job of queue.jobs) {
        const m = /^(b\\d+)-/.exec(job.id);
        if (m) counts.set(m[1], (counts.get(m[1]) || 0) + 1);
      }
      for (const [name, count] of counts) if (count !== batch) problems.push('batch ' + name + ': ' + count + ' of ' + batch + ' jobs');
      const present = new Set([...dlq.jobs, ...queue.jobs].map((job) => job.id));
      for (const id of moving) if (!present.has(id)) problems.push(id + ' is in neither file');
      Atomics.wait(stopFlag, 0, 0, 1);
    }
    parentPort.postMessage({ reads, problems });
  `;
  const worker = new Worker(code, { eval: true, workerData: { paths, batch, moving, stopFlag } });
  const result = new Promise<FileCheck>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  t.after(() => worker.terminate());
  return {
    async stop(): Promise<FileCheck> {
      Atomics.store(stopFlag, 0, 1);
      Atomics.notify(stopFlag, 0);
      return withDeadline(result, 10_000, 'the file checker to stop');
    },
  };
}

/**
 * With `strace -f`, a call that another thread interrupts is printed in two parts,
 * `123 mkdir("…", 0777 <unfinished ...>` and later `123 <... mkdir resumed>) = 0`. Each such
 * pair becomes one whole line, at the place of its second part (when the call completed).
 */
function joinResumedCalls(lines: readonly string[]): string[] {
  const started = new Map<string, string>();
  const joined: string[] = [];
  for (const line of lines) {
    const unfinished = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished) {
      started.set(unfinished[1]!, unfinished[2]!);
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed && started.has(resumed[1]!)) {
      joined.push(`${resumed[1]} ${started.get(resumed[1]!)}${resumed[2]}`);
      started.delete(resumed[1]!);
      continue;
    }
    joined.push(line);
  }
  return joined;
}
