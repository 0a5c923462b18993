/**
 * End-to-end: how runs fail and what happens next — retries with backoff into the DLQ and back,
 * delayed jobs, commands that cannot start or run too long, workers killed mid-job, locks left
 * behind, and many enqueues at once. Real CLI, real processes; jobs record their runs (job id,
 * attempt, worker pid, shell pid, time) with test/fixtures/record-run.sh.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import {
  allJobs,
  cliJson,
  cliOk,
  processAlive,
  queued,
  readDlqFile,
  readQueueFile,
  runCli,
  startManager,
  waitFor,
  withDeadline,
  workspace,
} from '../helpers.js';
import { readRuns, RECORD, recordingJob, starts } from '../runs-log.js';

/**
 * The job in dlq.json once its move there is complete. A move writes dlq.json first and
 * queue.json second, so for a moment the job is in both files.
 */
async function deadJob(dataDir: string, id: string): Promise<Job | undefined> {
  const dead = readDlqFile(dataDir).find((job) => job.id === id);
  return dead && !readQueueFile(dataDir).some((job) => job.id === id) ? dead : undefined;
}

test('a failing job is retried with exponential backoff, lands in the DLQ, and dlq retry runs it again', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t, { backoff_base: 2, lease: 2 });
  await cliOk(data, ['enqueue', JSON.stringify({ id: 'flaky', command: recordingJob(runs, 0, 3), max_retries: 2 })]);
  const first = startManager(t, data, 1);

  // The DLQ gains the job before the queue loses it (a crash in between must not lose it), so
  // wait for both writes of the move.
  const dead = await waitFor(async () => deadJob(data, 'flaky'), {
    timeoutMs: 20_000,
    what: 'flaky to move to the DLQ',
  });
  const runsSoFar = starts(runs, 'flaky');
  assert.deepEqual(
    runsSoFar.map((run) => run.attempt),
    [1, 2, 3],
    'ran exactly 3 times (1 + max_retries)',
  );
  const gaps = [runsSoFar[1]!.at - runsSoFar[0]!.at, runsSoFar[2]!.at - runsSoFar[1]!.at];
  // Never early; late by no more than a loaded machine's pickup, and short of the next backoff.
  assert.ok(gaps[0]! >= 2_000 && gaps[0]! < 4_000, `gap after the 1st failure was ${gaps[0]} ms, expected about 2 s`);
  assert.ok(gaps[1]! >= 4_000 && gaps[1]! < 6_000, `gap after the 2nd failure was ${gaps[1]} ms, expected about 4 s`);

  assert.equal(dead.state, 'dead');
  assert.equal(dead.attempts, 3);
  assert.equal(dead.exit_code, 3);
  assert.match(dead.last_error ?? '', /exit code 3\b/);
  const listed = await cliJson<Job[]>(data, ['dlq', 'list']);
  assert.deepEqual(
    listed.map((job) => [job.id, job.state]),
    [['flaky', 'dead']],
  );

  // Stop the workers so that the revived job can be seen waiting.
  process.kill(first.pid, 'SIGTERM');
  assert.equal(await withDeadline(first.exited, 10_000, 'the manager to exit'), 0, first.output());
  await cliOk(data, ['dlq', 'retry', 'flaky']);
  const revived = (await queued(data)).find((job) => job.id === 'flaky');
  assert.equal(revived?.state, 'pending');
  assert.equal(revived?.attempts, 0);
  assert.equal(revived?.last_error, null);
  assert.ok(!readDlqFile(data).some((job) => job.id === 'flaky'), 'dlq retry takes the job out of dlq.json');
  assert.deepEqual(await cliJson<Job[]>(data, ['dlq', 'list']), []);

  startManager(t, data, 1);
  const again = await waitFor(async () => starts(runs, 'flaky')[3], { what: 'the revived job to run' });
  assert.equal(again.attempt, 1, 'the revived job starts again from its first attempt');
});

test('a delayed job does not run before its run_at, and runs after it', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t);
  startManager(t, data, 1);
  const job = await cliJson<Job>(data, ['enqueue', '--id', 'later', '--delay', '2s', '--command', recordingJob(runs)]);
  const runAt = Date.parse(job.run_at);
  assert.ok(runAt >= Date.parse(job.created_at) + 2_000, `run_at ${job.run_at} is not 2 s after ${job.created_at}`);

  await waitFor(async () => (await allJobs(data)).get('later')?.state === 'completed', { timeoutMs: 15_000, what: 'the delayed job to complete' });
  const [run] = starts(runs, 'later');
  assert.ok(run, 'the delayed job ran');
  assert.ok(run.at >= runAt, `started at ${new Date(run.at).toISOString()}, before its run_at ${job.run_at}`);
  assert.equal(starts(runs, 'later').length, 1);
});

