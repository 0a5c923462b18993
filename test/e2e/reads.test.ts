/**
 * End-to-end tests of the read commands (status, list, show, logs) and of config, through the
 * real CLI. What every command does with a corrupt or foreign data file: data-files.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Job, PendingJob } from '../../core/rules/job.js';
import {
  CLI,
  cliJson,
  cliOk,
  describeRun,
  queued,
  runCli,
  startManager,
  tempDataDir,
  tempDir,
  waitFor,
  type CliResult,
} from '../helpers.js';
import { pendingJob } from '../sample-jobs.js';

const T = '2026-01-01T00:00:00.000Z';
const STATES = ['pending', 'processing', 'failed', 'completed', 'dead', 'canceled'] as const;

function pending(id: string, fields: Partial<PendingJob> = {}): PendingJob {
  const at = T;
  return pendingJob(id, { command: `echo ${id}`, run_at: at, created_at: at, updated_at: at, ...fields });
}

function processing(id: string): Job {
  return {
    ...pending(id),
    state: 'processing',
    attempts: 1,
    started_at: T,
    // A lease far in the future, so nothing takes the job back while the test reads it.
    lease: { worker_pid: 2_000_000_000, token: 'token', expires_at: '2099-01-01T00:00:00.000Z' },
  };
}

function failed(id: string): Job {
  return {
    ...pending(id),
    state: 'failed',
    attempts: 1,
    run_at: '2099-01-01T00:00:00.000Z',
    started_at: T,
    finished_at: T,
    exit_code: 1,
    last_error: 'command failed with exit code 1',
  };
}

function completed(id: string): Job {
  return { ...pending(id), state: 'completed', attempts: 1, started_at: T, finished_at: T, exit_code: 0 };
}

function dead(id: string): Job {
  return {
    ...pending(id),
    state: 'dead',
    attempts: 4,
    started_at: T,
    finished_at: T,
    exit_code: 2,
    last_error: 'command failed with exit code 2',
  };
}

function writeJobFile(path: string, jobs: readonly Job[]): void {
  writeFileSync(path, `${JSON.stringify({ version: 1, jobs })}\n`);
}

/** queue.json with p1 p2 (pending), r1 (processing), f1 (failed), c1 (completed); dlq.json with x1 x2 (dead). */
function mixedDir(t: Parameters<typeof tempDataDir>[0]): string {
  const dir = tempDataDir(t);
  writeJobFile(join(dir, 'queue.json'), [pending('p1'), processing('r1'), failed('f1'), completed('c1'), pending('p2')]);
  writeJobFile(join(dir, 'dlq.json'), [dead('x1'), dead('x2')]);
  return dir;
}

