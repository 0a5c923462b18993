/**
 * End-to-end: what users of task-spooler, pueue, nq and GNU parallel reach for. Jobs run in the
 * environment of their enqueue; commands come without JSON; short options; times as people type
 * them; logs -f; bulk actions and restart; pause. Real CLI, real processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import {
  cliCode as cli,
  rejected,
  allJobs,
  CLI,
  cliJson,
  cliOk,
  deadJobs,
  queued,
  readDlqFile,
  runCli,
  snapshotDir,
  startManager,
  tempDataDir,
  tempDir,
  waitFor,
  waitForAllFinished,
  workspace,
} from '../helpers.js';
import { readRuns, recordingJob, starts } from '../runs-log.js';


const ids = (jobs: readonly Job[]) => jobs.map((job) => job.id);

describe("the enqueuer's environment", () => {
  test('a job runs in the environment of its enqueue: a PATH entry and a variable carry over; --env sets more', { timeout: 30_000 }, async (t) => {
    const { data, work } = workspace(t);
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'mytool'), '#!/bin/sh\necho "mytool: FROM_SHELL=$FROM_SHELL SET=$SET JOB=$QUEUECTL_JOB_ID LEAK=$QUEUECTL_LEAK"\n');
    chmodSync(join(bin, 'mytool'), 0o755);
    startManager(t, data, 1);
    const env = { PATH: `${bin}:${process.env.PATH}`, FROM_SHELL: 'yes', QUEUECTL_LEAK: 'no' };
    await cli(data, ['enqueue', '--id', 'tool', '--env', 'SET=by option', '-w', '--command', 'mytool'], 0, env);
    const log = (await cliOk(data, ['logs', 'tool'])).stdout;
    assert.match(log, /^mytool: FROM_SHELL=yes SET=by option JOB=tool LEAK=$/m, 'QUEUECTL_* of the enqueuer are not carried over');

    const shown = await cliJson<Job>(data, ['show', 'tool']);
    assert.deepEqual(shown.env, { SET: 'by option' }, 'show lists the variables the job sets itself');
    assert.match(shown.env_id ?? '', /^[0-9a-f]{32}$/);
    const text = (await cliOk(data, ['show', 'tool'])).stdout;
    assert.match(text, /^env\s+SET='by option'$/m);
    assert.doesNotMatch(text, /FROM_SHELL/, 'never the captured environment');
  });

  test('with capture_env false, a job runs in the worker\'s environment plus its own --env', { timeout: 30_000 }, async (t) => {
    const { data } = workspace(t);
    await cliOk(data, ['config', 'set', 'capture_env', 'false']);
    startManager(t, data, 1, { FROM_WORKER: 'worker' });
    await cli(data, ['enqueue', '--id', 'w', '--env', 'OWN=own', '-w', '--', 'sh', '-c', 'echo "[$FROM_WORKER] [$FROM_SHELL] [$OWN]"'], 0, { FROM_SHELL: 'shell' });
    assert.match((await cliOk(data, ['logs', 'w'])).stdout, /^\[worker\] \[\] \[own\]$/m);
    assert.equal((await cliJson<Job>(data, ['show', 'w'])).env_id, null);
    assert.equal(existsSync(join(data, 'envs')), false, 'nothing stored');
  });

  test('an environment is stored once for a whole batch, readable by its user only, and deleted when no job refers to it', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    const input = Array.from({ length: 500 }, (_, i) => `echo ${i}`).join('\n');
    const batch = await runCli(data, ['enqueue', '--file', '-', '--lines'], { input, env: { SECRET_TOKEN: 'x'.repeat(1000) } });
    assert.equal(batch.code, 0, batch.stderr);
    const files = readdirSync(join(data, 'envs'));
    assert.equal(files.length, 1, `one file for 500 jobs: ${files.join(' ')}`);
    assert.equal(statSync(join(data, 'envs')).mode & 0o777, 0o700);
    assert.equal(statSync(join(data, 'envs', files[0]!)).mode & 0o777, 0o600);
    const queueText = readFileSync(join(data, 'queue.json'), 'utf8');
    assert.equal(queueText.split('SECRET_TOKEN').length - 1, 0, 'queue.json holds a reference, not the environment');
    assert.equal(new Set((await queued(data)).map((job) => job.env_id)).size, 1);

    await cliOk(data, ['cancel', '--all']);
    await cliOk(data, ['prune']);
    assert.deepEqual(readdirSync(join(data, 'envs')), [], 'no job refers to it any more');
  });

  test('an environment still referred to by a pending job or a dead one stays when others go', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t, { max_retries: 0 });
    await cli(data, ['enqueue', '--id', 'done', '--', 'true'], 0, { WHICH: 'one' });
    await cli(data, ['enqueue', '--id', 'waits', '--delay', '1h', '--', 'true'], 0, { WHICH: 'two' });
    await cli(data, ['enqueue', '--id', 'dies', '--', 'false'], 0, { WHICH: 'three' });
    const all = await allJobs(data);
    const envOf = (id: string) => all.get(id)!.env_id!;
    const [done, waits, dies] = [envOf('done'), envOf('waits'), envOf('dies')];
    assert.equal(new Set([done, waits, dies]).size, 3, 'three environments, one file each');
    startManager(t, data, 1);
    await waitFor(async () => (await allJobs(data)).get('done')?.state === 'completed' && (await deadJobs(data)).length === 1, { what: 'one done, one dead' });
    await cliOk(data, ['prune']);
    const left = readdirSync(join(data, 'envs')).sort();
    assert.deepEqual(left, [`${dies}.json`, `${waits}.json`].sort(), 'only the environment no job refers to is gone');
    await cliOk(data, ['prune', '--state', 'dead']);
    assert.deepEqual(readdirSync(join(data, 'envs')), [`${waits}.json`]);
  });

  test('a job restarted from the archive runs in the environment of its enqueue, kept with its batch, and leaves the batch', { timeout: 60_000 }, async (t) => {
    const data = tempDataDir(t, { retention: 0 });
    await cli(data, ['enqueue', '--id', 'e1', '--', 'sh', '-c', 'echo "MYVAR=$MYVAR"'], 0, { MYVAR: 'from-enqueue' });
    const others = await runCli(data, ['enqueue', '--file', '-', '--lines'], { input: Array.from({ length: 101 }, () => 'true').join('\n'), env: { MYVAR: 'other' } });
    assert.equal(others.code, 0, others.stderr);
    startManager(t, data, 1);
    await cliOk(data, ['wait']);
    const { env_id: envId } = await cliJson<Job>(data, ['show', 'e1']);
    const shown = (await cliOk(data, ['show', 'e1'])).stdout;
    assert.match(shown, /^in\s+archive\/\S+\.json$/m, 'retention moved it to the archive');
    assert.match(shown, /^env_id\s+[0-9a-f]{32} \(the environment of its enqueue, kept with its archive batch\)$/m);
    assert.equal(existsSync(join(data, 'envs', `${envId}.json`)), false, 'envs/ let it go with its last queued job');
    /** The ids in the archive's batches. */
    const inArchive = () =>
      readdirSync(join(data, 'archive'))
        .filter((name) => name.endsWith('.json'))
        .flatMap((name) => (JSON.parse(readFileSync(join(data, 'archive', name), 'utf8')) as { jobs: Job[] }).jobs.map((job) => job.id));
    const archivedBefore = inArchive();
    assert.ok(archivedBefore.includes('e1'));
    const archivedEnvs = readdirSync(join(data, 'archive')).filter((name) => name.endsWith('.envs'));
    assert.equal(archivedEnvs.length, 1, archivedEnvs.join(' '));
    const kept = join(data, 'archive', archivedEnvs[0]!);
    assert.equal(statSync(kept).mode & 0o777, 0o700);
    assert.equal(statSync(join(kept, `${envId}.json`)).mode & 0o777, 0o600);

    // A batch written before the archive kept environments: the restart says so and changes nothing.
    const saved = readFileSync(join(kept, `${envId}.json`));
    rmSync(join(kept, `${envId}.json`));
    const before = snapshotDir(data);
    const refused = await runCli(data, ['restart', 'e1']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^queuectl: cannot restart e1: the environment it ran in \([0-9a-f]{32}\) was deleted when it left for the archive, as queuectl did before it kept a copy there; enqueue its command again\n$/);
    assert.deepEqual(snapshotDir(data), before, 'nothing changed');
    writeFileSync(join(kept, `${envId}.json`), saved, { mode: 0o600 });

    await cliOk(data, ['restart', 'e1']);
    await cliOk(data, ['wait', 'e1']);
    assert.equal((await cliOk(data, ['logs', 'e1'])).stdout.match(/^MYVAR=from-enqueue$/gm)?.length, 2, 'both runs in the environment of the enqueue');
    assert.deepEqual(inArchive(), archivedBefore.filter((id) => id !== 'e1'), 'the restart took it out of its batch, and nothing else');
    assert.equal(existsSync(join(kept, `${envId}.json`)), false, 'the copy of its environment left the batch with it: no other job there ran in it');
    assert.equal((await cliJson<{ throughput: { last_hour: number } }>(data, ['stats'])).throughput.last_hour, 102, 'each job once, as its last run ended');
  });

  test('bad --env is bad input', async (t) => {
    const data = tempDataDir(t);
    await rejected(data, ['enqueue', '--env', 'NOVALUE', '--command', 'true'], /--env takes NAME=VALUE, got "NOVALUE"/);
    await rejected(data, ['enqueue', '--env', 'QUEUECTL_ATTEMPT=9', '--command', 'true'], /QUEUECTL_ATTEMPT is set by queuectl for each run/);
    await rejected(data, ['enqueue', '{"command":"true","env":{"A":"1"}}', '--env', 'B=2'], /"env" is given both in the job and as --env/);
  });
});