test('a job whose working directory does not exist fails with a clear last_error', { timeout: 30_000 }, async (t) => {
  const { data, work } = workspace(t);
  // It exists when the job is enqueued (enqueue refuses one that does not), and is gone by its run.
  const missing = join(work, 'no-such-dir');
  mkdirSync(missing);
  await cliOk(data, ['enqueue', JSON.stringify({ id: 'nowhere', command: 'echo hi', cwd: missing, max_retries: 0 })]);
  rmdirSync(missing);
  startManager(t, data, 1);

  const dead = await waitFor(async () => deadJob(data, 'nowhere'), { what: 'the job to reach the DLQ' });
  assert.equal(dead.attempts, 1);
  assert.equal(dead.exit_code, null);
  assert.match(dead.last_error ?? '', /could not start/);
  assert.ok(dead.last_error?.includes(missing), `last_error does not name ${missing}: ${dead.last_error}`);
  assert.match(dead.last_error ?? '', /does not exist/);
  const log = (await cliOk(data, ['logs', 'nowhere'])).stdout;
  assert.match(log, new RegExp(`^--- queuectl: run 1 of 1 command could not start: working directory ${missing} does not exist$`, 'm'));
  assert.doesNotMatch(log, /after \d/, 'no duration for a run that never started');
});

test('a job whose environment is larger than the system lets a program have fails as not started; its worker is not lost', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  // Each variable fits (enqueue refuses one that does not), but together they pass the 6 MiB a
  // new program's arguments and environment may take on Linux, whatever the stack's limit: E2BIG.
  const env = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`V${i}`, 'x'.repeat(120_000)]));
  await cliOk(data, ['enqueue', '--file', '-'], { input: `${JSON.stringify({ id: 'huge-env', command: 'true', max_retries: 0, env })}\n` });
  startManager(t, data, 1);
  const dead = await waitFor(async () => deadJob(data, 'huge-env'), { what: 'the job to reach the DLQ' });
  assert.equal(dead.attempts, 1);
  assert.match(dead.last_error ?? '', /^command could not start: spawn E2BIG \(the command or a variable of its environment is longer than the system allows/);
});

test("queuectl's line after a run's output starts on a line of its own, even when the output has no final newline", { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'bare', '--command', 'printf abc']);
  startManager(t, data, 1);
  await waitFor(async () => (await allJobs(data)).get('bare')?.state === 'completed', { what: 'the job to complete' });
  const log = (await cliOk(data, ['logs', 'bare'])).stdout;
  assert.match(log, /\nabc\n--- queuectl: run 1 of 4 exited with code 0 after \d+\.\d\d s\n$/);
});

test('a job over its timeout is killed with everything it started, and the failure says timed out', { timeout: 30_000 }, async (t) => {
  const { data, work } = workspace(t);
  const pidFile = join(work, 'bg.pid');
  await cliOk(data, [
    'enqueue',
    JSON.stringify({
      id: 'slowpoke',
      command: `sleep 30 & echo $! > '${pidFile}'; sleep 30`,
      cwd: work,
      timeout: 1,
      max_retries: 0,
    }),
  ]);
  startManager(t, data, 1);

  const dead = await waitFor(async () => deadJob(data, 'slowpoke'), { timeoutMs: 15_000, what: 'the job to time out' });
  assert.equal(dead.exit_code, null);
  assert.match(dead.last_error ?? '', /timed out after 1 s/);
  const started = Date.parse(dead.started_at!);
  const finished = Date.parse(dead.finished_at!);
  assert.ok(finished - started >= 1_000 && finished - started < 4_000, `the run lasted ${finished - started} ms`);

  const background = Number(readFileSync(pidFile, 'utf8').trim());
  assert.ok(background > 0, 'the job wrote its background pid');
  await waitFor(async () => !processAlive(background), { timeoutMs: 8_000, what: `background child ${background} to be killed` });
});

