/**
 * End-to-end tests of operating the queue day to day: cancel, prune, stats, status --watch and
 * the hidden command aliases (waiting on jobs is waiting.test.ts). Real CLI, real worker processes; jobs
 * record their runs with test/fixtures/record-run.sh. Terminal behaviour is checked under a
 * real pseudo-terminal made by script(1).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import {
  CLI,
  cliCode as cli,
  cliJson,
  cliOk,
  describeRun,
  jobsOf,
  rejected,
  processAlive,
  readDlqFile,
  readQueueFile,
  runCli,
  snapshotDir,
  startManager,
  tempDataDir,
  waitFor,
  withDeadline,
  workspace,
} from '../helpers.js';
import { readRuns, recordingJob, starts } from '../runs-log.js';
import { ago, DAY, failed, finished, ids, MINUTE, pending, processing, SECOND, stateOf, writeJobs, writeLog } from '../crafted-jobs.js';
import { inTerminal } from '../terminal.js';

// ---- cancel -------------------------------------------------------------------------------------

describe('cancel', () => {
  test('a canceled pending job never runs, and every reader shows it canceled', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t);
    await cliOk(data, ['enqueue', '--id', 'stop-me', '--command', recordingJob(runs)]);
    await cliOk(data, ['enqueue', '--id', 'keep-me', '--command', recordingJob(runs)]);
    const result = await cli(data, ['cancel', 'stop-me'], 0);
    assert.equal(result.stdout, 'canceled stop-me (was pending)\n');

    startManager(t, data, 1);
    await cliOk(data, ['wait', 'keep-me']);
    assert.deepEqual(starts(runs, 'stop-me'), [], 'the canceled job never ran');
    const job = await cliJson<Job>(data, ['show', 'stop-me']);
    assert.equal(job.state, 'canceled');
    assert.equal(job.attempts, 0);
    assert.equal(job.started_at, null);
    assert.equal(job.lease, null);
    assert.equal(job.last_error, 'canceled by user while pending');
    assert.ok(Date.parse(job.finished_at!) > 0);
    assert.ok(readQueueFile(data).some((entry) => entry.id === 'stop-me'), 'kept in queue.json for inspection');

    assert.deepEqual(ids(await cliJson<Job[]>(data, ['list', '--state', 'canceled'])), ['stop-me']);
    const status = await cliJson<{ counts: Record<string, number> }>(data, ['status']);
    assert.deepEqual(status.counts, { pending: 0, processing: 0, failed: 0, completed: 1, dead: 0, canceled: 1 });
    assert.match((await cliOk(data, ['list'])).stdout, /^stop-me\s+canceled\s/m);
    assert.match((await cliOk(data, ['show', 'stop-me'])).stdout, /^in\s+queue\.json$/m);
    const logs = await cliOk(data, ['logs', 'stop-me']);
    assert.equal(logs.stdout, '', 'a job that never ran has no log');
    assert.match(logs.stderr, /^job stop-me never ran \(canceled by user while pending at \d{4}-\d\d-\d\dT[\d:.]+Z\)\n$/);
    assert.equal(existsSync(join(data, 'logs', 'stop-me.log')), false);
  });

  test('a failed job waiting for its retry is canceled and keeps why its last run failed', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    writeJobs(data, [failed('retrying'), pending('other')]);
    const result = await cli(data, ['cancel', 'retrying', '--json'], 0);
    const [job] = JSON.parse(result.stdout) as Job[];
    assert.equal(job?.state, 'canceled');
    assert.equal(job?.exit_code, 3);
    assert.equal(job?.last_error, 'canceled by user while waiting to retry (last run: command failed with exit code 3)');
    assert.equal(await stateOf(data, 'retrying'), 'canceled');
    assert.equal(await stateOf(data, 'other'), 'pending');
  });

  test('canceling a running job kills its process group, background child included, and it is not retried', { timeout: 60_000 }, async (t) => {
    const { data, work, runs } = workspace(t);
    const pidFile = join(work, 'bg.pid');
    const command = `sleep 60 & echo $! > '${pidFile}'; ${recordingJob(runs, 60)}`;
    await cliOk(data, ['enqueue', JSON.stringify({ id: 'victim', command, max_retries: 3 })]);
    const manager = startManager(t, data, 1);
    const run = await waitFor(async () => starts(runs, 'victim')[0], { what: 'the job to start' });
    const background = await waitFor(async () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0), { what: 'the background pid' });
    assert.ok(processAlive(background) && processAlive(run.shell));

    const started = Date.now();
    const result = await cli(data, ['cancel', 'victim'], 0);
    const took = Date.now() - started;
    assert.match(result.stdout, /^canceled victim \(was running; \d+ process(es)? stopped with SIGTERM\)$/m);
    assert.ok(took < 10_000, `cancel took ${took} ms`); // the SIGTERM above already says no grace period was waited out
    assert.equal(processAlive(background), false, `background child ${background} is gone when cancel returns`);
    assert.equal(processAlive(run.shell), false, `job shell ${run.shell} is gone when cancel returns`);

    const job = await cliJson<Job>(data, ['show', 'victim']);
    assert.equal(job.state, 'canceled');
    assert.equal(job.lease, null);
    assert.equal(job.last_error, 'canceled by user while running; run 1 was killed');

    // The worker sees its command die, finds its token gone and records nothing over canceled.
    await waitFor(async () => manager.output().includes("victim: canceled; this run's outcome is dropped"), {
      what: 'the worker to drop the outcome',
    });
    assert.equal(await stateOf(data, 'victim'), 'canceled');
    await cliOk(data, ['enqueue', '--id', 'next', '--command', recordingJob(runs)]);
    await cliOk(data, ['wait', 'next', '--timeout', '20']);
    assert.equal(await stateOf(data, 'victim'), 'canceled');
    assert.equal(starts(runs, 'victim').length, 1, 'a canceled job is not retried');
    assert.ok(readRuns(runs).some((entry) => entry.id === 'victim' && entry.event === 'term'), 'the job got SIGTERM');
  });

  test('canceling a job that ignores SIGTERM names SIGKILL, which stopped it after the grace period', { timeout: 60_000 }, async (t) => {
    const { data, runs } = workspace(t);
    await cliOk(data, ['enqueue', '--id', 'stubborn', '--command', `trap '' TERM; ${recordingJob(runs, 60)}`]);
    startManager(t, data, 1);
    const run = await waitFor(async () => starts(runs, 'stubborn')[0], { what: 'the job to start' });
    const started = Date.now();
    const result = await cli(data, ['cancel', 'stubborn'], 0);
    const took = Date.now() - started;
    assert.match(result.stdout, /^canceled stubborn \(was running; \d+ process(es)? stopped with SIGKILL: SIGTERM did not stop (it|them) within 5 s\)$/m);
    assert.ok(took >= 4_000, `cancel returned after ${took} ms, before the grace period ended`);
    assert.equal(processAlive(run.shell), false);
  });

  test('cancel --all names the runs it stopped and counts the rest, as prune counts; the jobs that never ran get no log', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    writeJobs(data, [...Array.from({ length: 300 }, (_, i) => pending(`p${i}`)), failed('f'), processing('r')]);
    writeLog(data, 'f');
    const result = await cli(data, ['cancel', '--all'], 0);
    assert.match(result.stdout, /^canceled r \(was running; no process of its run was found\)\ncanceled 302 jobs \(300 pending, 1 failed, 1 processing\)\n$/);
    assert.deepEqual(readdirSync(join(data, 'logs')).sort(), ['f.log', 'r.log'], 'a log for each job that ran, none for the 300 that never did');
    assert.match(readFileSync(join(data, 'logs', 'f.log'), 'utf8'), /^output of f\n--- queuectl: canceled by user while waiting to retry /);
  });

  test('Ctrl-C once the cancel is written lets it finish: exit 0, and it says so', { timeout: 60_000 }, async (t) => {
    const { data, runs } = workspace(t);
    await cliOk(data, ['enqueue', '--id', 'stubborn', '--command', `trap '' TERM; ${recordingJob(runs, 60)}`]);
    await cliOk(data, ['enqueue', '--id', 'waiting', '--command', 'true', '--delay', '1h']);
    startManager(t, data, 1);
    await waitFor(async () => starts(runs, 'stubborn')[0], { what: 'the job to start' });
    const child = spawn(process.execPath, [CLI, '--data-dir', data, 'cancel', '--all'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
    // Written, and waiting out the 5 s before SIGKILL for the run that ignores SIGTERM.
    await waitFor(async () => readQueueFile(data).every((job) => job.state === 'canceled') || undefined, { what: 'the cancel to be written' });
    child.kill('SIGINT');
    const [code, signal] = await withDeadline(ended, 20_000, 'cancel to end');
    assert.deepEqual([code, signal], [0, null], `stdout: ${stdout}\nstderr: ${stderr}`);
    assert.match(stdout, /^canceled stubborn \(was running; \d+ process(es)? stopped with SIGKILL/m);
    assert.match(stdout, /^canceled 2 jobs \(1 pending, 1 processing\)$/m);
    assert.equal(stderr, 'queuectl: SIGINT came too late to stop the cancel: it went through, as said above\n');
  });

  test('a finished or unknown job cannot be canceled: exit 2, nothing changes, not even the other ids', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    writeJobs(
      data,
      [pending('p'), finished('c', 'completed', MINUTE), finished('k', 'canceled', MINUTE)],
      [finished('d', 'dead', MINUTE)],
    );
    await rejected(data, ['cancel', 'p', 'c'], /^queuectl: job "c" is already completed; only pending, failed or processing jobs can be canceled/);
    await rejected(data, ['cancel', 'd'], /job "d" is already dead \(in the DLQ\)/);
    await rejected(data, ['cancel', 'k'], /job "k" is already canceled/);
    await rejected(data, ['cancel', 'p', 'ghost'], /^queuectl: no job "ghost" in the queue or the DLQ; nothing was canceled/);
    await rejected(data, ['cancel'], /^queuectl: cancel needs the id of at least one job, or --all or --state/);
    assert.equal(await stateOf(data, 'p'), 'pending');
  });

  test('dlq retry does not revive a canceled job', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    writeJobs(data, [finished('k', 'canceled', MINUTE)]);
    await rejected(data, ['dlq', 'retry', 'k'], /job "k" is not in the DLQ \(it is canceled\)/);
  });
});

// ---- prune --------------------------------------------------------------------------------------

describe('prune', () => {
  function pruneDir(t: Parameters<typeof tempDataDir>[0]): string {
    const data = tempDataDir(t);
    const queue = [
      pending('p'),
      processing('r'),
      failed('f'),
      finished('c-old', 'completed', 10 * DAY),
      finished('c-new', 'completed', MINUTE),
      finished('k-old', 'canceled', 8 * DAY),
      finished('k-new', 'canceled', MINUTE),
    ];
    const dlq = [finished('d-old', 'dead', 30 * DAY), finished('d-new', 'dead', MINUTE)];
    writeJobs(data, queue, dlq);
    for (const job of [...queue, ...dlq]) writeLog(data, job.id);
    return data;
  }
  const logs = (data: string) => readdirSync(join(data, 'logs')).sort();

  test('--older-than removes completed and canceled jobs finished before then, with their logs', { timeout: 30_000 }, async (t) => {
    const data = pruneDir(t);
    const result = await cli(data, ['prune', '--older-than', '7d'], 0);
    assert.equal(result.stdout, 'pruned 2 jobs (1 completed, 1 canceled) and their logs\n');
    assert.deepEqual(ids(readQueueFile(data)), ['p', 'r', 'f', 'c-new', 'k-new']);
    assert.deepEqual(ids(readDlqFile(data)), ['d-old', 'd-new'], 'dead jobs stay unless --state names them');
    assert.deepEqual(logs(data), ['c-new.log', 'd-new.log', 'd-old.log', 'f.log', 'k-new.log', 'p.log', 'r.log']);
  });

  test('the default is every completed and canceled job; --json prints the removed ids', { timeout: 30_000 }, async (t) => {
    const data = pruneDir(t);
    assert.deepEqual(await cliJson(data, ['prune']), ['c-old', 'c-new', 'k-old', 'k-new']);
    assert.deepEqual(ids(readQueueFile(data)), ['p', 'r', 'f'], 'pending, processing and failed jobs are never pruned');
    assert.deepEqual(await cliJson(data, ['prune']), [], 'nothing left to prune');
    assert.equal((await cli(data, ['prune'], 0)).stdout, 'nothing to prune: no completed or canceled jobs\n');
  });

  test('--state dead prunes the DLQ; states combine with commas and with --older-than', { timeout: 30_000 }, async (t) => {
    const data = pruneDir(t);
    assert.deepEqual(await cliJson(data, ['prune', '--state', 'dead,completed', '--older-than', '9d']), ['c-old', 'd-old']);
    assert.deepEqual(ids(readDlqFile(data)), ['d-new']);
    assert.deepEqual(await cliJson(data, ['prune', '--state', 'dead']), ['d-new']);
    assert.deepEqual(readDlqFile(data), []);
    assert.ok(readQueueFile(data).some((job) => job.id === 'k-old'), 'canceled jobs were not named');
  });

  test('--dry-run says what would go and deletes nothing', { timeout: 30_000 }, async (t) => {
    const data = pruneDir(t);
    const before = snapshotDir(data);
    const result = await cli(data, ['prune', '--dry-run', '--state', 'completed,canceled,dead'], 0);
    assert.equal(result.stdout, 'would prune 6 jobs (2 completed, 2 dead, 2 canceled)\n');
    assert.deepEqual(snapshotDir(data), before);
  });

  test('unfinished or unknown states and bad ages are bad input', { timeout: 30_000 }, async (t) => {
    const data = pruneDir(t);
    await rejected(data, ['prune', '--state', 'pending'], /--state: "pending" jobs are not finished and are never pruned/);
    await rejected(data, ['prune', '--state', 'processing,completed'], /never pruned/);
    await rejected(data, ['prune', '--state', 'everything'], /unknown state "everything"/);
    await rejected(data, ['prune', '--older-than', 'a week'], /--older-than must be a duration such as 90, 1.5, 500ms, 90s, 5m, 2h or 1d/);
    await rejected(data, ['prune', 'c-old'], /Unused args: `c-old`/);
  });

  test('retention moves old canceled jobs out of queue.json into the archive, as it does completed ones', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t, { retention: 0 });
    const old = Array.from({ length: 100 }, (_, i) => finished(`k${i}`, 'canceled', DAY - i * SECOND));
    writeJobs(data, [...old, pending('last')]);
    await cliOk(data, ['cancel', 'last']); // the 101st finished job: past retention + 100
    assert.deepEqual(readQueueFile(data), []);
    const batches = readdirSync(join(data, 'archive')).filter((name) => name.endsWith('.json')); // beside them, their logs
    const archived = batches.flatMap((name) => (JSON.parse(readFileSync(join(data, 'archive', name), 'utf8')) as { jobs: Job[] }).jobs);
    assert.equal(archived.length, 101);
    assert.ok(archived.every((job) => job.state === 'canceled'));
  });
});

// ---- stats --------------------------------------------------------------------------------------

describe('stats', () => {
  test('stats --json computes counts, throughput, failure rate, run times and the oldest waiting job', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    writeJobs(
      data,
      [
        finished('c1', 'completed', 10 * SECOND, 1 * SECOND),
        finished('c2', 'completed', 20 * SECOND, 2 * SECOND),
        finished('c3', 'completed', 10 * MINUTE, 3 * SECOND),
        finished('c4', 'completed', 2 * 60 * MINUTE, 4 * SECOND),
        finished('k1', 'canceled', 5 * SECOND, 60 * SECOND),
        pending('waiting-long', { run_at: ago(30 * MINUTE) }),
        pending('waiting-short', { run_at: ago(SECOND) }),
        pending('later', { run_at: new Date(Date.now() + DAY).toISOString() }),
        processing('r1'),
        failed('f1'),
      ],
      [finished('d1', 'dead', 30 * MINUTE, 10 * SECOND), finished('d2', 'dead', 3 * 60 * MINUTE, 20 * SECOND)],
    );
    interface Stats {
      counts: Record<string, number>;
      throughput: { last_minute: number; last_hour: number };
      failure_rate: { last_hour: number | null; all: number | null };
      run_time_ms: { runs: number; p50: number | null; p95: number | null };
      oldest_pending: { id: string; waiting_ms: number } | null;
    }
    const stats = await cliJson<Stats>(data, ['stats']);
    assert.deepEqual(stats.counts, { pending: 3, processing: 1, failed: 1, completed: 4, dead: 2, canceled: 1 });
    assert.deepEqual(stats.throughput, { last_minute: 2, last_hour: 4 });
    assert.deepEqual(stats.failure_rate, { last_hour: 0.25, all: 2 / 6 });
    const runTimes = stats.run_time_ms;
    assert.equal(runTimes.runs, 6);
    // Run times 1, 2, 3, 4, 10 and 20 s, to the millisecond of the ISO times.
    assert.ok(Math.abs(runTimes.p50! - 3 * SECOND) <= 2, `p50 ${runTimes.p50}`);
    assert.ok(Math.abs(runTimes.p95! - 20 * SECOND) <= 2, `p95 ${runTimes.p95}`);
    assert.equal(stats.oldest_pending?.id, 'waiting-long');
    assert.ok(Math.abs(stats.oldest_pending!.waiting_ms - 30 * MINUTE) < 10 * SECOND);

    const human = (await cliOk(data, ['stats'])).stdout;
    assert.match(human, /^finished\s+2 in the last minute, 4 in the last hour/m);
    assert.match(human, /^failure rate\s+25\.0% in the last hour, 33\.3% of the finished jobs kept$/m);
    assert.match(human, /^run time\s+p50 3\.00 s, p95 20\.0 s \(last run of 6 finished jobs\)$/m);
    assert.match(human, /^oldest pending\s+waiting-long, waiting for 30m 0\ds$/m);
  });

  test('stats counts the jobs that completed in the last hour though retention moved them to the archive', { timeout: 60_000 }, async (t) => {
    const data = tempDataDir(t, { retention: 0 });
    const all = Array.from({ length: 130 }, (_, i) => `r${i}`);
    await cliOk(data, ['enqueue', '--file', '-'], { input: all.map((id) => JSON.stringify({ id, command: 'true' })).join('\n') });
    startManager(t, data, 2);
    await cliOk(data, ['wait', '--timeout', '40s', ...all]);
    assert.ok(readdirSync(join(data, 'archive')).some((name) => name.endsWith('.json')), 'retention archived some');
    assert.ok((await jobsOf(data)).length < all.length, 'the queue lists fewer than ran');
    const stats = await cliJson<{ throughput: unknown; failure_rate: { last_hour: number | null } }>(data, ['stats']);
    assert.deepEqual(stats.throughput, { last_minute: 130, last_hour: 130 });
    assert.equal(stats.failure_rate.last_hour, 0);
    assert.deepEqual((await cliJson<{ throughput: unknown }>(data, ['stats', '-q', 'default'])).throughput, { last_minute: 130, last_hour: 130 });
    assert.deepEqual((await cliJson<{ throughput: unknown }>(data, ['stats', '-q', 'other'])).throughput, { last_minute: 0, last_hour: 0 });
  });

  test('stats on an empty data dir has no figures rather than errors', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    const stats = await cliJson<{ run_time_ms: unknown; oldest_pending: unknown }>(data, ['stats']);
    assert.deepEqual(stats.run_time_ms, { runs: 0, p50: null, p95: null });
    assert.equal(stats.oldest_pending, null);
    assert.match((await cliOk(data, ['stats'])).stdout, /^run time\s+- \(no finished runs\)$/m);
  });
});

// ---- status --watch -----------------------------------------------------------------------------

describe('status --watch', () => {
  test('on a terminal it clears the screen and redraws until Ctrl-C, then exits 0', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    await cliOk(data, ['enqueue', '--id', 'seen', '--command', 'true']);
    const terminal = inTerminal(t, data, ['status', '--watch', '--interval', '100']);
    await waitFor(async () => terminal.output().split('\u001b[H\u001b[2J').length > 3, { what: 'three frames' });
    terminal.type('\u0003'); // Ctrl-C
    assert.equal(await terminal.exited, 0, terminal.output());
    const frames = terminal.output().split('\u001b[H\u001b[2J').slice(1);
    assert.match(frames[0]!, /^every 100 ms: queuectl status/);
    assert.match(frames[0]!, /jobs: +pending 1 +processing 0/);
  });

  test('when stdout is not a terminal it is refused with exit 2, as are --json and a lone --interval', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    await rejected(data, ['status', '--watch'], /^queuectl: status --watch needs a terminal on stdout; for a script, run status --json/);
    await rejected(data, ['status', '--watch', '--json'], /--json prints status once/);
    await rejected(data, ['status', '--interval', '500'], /--interval goes with --watch/);
    await rejected(data, ['status', '--watch', '--interval', '5'], /--interval must be at least 100 ms, got "5"/);
  });
});

// ---- aliases and help ---------------------------------------------------------------------------

describe('aliases and help', () => {
  test('group-action and group:action spellings work for every grouped command', { timeout: 60_000 }, async (t) => {
    const data = tempDataDir(t);
    writeJobs(data, [], [finished('d', 'dead', MINUTE)]);
    for (const spelling of ['dlq-list', 'dlq:list']) assert.deepEqual(ids(await cliJson<Job[]>(data, [spelling])), ['d'], spelling);
    await cliOk(data, ['config-set', 'max-retries', '5']);
    await cliOk(data, ['config:set', 'backoff_base', '3']);
    assert.equal((await cliOk(data, ['config-get', 'max_retries'])).stdout, '5\n');
    assert.equal((await cliOk(data, ['config:get', 'backoff-base'])).stdout, '3\n');
    await cliOk(data, ['dlq:retry', 'd']);
    assert.equal(await stateOf(data, 'd'), 'pending');
    await cliOk(data, ['dlq-list']);

    const started = await cliOk(data, ['worker:start', '--count', '1', '--detach']);
    assert.match(started.stdout, /started worker manager \d+ with 1 worker\(s\) in the background/);
    await cliOk(data, ['wait', 'd', '--timeout', '20']);
    assert.match((await cliOk(data, ['worker-stop'])).stdout, /stopped 1 manager\(s\)/);
    assert.match((await cliOk(data, ['worker:stop'])).stdout, /no worker manager is running/);
    await cliOk(data, ['worker-start', '--help']);
  });

  test('the aliases are hidden from --help, and an unknown one is an unknown command', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    const help = (await cliOk(data, ['--help'])).stdout;
    assert.doesNotMatch(help, /\b(worker|dlq|config)[-:](start|stop|list|retry|get|set)\b/);
    await rejected(data, ['worker-restart'], /^queuectl: unknown command "worker-restart"/);
    await rejected(data, ['dlq:purge'], /unknown command "dlq:purge"/);
  });

  test('--help of each new command says what it does, its options and exit codes', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    const help = async (...args: string[]) => {
      const result = await cli(data, [...args, '--help'], 0);
      assert.equal(result.stderr, '');
      return result.stdout;
    };
    const top = await help();
    for (const command of ['wait', 'cancel', 'prune', 'stats']) assert.match(top, new RegExp(`^ {2}${command}\\b`, 'm'), command);

    const wait = await help('wait');
    assert.match(wait, /\$ queuectl wait \[ids…\] \[-t D\] \[--json\]/);
    assert.match(wait, /--timeout <duration>/);
    assert.match(wait, /Exit codes:\n {2}0 +every job completed/);
    assert.match(wait, /^ {2}124 +--timeout passed before every job finished$/m);

    const cancel = await help('cancel');
    assert.match(cancel, /\$ queuectl cancel <id…>/);
    assert.match(cancel, /SIGTERM, then SIGKILL after 5 s/);

    const prune = await help('prune');
    assert.match(prune, /--state <states>.*default: completed,canceled/);
    assert.match(prune, /--older-than <duration>/);
    assert.match(prune, /--dry-run/);
    assert.match(prune, /never pruned/);

    assert.match(await help('stats'), /throughput, failure rate, run time p50\/p95/);
    const status = await help('status');
    assert.match(status, /--watch/);
    assert.match(status, /--interval <ms>/);
    const enqueue = await help('enqueue');
    assert.match(enqueue, /--wait +Wait until the job/);
    assert.match(enqueue, /Exit codes with --wait/);
  });
});

// ---- history: retention, the archive, logs -------------------------------------------------

describe('finished jobs stay findable, and the data dir stays bounded', () => {
  /** 101 completed jobs that finished long ago, each with a log: one more completion sends them to the archive. */
  function oldHistory(dataDir: string, count = 101): Job[] {
    const jobs = Array.from({ length: count }, (_, i) => finished(`old${String(i).padStart(3, '0')}`, 'completed', DAY + i * SECOND));
    for (const job of jobs) writeLog(dataDir, job.id);
    return jobs;
  }

  test('show, logs and wait find a job that retention moved to archive/, with its log', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t, { retention: 0 });
    writeJobs(data, oldHistory(data));
    await cliOk(data, ['enqueue', '--id', 'trigger', '--command', recordingJob(runs)]);
    startManager(t, data, 1);
    await waitFor(async () => existsSync(join(data, 'archive')) && readQueueFile(data).every((job) => !job.id.startsWith('old')), { what: 'the archive batch' });

    const shown = await cliJson<Job>(data, ['show', 'old007']);
    assert.equal(shown.state, 'completed');
    assert.match((await cliOk(data, ['show', 'old007'])).stdout, /^in\s+archive\/\S+\.json$/m);
    assert.equal((await cliOk(data, ['logs', 'old007'])).stdout, 'output of old007\n');
    const waited = await runCli(data, ['wait', 'old007', '--json']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal((JSON.parse(waited.stdout) as Job[])[0]?.state, 'completed');
    assert.equal(existsSync(join(data, 'logs', 'old007.log')), false, 'the log left logs/ with its job');
  });

  test('wait on a job that completed reports it completed, even with retention 0 and no archive', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t, { retention: 0, archive: false });
    writeJobs(data, oldHistory(data));
    startManager(t, data, 1);
    // Its completion is the one that sends the old jobs away, in the same write.
    const result = await runCli(data, ['enqueue', '--id', 'mine', '--command', recordingJob(runs, 0.5), '--wait']);
    assert.equal(result.code, 0, describeRun(['enqueue', '--wait'], result));
    assert.match(result.stdout, /^mine completed$/m);
    await waitFor(async () => readQueueFile(data).length <= 2, { what: 'the old jobs to be deleted' });
    assert.deepEqual(readdirSync(join(data, 'logs')).sort(), ['mine.log'], 'their logs were deleted with them');
  });

  test('prune deletes the logs of the jobs it deletes; prune --archive deletes archive batches with theirs', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t, { retention: 0 });
    writeJobs(data, [...oldHistory(data), finished('recent', 'completed', MINUTE)]);
    writeLog(data, 'recent');
    await cliOk(data, ['enqueue', '--id', 'trigger', '--command', recordingJob(runs)]);
    const manager = startManager(t, data, 1);
    await waitFor(async () => existsSync(join(data, 'archive')), { what: 'the archive batch' });
    process.kill(manager.pid, 'SIGTERM');
    await manager.exited;
    const batches = () => readdirSync(join(data, 'archive')).sort();
    assert.deepEqual(batches().map((name) => name.replace(/^.*?(\.\w+)$/, '$1')), ['.envs', '.json', '.logs'], `a batch, its logs and its environments: ${batches().join(' ')}`);

    assert.deepEqual(JSON.parse((await cliOk(data, ['prune', '--archive', '--older-than', '1h', '--json'])).stdout), []);
    const dry = await cliOk(data, ['prune', '--archive', '--dry-run']);
    assert.match(dry.stdout, /^would prune 1 archive batch \(10[23] jobs\)$/m);
    assert.equal(batches().length, 3, 'a dry run deletes nothing');
    assert.match((await cliOk(data, ['prune', '--archive'])).stdout, /^pruned 1 archive batch \(10[23] jobs and their logs\)$/m);
    assert.deepEqual(batches(), []);
    await rejected(data, ['prune', '--archive', '--state', 'dead'], /--state goes with pruning jobs/);

    await cliOk(data, ['prune']);
    assert.deepEqual(readdirSync(join(data, 'logs')), [], 'prune took the logs of the jobs it deleted');
  });

  test('canceled jobs that retention sends to the archive at once take their logs along, cancel line included', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t, { retention: 0 });
    const ran = Array.from({ length: 150 }, (_, i) => `j${i}`);
    writeJobs(data, [...ran.map((id) => failed(id)), pending('never')]);
    for (const id of ran) writeLog(data, id);
    const result = await cli(data, ['cancel', ...ran, 'never'], 0);
    assert.match(result.stdout, /^canceled j0 \(was waiting to retry\)$/m);
    assert.ok(readQueueFile(data).length <= 100, `${readQueueFile(data).length} jobs still in queue.json`);
    const live = new Set(readQueueFile(data).map((job) => job.id));
    const orphans = readdirSync(join(data, 'logs')).filter((name) => !live.has(name.replace(/\.log$/, '')));
    assert.deepEqual(orphans, [], 'logs of jobs no longer in queue.json');
    const archived = ran.find((id) => !live.has(id))!;
    assert.match((await cliOk(data, ['logs', archived])).stdout, new RegExp(`^output of ${archived}\\n--- queuectl: canceled by user while waiting to retry `));
    assert.match((await cliOk(data, ['logs', 'never'])).stderr, /^job never never ran \(canceled by user while pending at /);
  });

  test('archive batches older than archive_days are deleted, logs and all, when a new one is written', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t, { retention: 0, archive_days: 1 });
    mkdirSync(join(data, 'archive', '2020-01-01T00-00-00-000Z-1.logs'), { recursive: true });
    writeFileSync(join(data, 'archive', '2020-01-01T00-00-00-000Z-1.json'), '{"version":1,"jobs":[]}\n');
    writeFileSync(join(data, 'archive', '2020-01-01T00-00-00-000Z-1.logs', 'x.log'), 'x\n');
    writeFileSync(join(data, 'archive', 'notes.txt'), 'not ours\n');
    writeJobs(data, oldHistory(data));
    await cliOk(data, ['enqueue', '--id', 'trigger', '--command', recordingJob(runs)]);
    startManager(t, data, 1);
    await waitFor(async () => readQueueFile(data).every((job) => !job.id.startsWith('old')), { what: 'a new batch' });
    const left = readdirSync(join(data, 'archive'));
    assert.ok(!left.some((name) => name.startsWith('2020-')), `the old batch is gone: ${left.join(' ')}`);
    assert.ok(left.includes('notes.txt'), 'a file that is not a batch is left alone');
    assert.equal(left.filter((name) => name.endsWith('.json')).length, 1);
  });

  test('under a steady stream of jobs, queue.json, logs/ and archive/ stay bounded', { timeout: 90_000 }, async (t) => {
    // Retention 50 to reach the steady state in seconds; the bound is the same rule at any setting.
    const { data, work } = workspace(t, { retention: 50 });
    startManager(t, data, 2);
    const batch = join(work, 'batch.ndjson');
    for (let round = 0; round < 6; round++) {
      writeFileSync(batch, Array.from({ length: 100 }, (_, i) => JSON.stringify({ command: `echo ${round}-${i}` })).join('\n'));
      await cliOk(data, ['enqueue', '--file', batch, '--wait']);
      // Cancel some too: a canceled job's log (a line saying so) must leave with it as well.
      await cliOk(data, ['enqueue', '--file', batch]);
      const waiting = readQueueFile(data).filter((job) => job.state === 'pending').map((job) => job.id);
      if (waiting.length > 0) await runCli(data, ['cancel', ...waiting]);
      const inQueue = readQueueFile(data);
      const logs = readdirSync(join(data, 'logs'));
      assert.ok(inQueue.length <= 50 + 100 + 100, `round ${round}: ${inQueue.length} jobs in queue.json`);
      const live = new Set(inQueue.map((job) => job.id));
      assert.deepEqual(logs.filter((name) => !live.has(name.replace(/\.log$/, ''))), [], `round ${round}: logs of jobs no longer in queue.json`);
    }
    const archived = readdirSync(join(data, 'archive'));
    const batches = archived.filter((name) => name.endsWith('.json'));
    assert.ok(batches.length >= 3, `${batches.length} batches`);
    for (const name of archived.filter((entry) => entry.endsWith('.logs'))) {
      assert.ok(batches.includes(name.replace(/\.logs$/, '.json')), `${name} belongs to a batch`);
    }
  });
});