describe('commands without JSON', () => {
  test('enqueue -- CMD ARGS runs the words as typed; a JSON job takes options; an integer id is its digits', { timeout: 30_000 }, async (t) => {
    const { data } = workspace(t);
    await cliOk(data, ['enqueue', '--id', 'words', '-p', '3', '--', 'printf', '%s|', 'a b', "it's", '$HOME', '-j4']);
    await cliOk(data, ['enqueue', '{"id":7,"command":"echo seven"}', '--priority', '2', '--delay', '0']);
    const [words, seven] = (await queued(data));
    assert.equal(words?.command, "printf '%s|' 'a b' 'it'\\''s' '$HOME' -j4");
    assert.equal(words?.priority, 3);
    assert.equal(seven?.id, '7');
    assert.equal(seven?.priority, 2);
    startManager(t, data, 1);
    await waitForAllFinished(data);
    assert.match((await cliOk(data, ['logs', 'words'])).stdout, /^a b\|it's\|\$HOME\|-j4\|$/m, 'each word reached the command as it was typed');
  });

  test('a command that is not JSON gets a hint naming --command and --, typed as tsp takes it too', async (t) => {
    const data = tempDataDir(t);
    await rejected(data, ['enqueue', 'echo hi'], /^queuectl: "echo hi" is not a JSON job; to enqueue a command, write queuectl enqueue --command 'echo hi' or queuectl enqueue -- echo hi\n$/);
    await rejected(data, ['enqueue', 'ls | wc -l'], /^queuectl: "ls \| wc -l" is not a JSON job; to enqueue a command, write queuectl enqueue --command 'ls \| wc -l'\n$/);
    await rejected(data, ['enqueue', 'make', 'test', '-j4'], /^queuectl: "make test -j4" is not one JSON job; to enqueue it as a command, write queuectl enqueue -- make test -j4\n$/);
    await rejected(data, ['enqueue', 'ls', '-la'], /write queuectl enqueue -- ls -la\n$/);
    await rejected(data, ['enqueue', '--file', '-'], /^queuectl: line 1: "not json" is not a JSON job; for a file of commands, one per line, add --lines\n$/, 'not json\n');
    await rejected(data, ['list', '-w'], /^queuectl: Unknown option `-w`; see queuectl list --help\n$/);
    // Without a command too: one line, not the whole help.
    await rejected(data, ['--bogus'], /^queuectl: Unknown option `--bogus`; see queuectl --help\n$/);
    await rejected(data, ['-x'], /^queuectl: Unknown option `-x`; see queuectl --help\n$/);
  });

  test('options that cannot go together, or name what is not there, are bad input', async (t) => {
    const data = tempDataDir(t);
    await rejected(data, ['enqueue', '-r', '14:00', '-d', '5', '--', 'true'], /^queuectl: give --run-at or --delay, not both\n$/);
    await rejected(data, ['enqueue', '--env', 'A=1', '--env', 'A=2', '--', 'true'], /--env sets A twice/);
    await rejected(data, ['enqueue', '--cwd', join(data, 'nope'), '--', 'true'], /--cwd \S+nope: no such directory/);
    await rejected(data, ['enqueue', JSON.stringify({ command: 'true', cwd: join(data, 'nope') })], /"cwd" \S+nope: no such directory/);
  });

  test('--print-id prints the new job\'s id alone, one per line for a batch, for a script to keep: id=$(queuectl enqueue --print-id -- …)', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    const one = await cliOk(data, ['enqueue', '--print-id', '--', 'true']);
    assert.match(one.stdout, /^[0-9a-f]{8}\n$/);
    const named = await cliOk(data, ['enqueue', '--print-id', '--id', 'mine', '--', 'true']);
    assert.equal(named.stdout, 'mine\n');
    const batch = await runCli(data, ['enqueue', '--print-id', '--file', '-', '--lines'], { input: 'echo a\necho b\n' });
    assert.equal(batch.code, 0, batch.stderr);
    assert.equal(batch.stdout.split('\n').filter(Boolean).length, 2);
    const jobs = await queued(data);
    assert.deepEqual(jobs.map((job) => `${job.id}\n`), [one.stdout, named.stdout, ...batch.stdout.split(/(?<=\n)/)]);
    await rejected(data, ['enqueue', '--print-id', '--json', '--', 'true'], /^queuectl: --print-id and --json cannot go together: --json prints the job, its id in "id"\n$/);
    // As a script uses it: the id goes straight to wait.
    startManager(t, data, 1);
    const id = one.stdout.trim();
    assert.equal((await runCli(data, ['wait', id, '--timeout', '20s'])).code, 0);
    // With --wait too: still the id alone on stdout; how the job ended goes to stderr, and in the exit code.
    const waited = await runCli(data, ['enqueue', '--print-id', '--wait', '--id', 'waited', '--max-retries', '0', '--command', 'exit 3']);
    assert.equal(waited.code, 3, waited.stderr);
    assert.equal(waited.stdout, 'waited\n');
    assert.match(waited.stderr, /waited/);
  });

  test('--file --lines: each non-blank line is a command, the options apply to each, all or nothing', async (t) => {
    const data = tempDataDir(t);
    const file = join(tempDir(t), 'cmds.txt'); // removed with its directory when the test ends
    writeFileSync(file, 'echo one\n\n  echo "two words"  \necho three\n');
    const result = await cliOk(data, ['enqueue', '--file', file, '--lines', '-p', '5', '--max-retries', '0', '--json']);
    const jobs = JSON.parse(result.stdout) as Job[];
    assert.deepEqual(jobs.map((job) => job.command), ['echo one', 'echo "two words"', 'echo three']);
    assert.ok(jobs.every((job) => job.priority === 5 && job.max_retries === 0));
    const stdin = await runCli(data, ['enqueue', '--file', '-', '--lines'], { input: 'echo a\necho b\n' });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal((await queued(data)).length, 5);
    await rejected(data, ['enqueue', '--file', '-', '--lines', '--timeout', 'soon'], /--timeout must be a duration/, 'echo a\n');
    await rejected(data, ['enqueue', '--file', '-', '--lines', '--id', 'x'], /--id names one job/, 'echo a\n');
    await rejected(data, ['enqueue', '--file', '-', '--lines'], /no jobs in standard input: expected one command per line/, '\n\n');
  });
});