/** What the CLI wrote on stdout, as bytes; it must exit 0 without a word on stderr. */
async function stdoutBytes(dir: string, args: readonly string[]): Promise<Buffer> {
  const child = spawn(process.execPath, [CLI, '--data-dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise((resolve) => child.once('close', resolve));
  assert.equal(code, 0, `${args.join(' ')}: exit ${code}, stderr ${stderr}`);
  assert.equal(stderr, '', args.join(' '));
  return Buffer.concat(chunks);
}

interface Status {
  data_dir: string;
  counts: Record<string, number>;
  workers: { pid: number; job: string | null }[];
}

function parseOneDocument<T>(result: CliResult, args: readonly string[]): T {
  assert.equal(result.code, 0, describeRun(args, result));
  // JSON.parse fails on anything after the document, so this proves there is exactly one.
  return JSON.parse(result.stdout) as T;
}

describe('status', () => {
  test('status --json is one document with the data dir, counts of every state (DLQ included) and workers', async (t) => {
    const dir = mixedDir(t);
    const args = ['status', '--json'];
    const status = parseOneDocument<Status>(await runCli(dir, args), args);
    assert.equal(status.data_dir, dir);
    assert.deepEqual(status.counts, { pending: 2, processing: 1, failed: 1, completed: 1, dead: 2, canceled: 0 });
    assert.deepEqual(status.workers, []);
  });

  test('status --json on an empty data dir counts zero of every state', async (t) => {
    const dir = tempDataDir(t);
    const status = await cliJson<Status>(dir, ['status']);
    assert.deepEqual(status.counts, Object.fromEntries(STATES.map((state) => [state, 0])));
    assert.deepEqual(status.workers, []);
  });

  test('the data dir comes from QUEUECTL_DATA_DIR when --data-dir is not given', async (t) => {
    const dir = mixedDir(t);
    const args = ['status', '--json'];
    const status = parseOneDocument<Status>(await runCli(null, args, { env: { QUEUECTL_DATA_DIR: dir } }), args);
    assert.equal(status.data_dir, dir);
    assert.equal(status.counts.dead, 2);
    assert.equal(status.counts.pending, 2);
  });

  test('--data-dir wins over QUEUECTL_DATA_DIR', async (t) => {
    const flagDir = mixedDir(t);
    const envDir = tempDataDir(t);
    const args = ['status', '--json'];
    const status = parseOneDocument<Status>(await runCli(flagDir, args, { env: { QUEUECTL_DATA_DIR: envDir } }), args);
    assert.equal(status.data_dir, flagDir);
    assert.equal(status.counts.pending, 2);
  });

  test('a relative --data-dir is resolved against the current directory', async (t) => {
    const base = tempDir(t);
    const args = ['--data-dir', 'rel', 'enqueue', '{"id":"r","command":"true"}'];
    const enqueued = await runCli(null, args, { cwd: base });
    assert.equal(enqueued.code, 0, describeRun(args, enqueued));
    assert.deepEqual(
      (await queued(join(base, 'rel'))).map((job) => job.id),
      ['r'],
    );
    const statusArgs = ['--data-dir', 'rel', 'status', '--json'];
    const status = parseOneDocument<Status>(await runCli(null, statusArgs, { cwd: base }), statusArgs);
    assert.equal(status.data_dir, join(base, 'rel'));
  });

  test('human status names the data dir and the counts', async (t) => {
    const dir = mixedDir(t);
    const { stdout } = await cliOk(dir, ['status']);
    assert.ok(stdout.includes(dir), stdout);
    for (const state of STATES) assert.match(stdout, new RegExp(`\\b${state}\\b`), state);
  });
});

describe('list and show', () => {
  test('list --json on an empty data dir prints []', async (t) => {
    const dir = tempDataDir(t);
    const args = ['list', '--json'];
    const result = await runCli(dir, args);
    assert.deepEqual(parseOneDocument(result, args), []);
  });

  test('list --json shows every job of queue and DLQ', async (t) => {
    const dir = mixedDir(t);
    const jobs = await cliJson<Job[]>(dir, ['list']);
    assert.ok(Array.isArray(jobs));
    assert.deepEqual(jobs.map((job) => job.id).sort(), ['c1', 'f1', 'p1', 'p2', 'r1', 'x1', 'x2']);
    const p1 = jobs.find((job) => job.id === 'p1')!;
    assert.deepEqual(p1, (await queued(dir)).find((job) => job.id === 'p1'));
  });

  test('list --state keeps only jobs in that state', async (t) => {
    const dir = mixedDir(t);
    const ids = async (state: string) => (await cliJson<Job[]>(dir, ['list', '--state', state])).map((job) => job.id).sort();
    assert.deepEqual(await ids('pending'), ['p1', 'p2']);
    assert.deepEqual(await ids('processing'), ['r1']);
    assert.deepEqual(await ids('failed'), ['f1']);
    assert.deepEqual(await ids('completed'), ['c1']);
    assert.deepEqual(await ids('dead'), ['x1', 'x2']);
    const empty = tempDataDir(t);
    assert.deepEqual(await cliJson(empty, ['list', '--state', 'dead']), []);
  });

  test('list --limit N gives the N most recently enqueued jobs', async (t) => {
    const dir = tempDataDir(t);
    for (const id of ['a', 'b', 'c', 'd']) await cliOk(dir, ['enqueue', '--command', 'true', '--id', id]);
    const ids = async (...args: string[]) => (await cliJson<Job[]>(dir, ['list', ...args])).map((job) => job.id);
    assert.deepEqual((await ids('--limit', '2')).sort(), ['c', 'd']);
    assert.deepEqual((await ids('--limit', '1')).sort(), ['d']);
    assert.deepEqual((await ids('--limit', '10')).sort(), ['a', 'b', 'c', 'd']);
    assert.deepEqual((await ids('--state', 'pending', '--limit', '3')).sort(), ['b', 'c', 'd']);
  });

  test('human list prints a table with a header and every id', async (t) => {
    const dir = mixedDir(t);
    const { stdout } = await cliOk(dir, ['list']);
    assert.match(stdout, /\bID\b/);
    assert.match(stdout, /\bSTATE\b/);
    for (const id of ['p1', 'p2', 'r1', 'f1', 'c1', 'x1', 'x2']) assert.match(stdout, new RegExp(`^${id}\\s`, 'm'), id);
    const pendingOnly = await cliOk(dir, ['list', '--state', 'pending']);
    assert.match(pendingOnly.stdout, /^p1\s/m);
    assert.doesNotMatch(pendingOnly.stdout, /^x1\s/m);
  });

  test('human list shows when a job runs in local time, with its offset, as enqueue confirmed it; --json keeps UTC', async (t) => {
    const data = tempDataDir(t);
    const env = { TZ: 'Asia/Kolkata' }; // +05:30 all year
    const enqueued = await cliOk(data, ['enqueue', '--id', 'later', '--run-at', '2030-01-02 03:04', '--', 'true'], { env });
    assert.match(enqueued.stdout, /runs at 2030-01-02 03:04:00 \+05:30/);
    const row = (await cliOk(data, ['list'], { env })).stdout.split('\n').find((line) => line.startsWith('later'));
    assert.match(row ?? '', /  2030-01-02 03:04:00 \+05:30  /);
    const [job] = await cliJson<Job[]>(data, ['list']);
    assert.equal(job!.run_at, '2030-01-01T21:34:00.000Z');
  });

  test('show --json returns a job from queue.json or from dlq.json', async (t) => {
    const dir = mixedDir(t);
    const p1 = await cliJson<Job>(dir, ['show', 'p1']);
    assert.equal(p1.id, 'p1');
    assert.equal(p1.state, 'pending');
    assert.equal(p1.command, 'echo p1');
    const x2 = await cliJson<Job>(dir, ['show', 'x2']);
    assert.equal(x2.id, 'x2');
    assert.equal(x2.state, 'dead');
    assert.equal(x2.last_error, 'command failed with exit code 2');
    assert.equal(x2.exit_code, 2);
    const r1 = await cliJson<Job>(dir, ['show', 'r1']);
    assert.equal(r1.state, 'processing');
  });

  test('human show prints the fields of the job and where it is', async (t) => {
    const dir = mixedDir(t);
    const { stdout } = await cliOk(dir, ['show', 'x1']);
    assert.match(stdout, /x1/);
    assert.match(stdout, /dead/);
    assert.match(stdout, /dlq\.json/);
  });

  test('human show names the job\'s log file once it has one; before its first run, that there is none', async (t) => {
    const data = tempDataDir(t);
    await cliOk(data, ['enqueue', '--id', 'later', '--delay', '1h', '--', 'true']);
    assert.match((await cliOk(data, ['show', 'later'])).stdout, /^log +- \(none: it has not run\)$/m);
    await cliOk(data, ['enqueue', '--id', 'now', '--', 'echo', 'hi']);
    startManager(t, data, 1);
    await cliOk(data, ['wait', 'now', '--timeout', '20s']);
    assert.match((await cliOk(data, ['show', 'now'])).stdout, new RegExp(`^log +${join(data, 'logs', 'now.log').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });
});

describe('a job claimed ahead by a worker manager, not started yet', () => {
  /** As a manager holds it for its next free worker: processing, no worker, no start, no run counted. */
  function claimed(id: string): Job {
    return {
      ...pending(id),
      state: 'processing',
      // A lease far in the future, so nothing takes the job back while the test reads it.
      lease: { worker_pid: null, token: 'token', expires_at: '2099-01-01T00:00:00.000Z' },
    };
  }

  test('list and show mark it not started, status shows no worker running it, cancel says it had not started', async (t) => {
    const dir = tempDataDir(t);
    writeJobFile(join(dir, 'queue.json'), [processing('r1'), claimed('next')]);
    assert.match((await cliOk(dir, ['list'])).stdout, /^next\s+processing \(not started\)\s+0\/4\s+0\s+-\s/m);
    assert.match((await cliOk(dir, ['list'])).stdout, /^r1\s+processing\s+1\/4\s/m);
    const show = (await cliOk(dir, ['show', 'next'])).stdout;
    assert.match(show, /^state\s+processing \(not started\)$/m);
    assert.match(show, /^started_at\s+-$/m);
    assert.match(show, /^worker\s+- \(claimed by a worker manager for its next free worker; not started yet\)$/m);

    const result = await runCli(dir, ['cancel', 'next']);
    assert.equal(result.code, 0, describeRun(['cancel', 'next'], result));
    assert.equal(result.stdout, 'canceled next (claimed by a worker manager; it had not started)\n');
    const job = await cliJson<Job>(dir, ['show', 'next']);
    assert.equal(job.state, 'canceled');
    assert.equal(job.attempts, 0, 'no run was counted');
    assert.equal(job.started_at, null);
    assert.equal(job.last_error, 'canceled by user before its run started');
  });
});

describe('a reader that goes away', () => {
  test('list, list --json and logs piped into a reader that closes early exit quietly, without a stack trace', async (t) => {
    const dir = tempDataDir(t);
    writeJobFile(join(dir, 'queue.json'), Array.from({ length: 20_000 }, (_, i) => pending(`p${i}`)));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'p0.log'), 'x'.repeat(20_000_000));
    for (const args of [['list'], ['list', '--json'], ['logs', 'p0']]) {
      const child = spawn(process.execPath, [CLI, '--data-dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      // Like `| head -c 100`: read a little, then close the pipe.
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdout.destroy();
      const code = await new Promise((resolve) => child.once('close', resolve));
      assert.equal(code, 0, `${args.join(' ')}: exit ${code}, stderr ${stderr}`);
      assert.equal(stderr, '', args.join(' '));
    }
  });
});

describe('logs', () => {
  test('logs prints the stdout and stderr a worker captured from the job', async (t) => {
    const dir = tempDataDir(t);
    const manager = startManager(t, dir, 1);
    await cliOk(dir, ['enqueue', '--command', 'echo out-marker-1; echo err-marker-2 >&2', '--id', 'logged']);
    const job = await waitFor(async () => (await queued(dir)).find((j) => j.id === 'logged' && j.state === 'completed'), {
      what: 'job "logged" to complete',
    }).catch((error: Error) => {
      throw new Error(`${error.message}; manager output:\n${manager.output()}`);
    });
    assert.equal(job.exit_code, 0);
    const { stdout } = await cliOk(dir, ['logs', 'logged']);
    assert.match(stdout, /out-marker-1/);
    assert.match(stdout, /err-marker-2/);

    // While the manager runs, status lists its live worker.
    const status = await waitFor(
      async () => {
        const s = await cliJson<Status>(dir, ['status']);
        return s.workers.length === 1 ? s : null;
      },
      { what: 'status to list one worker' },
    );
    assert.equal(typeof status.workers[0]!.pid, 'number');
    assert.equal(status.counts.completed, 1);
  });

  test('logs writes the log file\'s bytes as they are, not UTF-8 made of them: the whole log and --tail', async (t) => {
    const dir = tempDataDir(t);
    writeJobFile(join(dir, 'queue.json'), [completed('latin1'), completed('noise')]);
    mkdirSync(join(dir, 'logs'));
    const latin1 = Buffer.from('header\ncaf\xe9\n\xff\xfe\x00 end\n', 'latin1');
    writeFileSync(join(dir, 'logs', 'latin1.log'), latin1);
    const noise = randomBytes(100_000);
    writeFileSync(join(dir, 'logs', 'noise.log'), noise);
    assert.deepEqual(await stdoutBytes(dir, ['logs', 'latin1']), latin1);
    assert.deepEqual(await stdoutBytes(dir, ['logs', 'latin1', '--tail', '2']), latin1.subarray(latin1.indexOf('caf')));
    assert.deepEqual(await stdoutBytes(dir, ['logs', 'noise']), noise);
  });

  test('logs of a log larger than a string can be (over 512 MiB) writes all of it', { timeout: 120_000 }, async (t) => {
    const dir = tempDataDir(t);
    writeJobFile(join(dir, 'queue.json'), [completed('huge')]);
    mkdirSync(join(dir, 'logs'));
    const path = join(dir, 'logs', 'huge.log');
    // Sparse: the file reads as 600 MB of zeros without as much being written.
    writeFileSync(path, 'first line\n');
    truncateSync(path, 600_000_000);
    appendFileSync(path, 'last line\n');
    const child = spawn(process.execPath, [CLI, '--data-dir', dir, 'logs', 'huge'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let bytes = 0;
    let head = Buffer.alloc(0);
    let tail = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      if (head.length < 11) head = Buffer.concat([head, chunk]).subarray(0, 11);
      tail = Buffer.concat([tail, chunk]).subarray(-10);
      bytes += chunk.length;
    });
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(code, 0, `exit ${code}, stderr ${stderr}`);
    assert.equal(stderr, '');
    assert.equal(bytes, 600_000_010);
    assert.equal(head.toString(), 'first line\n');
    assert.equal(tail.toString(), 'last line\n');
  });

  test('logs of a job that has not run yet exits 0 without output on stdout', async (t) => {
    const dir = tempDataDir(t);
    await cliOk(dir, ['enqueue', '--command', 'true', '--id', 'waiting']);
    const result = await runCli(dir, ['logs', 'waiting']);
    assert.equal(result.code, 0, describeRun(['logs', 'waiting'], result));
    assert.equal(result.stdout, '');
  });
});

const DEFAULTS = {
  max_retries: 3,
  backoff_base: 2,
  max_backoff: 3600,
  poll_interval: 500,
  job_timeout: 0,
  lease: 30,
  retention: 1000,
  archive: true,
  archive_days: 30,
  paused: false,
  capture_env: true,
  log_limit: 1048576,
  queues: {},
};

describe('config', () => {
  test('config get --json gives every key with its default', async (t) => {
    const dir = tempDir(t); // no config.json at all
    const args = ['config', 'get', '--json'];
    assert.deepEqual(parseOneDocument(await runCli(dir, args), args), DEFAULTS);
  });

  test('config get --json shows a value set in config.json next to the defaults', async (t) => {
    const dir = tempDataDir(t); // config.json holds poll_interval 50
    assert.deepEqual(await cliJson(dir, ['config', 'get']), { ...DEFAULTS, poll_interval: 50 });
  });

  test('config set max-retries 5 persists max_retries to config.json and config get reads it back', async (t) => {
    const dir = tempDataDir(t);
    await cliOk(dir, ['config', 'set', 'max-retries', '5']);
    const stored = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(stored.max_retries, 5);
    assert.equal('max-retries' in stored, false, 'stored under the underscore spelling');
    assert.equal(stored.poll_interval, 50, 'other keys are kept');

    const get = await runCli(dir, ['config', 'get', 'max_retries', '--json']);
    assert.equal(get.code, 0, describeRun(['config', 'get', 'max_retries', '--json'], get));
    assert.equal(JSON.parse(get.stdout), 5);
    assert.equal(JSON.parse((await cliOk(dir, ['config', 'get', 'max-retries', '--json'])).stdout), 5);
    assert.equal((await cliOk(dir, ['config', 'get', 'max_retries'])).stdout.trim(), '5');
  });

  test('every key can be set and read back', async (t) => {
    const dir = tempDataDir(t);
    const values = {
      max_retries: 7,
      backoff_base: 1.5,
      max_backoff: 120,
      poll_interval: 20,
      job_timeout: 9,
      lease: 12,
      retention: 50,
      archive: false,
      archive_days: 7,
      paused: true,
      capture_env: false,
      log_limit: 65536,
    };
    for (const [key, value] of Object.entries(values)) {
      const spelled = key.replaceAll('_', '-');
      await cliOk(dir, ['config', 'set', spelled, String(value)]);
      assert.deepEqual(JSON.parse((await cliOk(dir, ['config', 'get', key, '--json'])).stdout), value, key);
    }
    // queues is set by its own commands: parallel, pause --queue.
    assert.deepEqual(await cliJson(dir, ['config', 'get']), { ...values, queues: {} });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), values);
    await cliOk(dir, ['parallel', '2', '--queue', 'x']);
    await cliOk(dir, ['pause', '--queue', 'y']);
    assert.deepEqual(await cliJson(dir, ['config', 'get', 'queues']), { x: { parallel: 2 }, y: { paused: true } });
    assert.equal((await cliOk(dir, ['config', 'get', 'queues'])).stdout, '{"x":{"parallel":2},"y":{"paused":true}}\n');
    await cliOk(dir, ['config', 'set', 'archive', 'true']);
    assert.equal(JSON.parse((await cliOk(dir, ['config', 'get', 'archive', '--json'])).stdout), true);
  });

  test('an enqueue after config set captures the new default max_retries and job_timeout', async (t) => {
    const dir = tempDataDir(t);
    await cliOk(dir, ['enqueue', '--command', 'true', '--id', 'before']);
    await cliOk(dir, ['config', 'set', 'max_retries', '6']);
    await cliOk(dir, ['config', 'set', 'job_timeout', '45']);
    await cliOk(dir, ['enqueue', '--command', 'true', '--id', 'after']);
    await cliOk(dir, ['enqueue', '--command', 'true', '--id', 'own', '--max-retries', '1', '--timeout', '5']);
    const jobs = new Map((await queued(dir)).map((job) => [job.id, job]));
    assert.equal(jobs.get('before')!.max_retries, 3, 'a job keeps the default captured at its enqueue');
    assert.equal(jobs.get('before')!.timeout, null);
    assert.equal(jobs.get('after')!.max_retries, 6);
    assert.equal(jobs.get('after')!.timeout, 45);
    assert.equal(jobs.get('own')!.max_retries, 1, "the job's own value wins");
    assert.equal(jobs.get('own')!.timeout, 5);
  });
});