describe('list order', () => {
  test('list is oldest first across queue and DLQ; --limit N gives the N most recent of both; --state takes a comma list', async (t) => {
    const data = tempDataDir(t);
    const at = (minutes: number) => ago(DAY - minutes * MINUTE);
    const queue = [pending('q1', { created_at: at(1) }), finished('q3', 'completed', SECOND), pending('q5', { created_at: at(5) })];
    queue[1] = { ...queue[1]!, created_at: at(3) };
    const dlq = [{ ...finished('d2', 'dead', SECOND), created_at: at(2) }, { ...finished('d6', 'dead', SECOND), created_at: at(6) }];
    writeJobs(data, queue, dlq);
    assert.deepEqual(ids(await cliJson<Job[]>(data, ['list'])), ['q1', 'd2', 'q3', 'q5', 'd6']);
    assert.deepEqual(ids(await cliJson<Job[]>(data, ['list', '--limit', '1'])), ['d6']);
    assert.deepEqual(ids(await cliJson<Job[]>(data, ['list', '--limit', '3'])), ['q3', 'q5', 'd6']);
    assert.deepEqual(ids(await cliJson<Job[]>(data, ['list', '--state', 'dead,pending'])), ['q1', 'd2', 'q5', 'd6']);
    await rejected(data, ['list', '--state', 'pending,bogus'], /unknown state "bogus"/);
    await rejected(data, ['list', '--limit', '-1'], /--limit must be a whole number from 1 up, got "-1"/);
    await rejected(data, ['list', '--limit', '0'], /--limit must be a whole number from 1 up, got "0"/);
  });
});