describe('short options, config list, and managers that already run', () => {
  test('-p -d -t -w -s -n -c -f are the long options; config list is config get', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t);
    await cliOk(data, ['enqueue', '-p', '-2', '-d', '1h', '-t', '90s', '--id', 'later', '--', 'true']);
    const later = (await cliJson<Job[]>(data, ['list', '-s', 'pending', '-n', '1']))[0];
    assert.equal(later?.id, 'later');
    assert.equal(later?.priority, -2);
    assert.equal(later?.timeout, 90);
    assert.ok(Date.parse(later!.run_at) - Date.parse(later!.created_at) === 3_600_000);
    startManager(t, data, 1);
    await cli(data, ['enqueue', '-w', '--id', 'now', '--command', recordingJob(runs)], 0);
    assert.equal((await cli(data, ['logs', '-f', 'now'], 0)).code, 0);
    assert.deepEqual(await cliJson(data, ['config', 'list']), await cliJson(data, ['config', 'get']));
  });

  test('worker start says when other managers already run on the data dir, and how many workers in all', { timeout: 30_000 }, async (t) => {
    const { data } = workspace(t);
    const first = startManager(t, data, 2);
    await waitFor(async () => (await cliJson<{ workers: unknown[] }>(data, ['status'])).workers.length === 2, { what: 'the first manager' });
    const start = await cli(data, ['worker', 'start', '-c', '1', '--detach'], 0);
    const pid = Number(/started worker manager (\d+)/.exec(start.stdout)?.[1]);
    t.after(() => process.kill(pid, 'SIGKILL'));
    assert.match(start.stdout, new RegExp(`^note: 1 other manager\\(s\\) already run on ${data} \\(pid ${first.pid}\\) with 2 worker\\(s\\): 3 worker\\(s\\) in all$`, 'm'));
  });
});