test('when a worker is killed with -9 mid-job, the job is taken back after its lease and run again to completion', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t, { lease: 1, backoff_base: 1 });
  const manager = startManager(t, data, 1);
  // The first run would go on for 8 s: long past the lease, the backoff and the respawn of a
  // worker, so that a first run left running would certainly overlap the second.
  const seconds = '$([ "$QUEUECTL_ATTEMPT" = 1 ] && echo 8 || echo 0.5)';
  await cliOk(data, ['enqueue', '--id', 'survivor', '--command', `sh '${RECORD}' '${runs}' $PPID ${seconds}`]);

  const firstRun = await waitFor(async () => {
      const job = (await allJobs(data)).get('survivor');
      const run = starts(runs, 'survivor')[0];
      return job?.state === 'processing' && job.lease.worker_pid !== null && run ? { job, run } : null;
    },
    { what: 'the job to be running' },
  );
  const victim = firstRun.job.lease!.worker_pid!;
  assert.equal(firstRun.run.worker, victim, 'the runs log and the lease name the same worker');
  process.kill(victim, 'SIGKILL');

  // The moment the second run starts, the first run must be over.
  const secondRun = await waitFor(async () => starts(runs, 'survivor')[1], { timeoutMs: 20_000, what: 'the job to run again' });
  const firstStillRunning = processAlive(firstRun.run.shell);

  await waitFor(async () => (await allJobs(data)).get('survivor')?.state === 'completed', { timeoutMs: 20_000, what: 'the job to complete' });
  const job = (await allJobs(data)).get('survivor')!;
  assert.equal(job.attempts, 2);
  assert.equal(secondRun.attempt, 2);
  assert.notEqual(secondRun.worker, victim, 'the second run is on another worker');
  assert.ok(!processAlive(victim));
  const log = readRuns(runs);
  const firstEnds = log.filter((run) => run.attempt === 1 && run.event !== 'start');
  assert.ok(
    !firstStillRunning && firstEnds.every((end) => end.at <= secondRun.at),
    `the job ran twice at once: run 1 (shell ${firstRun.run.shell}, worker ${victim}) ` +
      `${firstStillRunning ? 'was still running' : 'ended'} when run 2 (worker ${secondRun.worker}) started; ` +
      `runs log:\n${readFileSync(runs, 'utf8')}`,
  );
  assert.ok(
    log.some((run) => run.attempt === 2 && run.event === 'end'),
    'the second run ran to its end',
  );
  assert.match(manager.output(), new RegExp(`worker ${victim} was killed by SIGKILL`));
  // The job's log says how run 1 ended, between its header and run 2's.
  const output = (await cliOk(data, ['logs', 'survivor'])).stdout;
  assert.match(output, new RegExp(`--- queuectl: run 1 of \\d+ started [^\\n]*\\n(?:[^\\n]*\\n)*--- queuectl: run 1 of \\d+ lost: worker ${victim} was killed by SIGKILL\\n--- queuectl: run 2 of \\d+ started`));
});

test('a job that kills its own worker goes to the DLQ after 1 + max_retries claims instead of looping', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t, { lease: 1, backoff_base: 1 });
  await cliOk(data, ['enqueue', JSON.stringify({ id: 'killer', command: `${recordingJob(runs)} && kill -9 $PPID`, max_retries: 1 })]);
  startManager(t, data, 1);

  const dead = await waitFor(async () => deadJob(data, 'killer'), { timeoutMs: 20_000, what: 'the job to reach the DLQ' });
  assert.deepEqual(
    starts(runs, 'killer').map((run) => run.attempt),
    [1, 2],
    'claimed exactly twice',
  );
  const workers = starts(runs, 'killer').map((run) => run.worker);
  assert.notEqual(workers[0], workers[1], 'each run killed its own worker');
  assert.equal(dead.attempts, 2);
  assert.match(dead.last_error ?? '', /lease expired|worker lost/);
});

test('enqueue takes over a stale lock left by a killed process', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  const lock = join(data, '.lock');
  mkdirSync(lock);
  const minuteAgo = new Date(Date.now() - 60_000);
  utimesSync(lock, minuteAgo, minuteAgo);

  const started = Date.now();
  await cliOk(data, ['enqueue', '--id', 'after-crash', '--command', 'true']);
  assert.ok(Date.now() - started < 10_000);
  assert.deepEqual(
    (await queued(data)).map((job) => [job.id, job.state]),
    [['after-crash', 'pending']],
  );
  assert.ok(!existsSync(lock), 'the lock was released after the enqueue');
});

test('enqueue waits while another process holds a fresh lock, then succeeds once it is released', { timeout: 30_000 }, async (t) => {
  const { data } = workspace(t);
  const lock = join(data, '.lock');
  mkdirSync(lock);
  const keepFresh = setInterval(() => {
    const now = new Date();
    utimesSync(lock, now, now);
  }, 250);
  t.after(() => clearInterval(keepFresh));

  let settled = false;
  const enqueue = runCli(data, ['enqueue', '--id', 'patient', '--command', 'true']).finally(() => (settled = true));
  // The holder keeps its lock for 3 s (this wait is the scenario, not a guess at a condition).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  assert.equal(settled, false, 'enqueue did not wait for the lock');
  assert.deepEqual((await queued(data)), []);

  clearInterval(keepFresh);
  rmdirSync(lock);
  const result = await enqueue;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    (await queued(data)).map((job) => job.id),
    ['patient'],
  );
});

test('20 concurrent enqueue processes all succeed and every job is stored exactly once', { timeout: 60_000 }, async (t) => {
  const { data } = workspace(t);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => runCli(data, ['enqueue', '--command', `echo ${i}`, '--json'])),
  );
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  const ids = results.map((result) => (JSON.parse(result.stdout) as Job).id);
  assert.equal(new Set(ids).size, 20, 'every enqueue got its own id');

  const queue = (await queued(data));
  assert.equal(queue.length, 20);
  assert.deepEqual(queue.map((job) => job.id).sort(), [...ids].sort());
  assert.deepEqual(queue.map((job) => job.command).sort(), Array.from({ length: 20 }, (_, i) => `echo ${i}`).sort());
});