describe('times people type', () => {
  test('--run-at takes a local date-time and a time of day (the next one)', async (t) => {
    const data = tempDataDir(t);
    await cliOk(data, ['enqueue', '--id', 'local', '--run-at', '2031-04-02 14:00', '--', 'true']);
    await cliOk(data, ['enqueue', '--id', 'clock', '-r', '11:30pm', '--', 'true']);
    const [local, clock] = (await queued(data));
    assert.equal(local?.run_at, new Date(2031, 3, 2, 14, 0).toISOString());
    const at = new Date(clock!.run_at);
    assert.deepEqual([at.getHours(), at.getMinutes()], [23, 30]);
    assert.ok(at.getTime() > Date.now() && at.getTime() - Date.now() <= 86_400_000, 'the next 11:30pm');
    await rejected(data, ['enqueue', '--run-at', 'next week', '--', 'true'], /--run-at must be a time such as .* 14:00 or 11:30pm/);
  });
});

describe('logs -f and --tail', () => {
  test('follows a job from before its start to its end, a retry in the same stream, and exits as wait does', { timeout: 30_000 }, async (t) => {
    const { data } = workspace(t, { backoff_base: 1 });
    const script = 'for i in 1 2 3; do echo "attempt $QUEUECTL_ATTEMPT line $i"; sleep 0.2; done; [ "$QUEUECTL_ATTEMPT" = 2 ]';
    await cliOk(data, ['enqueue', '--id', 'twice', '--max-retries', '1', '--', 'sh', '-c', script]);
    const child = spawn(process.execPath, [CLI, '--data-dir', data, 'logs', '-f', 'twice'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    // 'close', not 'exit': its output is all read only once its pipes have closed.
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 300)); // it waits for the start: nothing has run yet
    assert.equal(out, '');
    startManager(t, data, 1);
    await waitFor(async () => out.includes('attempt 1 line 1'), { what: 'output as it is written' });
    assert.equal((await allJobs(data)).get('twice')?.state, 'processing', 'printed while the job runs');
    assert.equal(await exited, 0, out);
    assert.match(out, /attempt 1 line 3\n--- queuectl: run 1 of 2 command failed with exit code 1[^\n]*\n--- queuectl: run 2 of 2 started[^\n]*\nattempt 2 line 1\n/);
    assert.match(out, /--- queuectl: run 2 of 2 exited with code 0 after [\d.]+ s\n$/);

    await cliOk(data, ['enqueue', '--id', 'fails', '--max-retries', '0', '--', 'sh', '-c', 'echo bye; exit 3']);
    const failed = await runCli(data, ['logs', '--follow', 'fails']);
    assert.equal(failed.code, 1, 'dead: exit 1, as wait');
    assert.match(failed.stdout, /^bye$/m);
    assert.equal((await cliOk(data, ['logs', '--tail', '2', 'twice'])).stdout.split('\n').length, 3, 'two lines and the final newline');
    assert.match((await cliOk(data, ['logs', '--tail', '1', 'twice'])).stdout, /^--- queuectl: run 2 of 2 exited with code 0 after [\d.]+ s\n$/);
  });
  test('logs -f of a job that cannot start says why, as wait does: the queue is paused; no worker manager runs', { timeout: 30_000 }, async (t) => {
    const { data } = workspace(t);
    await cliOk(data, ['pause']);
    await cliOk(data, ['enqueue', '--id', 'later', '--', 'echo', 'ran']);
    const child = spawn(process.execPath, [CLI, '--data-dir', data, 'logs', '-f', 'later'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await waitFor(async () => err.includes('no worker manager is running'), { what: 'the note that no manager runs' });
    assert.equal(err, `queuectl: the queue is paused: no job starts until queuectl resume\nqueuectl: no worker manager is running on ${data}; the jobs wait until one starts (queuectl worker start)\n`);
    await cliOk(data, ['resume']);
    startManager(t, data, 1);
    assert.equal(await exited, 0, err);
    assert.match(out, /^ran$/m);
  });

  test('a job canceled while it runs: logs -f shows the run\'s end line, written once the run stopped, then exits as wait does', { timeout: 30_000 }, async (t) => {
    const { data } = workspace(t);
    await cliOk(data, ['enqueue', '--id', 'ticking', '--', 'sh', '-c', 'while :; do echo tick; sleep 0.2; done']);
    startManager(t, data, 1);
    const child = spawn(process.execPath, [CLI, '--data-dir', data, 'logs', '-f', 'ticking'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await waitFor(async () => out.includes('tick'), { what: 'the run\'s output' });
    await cliOk(data, ['cancel', 'ticking']);
    assert.equal(await exited, 1, out);
    assert.match(out, /--- queuectl: run 1 of \d+ stopped \(it was canceled\)[^\n]*\n$/, 'the last line is the run\'s end');
  });
});

describe('bulk actions and restart', () => {
  test('cancel --state and --all, dlq retry --all and of several ids, each in one go; --json prints the ids', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    await cliOk(data, ['enqueue', '--file', '-', '--lines', '--delay', '1h'], { input: 'true\ntrue\ntrue\n' });
    const canceled = await cliJson<string[]>(data, ['cancel', '--state', 'pending']);
    assert.equal(canceled.length, 3);
    assert.deepEqual((await queued(data)).map((job) => job.state), ['canceled', 'canceled', 'canceled']);
    assert.match((await cliOk(data, ['cancel', '--all'])).stdout, /^nothing to cancel: no pending, failed or processing jobs$/m);
    await rejected(data, ['cancel', '--state', 'completed'], /--state: "completed" jobs cannot be canceled/);
    await rejected(data, ['cancel', 'x', '--all'], /give ids, or --all \/ --state, not both/);

    // Three dead jobs, then all of them back at once.
    await cliOk(data, ['config', 'set', 'max_retries', '0']);
    await cliOk(data, ['enqueue', '--file', '-', '--lines'], { input: 'exit 1\nexit 2\nexit 3\n' });
    startManager(t, data, 1);
    await waitFor(async () => (await deadJobs(data)).length === 3, { what: 'three dead jobs' });
    // Paused, so that none of them runs and dies again before the files are read.
    await cliOk(data, ['pause']);
    const dead = (await deadJobs(data)).map((job) => job.id).sort();
    const retried = await cliJson<string[]>(data, ['dlq', 'retry', '--all']);
    assert.deepEqual(retried.sort(), dead);
    assert.deepEqual((await queued(data)).filter((job) => dead.includes(job.id)).map((job) => job.state), ['pending', 'pending', 'pending']);
    assert.equal(readDlqFile(data).length, 0, 'all left the DLQ in one go');
    await cliOk(data, ['resume']);
    await waitFor(async () => (await deadJobs(data)).length === 3, { what: 'them to die again' });
    assert.ok((await deadJobs(data)).every((job) => job.attempts === 1), 'attempts were reset');
    const [a, b] = (await deadJobs(data)).map((job) => job.id);
    assert.deepEqual(await cliJson<string[]>(data, ['dlq', 'retry', a!, b!]), [a, b]);
    await waitFor(async () => (await deadJobs(data)).length === 3, { what: 'them to die once more' });
    const partly = await runCli(data, ['dlq', 'retry', (await deadJobs(data))[0]!.id, 'ghost']);
    assert.equal(partly.code, 2);
    assert.match(partly.stderr, /no job "ghost" in the DLQ/);
    assert.equal((await deadJobs(data)).length, 3, 'all or nothing');
  });

  test('restart puts finished jobs back, attempts reset, id and log kept with a line marking it; all or nothing', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t);
    startManager(t, data, 1);
    await cli(data, ['enqueue', '--id', 'done', '-w', '--command', recordingJob(runs)], 0);
    await cli(data, ['enqueue', '--id', 'dead', '--max-retries', '0', '-w', '--command', recordingJob(runs, 0, 4)], 4);
    await cliOk(data, ['enqueue', '--id', 'waiting', '--delay', '1h', '--', 'true']);
    await rejected(data, ['restart', 'done', 'waiting'], /job "waiting" is pending; only completed, dead or canceled jobs can be restarted/);
    await rejected(data, ['restart', 'done', 'ghost'], /no job "ghost" in the queue, the DLQ or the archive; nothing was restarted/);

    assert.deepEqual(await cliJson<string[]>(data, ['restart', 'done', 'dead']), ['done', 'dead']);
    await waitFor(async () => starts(runs, 'done').length === 2 && starts(runs, 'dead').length === 2, { what: 'both to run again' });
    await waitFor(async () => (await allJobs(data)).get('dead')?.state === 'dead' && (await allJobs(data)).get('done')?.state === 'completed', { what: 'both to end' });
    assert.deepEqual(readRuns(runs).filter((run) => run.event === 'start').map((run) => [run.id, run.attempt]), [
      ['done', 1],
      ['dead', 1],
      ['done', 1],
      ['dead', 1],
    ]);
    const log = (await cliOk(data, ['logs', 'done'])).stdout;
    assert.match(log, /exited with code 0 after [^\n]*\n--- queuectl: restarted by user at \S+: attempts reset\n--- queuectl: run 1 of 4 started/);
  });

  test('a job retention moved to the archive is restarted from there: back in the queue, pending, with its log', async (t) => {
    const data = tempDataDir(t);
    mkdirSync(join(data, 'archive', '2026-01-01T00-00-00-000Z-1.logs'), { recursive: true });
    const old = { ...((await queued(data))[0] ?? {}), id: 'old', command: 'true', state: 'completed', attempts: 1, max_retries: 3, priority: 0 };
    const at = '2026-01-01T00:00:00.000Z';
    writeFileSync(
      join(data, 'archive', '2026-01-01T00-00-00-000Z-1.json'),
      `${JSON.stringify({ version: 1, jobs: [{ ...old, run_at: at, timeout: null, cwd: '/', created_at: at, updated_at: at, started_at: at, finished_at: at, exit_code: 0, last_error: null, lease: null }] })}\n`,
    );
    writeFileSync(join(data, 'archive', '2026-01-01T00-00-00-000Z-1.logs', 'old.log'), 'the first run\n');
    assert.equal((await cliJson<Job>(data, ['show', 'old'])).state, 'completed');
    assert.match((await cliOk(data, ['restart', 'old'])).stdout, /^restarted old \(pending again, attempts reset\)$/m);
    const job = (await queued(data)).find((entry) => entry.id === 'old');
    assert.equal(job?.state, 'pending');
    assert.equal(job?.attempts, 0);
    assert.match((await cliOk(data, ['logs', 'old'])).stdout, /^the first run\n--- queuectl: restarted by user at \S+ \(back from the archive\): attempts reset\n$/);
    assert.deepEqual(readdirSync(join(data, 'archive')), [], 'its batch, left with no job, went whole');
    await rejected(data, ['restart', 'nosuch'], /no job "nosuch" in the queue, the DLQ or the archive/);
  });
});

describe('order across managers', () => {
  test('with two managers, the free workers take the highest priorities first', { timeout: 60_000 }, async (t) => {
    const { data, work, runs } = workspace(t);
    startManager(t, data, 2);
    startManager(t, data, 1);
    await waitFor(async () => (await cliJson<{ workers: unknown[] }>(data, ['status'])).workers.length === 3, { what: 'three workers' });
    await cliOk(data, ['pause']);
    const batch = join(work, 'batch.ndjson');
    const priorities = [1, 2, 0, 1, 2, 0];
    writeFileSync(batch, priorities.map((priority, i) => JSON.stringify({ id: `j${i}-p${priority}`, priority, command: recordingJob(runs, 1) })).join('\n'));
    await cliOk(data, ['enqueue', '--file', batch]);
    await cliOk(data, ['resume']);
    await waitFor(async () => readRuns(runs).filter((run) => run.event === 'start').length === 6, { timeoutMs: 30_000, what: 'every job to start' });
    const order = readRuns(runs)
      .filter((run) => run.event === 'start')
      .sort((a, b) => a.at - b.at)
      .map((run) => Number(run.id.slice(-1)));
    assert.deepEqual(order.slice(0, 3).sort(), [1, 2, 2], `the first three to start: ${order.join(' ')}`);
    assert.deepEqual(order.slice(3).sort(), [0, 0, 1], `then the rest: ${order.join(' ')}`);
  });
});

describe('pause and resume', () => {
  test('pause stops every manager from starting jobs, running ones go on, a manager started later is paused too; resume undoes it', { timeout: 60_000 }, async (t) => {
    const { data, runs } = workspace(t);
    await cliOk(data, ['enqueue', '--id', 'running', '--command', recordingJob(runs, 1)]);
    startManager(t, data, 1);
    await waitFor(async () => starts(runs, 'running')[0], { what: 'the first job to start' });
    assert.match((await cliOk(data, ['pause'])).stdout, /^paused: no worker manager on .* starts a new job until queuectl resume; running jobs go on$/m);
    assert.equal((await cliOk(data, ['pause'])).stdout, 'the queue was paused already\n');
    await cliOk(data, ['enqueue', '--id', 'held-back', '--command', recordingJob(runs)]);
    startManager(t, data, 1); // started while paused
    await waitFor(async () => (await allJobs(data)).get('running')?.state === 'completed', { what: 'the running job to finish' });

    const status = await cliJson<{ paused: boolean }>(data, ['status']);
    assert.equal(status.paused, true);
    assert.match((await cliOk(data, ['status'])).stdout, /^paused: +no new job starts until queuectl resume/m);
    const waited = await runCli(data, ['wait', 'held-back', '--timeout', '1.5']);
    assert.equal(waited.code, 124);
    assert.match(waited.stderr, /^queuectl: the queue is paused: no job starts until queuectl resume$/m);
    assert.deepEqual(starts(runs, 'held-back'), [], 'nothing new started while paused');
    const start = await cli(data, ['worker', 'start', '--detach'], 0);
    t.after(() => process.kill(Number(/started worker manager (\d+)/.exec(start.stdout)?.[1]), 'SIGKILL'));
    assert.match(start.stdout, /^note: the queue is paused: no job starts until queuectl resume$/m);

    await cliOk(data, ['resume']);
    await waitFor(async () => (await allJobs(data)).get('held-back')?.state === 'completed', { what: 'the held-back job to run once resumed' });
    assert.equal((await cliJson<{ paused: boolean }>(data, ['status'])).paused, false);
    assert.deepEqual(ids((await queued(data)).filter((job) => job.state !== 'completed')), []);
  });
});
