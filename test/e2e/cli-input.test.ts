/**
 * End-to-end tests of input through the real CLI: the three forms of `enqueue` (JSON, flags,
 * NDJSON batch), and bad input of every kind, which must exit 2 with one clear stderr line and
 * change nothing on disk.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { DeadJob, Job, PendingJob } from '../../core/rules/job.js';
import { CLI, cliOk, deadJobs, queued, runCli, snapshotDir, tempDataDir, tempDir, type CliResult } from '../helpers.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Every field DESIGN.md lists for a job. */
const DESIGN_FIELDS = [
  'id',
  'command',
  'state',
  'attempts',
  'max_retries',
  'priority',
  'run_at',
  'timeout',
  'cwd',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
  'exit_code',
  'last_error',
];

function describeRun(args: readonly string[], result: CliResult): string {
  return `queuectl ${args.join(' ')} → exit ${result.code}\nstdout: ${JSON.stringify(result.stdout)}\nstderr: ${JSON.stringify(result.stderr)}`;
}

/** Exit 2, nothing on stdout, exactly one non-empty `queuectl: ` line on stderr. */
function assertBadInput(args: readonly string[], result: CliResult): void {
  const why = describeRun(args, result);
  assert.equal(result.code, 2, why);
  assert.equal(result.stdout, '', why);
  assert.match(result.stderr, /^queuectl: [^\n]*\S[^\n]*\n$/, why);
}

const SEED_TIME = '2026-01-01T00:00:00.000Z';

/** A pending job as `queue.json` holds it, in the documented format. */
function pendingJob(id: string): PendingJob {
  return {
    id,
    command: `echo ${id}`,
    state: 'pending',
    attempts: 0,
    max_retries: 4,
    priority: 0,
    run_at: SEED_TIME,
    timeout: 30,
    cwd: '/',
    created_at: SEED_TIME,
    updated_at: SEED_TIME,
    started_at: null,
    finished_at: null,
    exit_code: null,
    last_error: null,
    lease: null,
  };
}

/** A dead job as `dlq.json` holds it, in the documented format. */
function deadJob(id: string): DeadJob {
  return {
    ...pendingJob(id),
    command: 'exit 1',
    state: 'dead',
    attempts: 5,
    started_at: SEED_TIME,
    finished_at: SEED_TIME,
    exit_code: 1,
    last_error: 'command failed with exit code 1',
  };
}

function writeJobFile(path: string, jobs: readonly Job[]): void {
  writeFileSync(path, `${JSON.stringify({ version: 1, jobs })}\n`);
}

/**
 * A data dir with something to protect: a config, a pending job `seed` in queue.json and a dead
 * job `gone` in dlq.json, written directly in the documented format (no CLI run: the bad-input
 * matrix makes one data dir per case and must stay fast).
 */
async function seededDir(t: TestContext): Promise<string> {
  const dir = tempDataDir(t, { max_retries: 4, job_timeout: 30 });
  writeJobFile(join(dir, 'queue.json'), [pendingJob('seed')]);
  writeJobFile(join(dir, 'dlq.json'), [deadJob('gone')]);
  return dir;
}

describe('enqueue, JSON form', () => {
  test('a JSON job is added to queue.json as pending with the documented fields and defaults', async (t) => {
    const dataDir = tempDataDir(t);
    const cwd = tempDir(t, 'queuectl-cwd-');
    const before = Date.now();
    const result = await runCli(dataDir, ['enqueue', '{"id":"job1","command":"echo hello"}'], { cwd });
    const after = Date.now();
    assert.equal(result.code, 0, describeRun(['enqueue'], result));
    assert.match(result.stdout, /job1/);

    const jobs = (await queued(dataDir));
    assert.equal(jobs.length, 1);
    const job = jobs[0]!;
    for (const field of DESIGN_FIELDS) assert.ok(field in job, `job has "${field}"`);
    assert.equal(job.id, 'job1');
    assert.equal(job.command, 'echo hello');
    assert.equal(job.state, 'pending');
    assert.equal(job.attempts, 0);
    assert.equal(job.max_retries, 3);
    assert.equal(job.priority, 0);
    assert.equal(job.timeout, null);
    assert.equal(job.cwd, realpathSync(cwd));
    for (const field of ['run_at', 'created_at', 'updated_at'] as const) {
      assert.match(job[field], ISO, field);
      const time = Date.parse(job[field]);
      assert.ok(time >= before - 1000 && time <= after + 1000, `${field} ${job[field]} is the enqueue time`);
    }
    assert.equal(job.run_at, job.created_at, 'a job without run_at or delay is ready at once');
    assert.equal(job.started_at, null);
    assert.equal(job.finished_at, null);
    assert.equal(job.exit_code, null);
    assert.equal(job.last_error, null);
  });

  test('every optional field of a JSON job is kept as given', async (t) => {
    const dataDir = tempDataDir(t);
    const json = JSON.stringify({
      id: 'full',
      command: 'echo full',
      max_retries: 0,
      priority: -3,
      run_at: '2030-01-02T03:04:05+02:00',
      timeout: 10,
    });
    await cliOk(dataDir, ['enqueue', json]);
    const job = (await queued(dataDir)).find((j) => j.id === 'full');
    assert.ok(job);
    assert.equal(job.max_retries, 0);
    assert.equal(job.priority, -3);
    assert.equal(job.run_at, '2030-01-02T01:04:05.000Z');
    assert.equal(job.timeout, 10);
  });

  test('a job without an id gets a generated, file-name-safe one', async (t) => {
    const dataDir = tempDataDir(t);
    await cliOk(dataDir, ['enqueue', '{"command":"true"}']);
    await cliOk(dataDir, ['enqueue', '{"command":"true"}']);
    const ids = (await queued(dataDir)).map((job) => job.id);
    assert.equal(ids.length, 2);
    assert.notEqual(ids[0], ids[1]);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9._-]{1,128}$/);
  });
});

test('--lines refuses a line that is a JSON job (it would run as a shell command), and adds nothing', async (t) => {
  const dataDir = tempDataDir(t);
  await cliOk(dataDir, ['enqueue', '--', 'true']);
  const before = snapshotDir(dataDir);
  const result = await runCli(dataDir, ['enqueue', '--file', '-', '--lines'], { input: 'echo one\n{"command":"true","delay":"1h"}\n' });
  assert.equal(result.code, 2);
  assert.equal(result.stderr, 'queuectl: line 2: is a JSON job, and --lines reads each line as a shell command; leave out --lines to enqueue JSON jobs\n');
  assert.deepEqual(snapshotDir(dataDir), before, 'nothing changed on disk');
  // A line that only starts with a brace is a command like any other.
  await cliOk(dataDir, ['enqueue', '--file', '-', '--lines'], { input: '{ echo a; echo b; }\n' });
});

test('a command or variable longer than one argument may be (128 KiB on Linux) is refused, and nothing is added', async (t) => {
  const dataDir = tempDataDir(t);
  await cliOk(dataDir, ['enqueue', '--', 'true']);
  const before = snapshotDir(dataDir);
  const long = await runCli(dataDir, ['enqueue', '--file', '-'], { input: `${JSON.stringify({ command: `echo ${'a'.repeat(200_000)}` })}\n` });
  assert.equal(long.code, 2);
  assert.equal(long.stderr, 'queuectl: line 1: "command" is 200,005 bytes: a command runs as one argument of sh -c, which Linux limits to 131,071; put it in a script and enqueue that\n');
  // From a file: on the command line, or exported, the system would refuse it to queuectl itself.
  const variable = await runCli(dataDir, ['enqueue', '--file', '-'], { input: `${JSON.stringify({ command: 'true', env: { BIG: 'a'.repeat(200_000) } })}\n` });
  assert.equal(variable.code, 2);
  assert.equal(variable.stderr, 'queuectl: line 1: "env": BIG=… is 200,004 bytes; Linux limits a variable to 131,071 with its name\n');
  assert.deepEqual(snapshotDir(dataDir), before, 'nothing changed on disk');
});

describe('enqueue, flag form', () => {
  test('--command with --id, --max-retries, --priority, --run-at, --timeout and --cwd sets each field', async (t) => {
    const dataDir = tempDataDir(t);
    const cwd = tempDir(t, 'queuectl-cwd-');
    mkdirSync(join(cwd, 'sub')); // enqueue refuses a --cwd that does not exist
    const args = [
      'enqueue',
      '--command',
      'echo hi',
      '--id',
      '007',
      '--max-retries',
      '5',
      '--priority',
      '7',
      '--run-at',
      '2030-01-02T03:04:05Z',
      '--timeout',
      '60',
      '--cwd',
      'sub',
    ];
    const result = await runCli(dataDir, args, { cwd });
    assert.equal(result.code, 0, describeRun(args, result));
    const job = (await queued(dataDir))[0]!;
    assert.equal(job.id, '007', 'an id that looks like a number stays the string typed');
    assert.equal(typeof job.id, 'string');
    assert.equal(job.command, 'echo hi');
    assert.equal(job.state, 'pending');
    assert.equal(job.attempts, 0);
    assert.equal(job.max_retries, 5);
    assert.equal(job.priority, 7);
    assert.equal(job.run_at, '2030-01-02T03:04:05.000Z');
    assert.equal(job.timeout, 60);
    assert.equal(job.cwd, join(realpathSync(cwd), 'sub'), 'a relative --cwd is taken from where the CLI ran');
  });

  test('--priority=-5 gives a negative priority', async (t) => {
    const dataDir = tempDataDir(t);
    await cliOk(dataDir, ['enqueue', '--command', 'true', '--id', 'neg', '--priority=-5']);
    assert.equal((await queued(dataDir))[0]!.priority, -5);
  });

  test('--delay schedules the job that long after the enqueue time', async (t) => {
    const dataDir = tempDataDir(t);
    await cliOk(dataDir, ['enqueue', '--command', 'true', '--id', 'd30', '--delay', '30s']);
    await cliOk(dataDir, ['enqueue', '--command', 'true', '--id', 'd5m', '--delay', '5m']);
    const jobs = new Map((await queued(dataDir)).map((job) => [job.id, job]));
    const d30 = jobs.get('d30')!;
    const d5m = jobs.get('d5m')!;
    assert.equal(Date.parse(d30.run_at) - Date.parse(d30.created_at), 30_000);
    assert.equal(Date.parse(d5m.run_at) - Date.parse(d5m.created_at), 300_000);
    assert.match(d30.run_at, ISO);
  });

  test('an absolute --cwd is kept, and --timeout 0 means no timeout', async (t) => {
    const dataDir = tempDataDir(t);
    const elsewhere = tempDir(t, 'queuectl-cwd-');
    await cliOk(dataDir, ['enqueue', '--command', 'true', '--id', 'abs', '--cwd', elsewhere, '--timeout', '0']);
    const job = (await queued(dataDir))[0]!;
    assert.equal(job.cwd, elsewhere);
    assert.equal(job.timeout, null);
  });

  test('an id of exactly 128 safe characters is accepted', async (t) => {
    const dataDir = tempDataDir(t);
    const id = 'A-z_0.9'.repeat(19).slice(0, 128);
    assert.equal(id.length, 128);
    await cliOk(dataDir, ['enqueue', '--command', 'true', '--id', id]);
    assert.equal((await queued(dataDir))[0]!.id, id);
  });
});

describe('durations', () => {
  test('every option and setting that is a span of time takes the one syntax: 90, 1.5, 500ms, 90s, 5m, 2h, 1d', async (t) => {
    const dataDir = tempDataDir(t);
    await cliOk(dataDir, ['enqueue', '--command', 'true', '--id', 'm', '--timeout', '5m', '--delay', '1.5']);
    await cliOk(dataDir, ['enqueue', JSON.stringify({ command: 'true', id: 'j', timeout: '90s', delay: '2h' })]);
    await cliOk(dataDir, ['config', 'set', 'job_timeout', '1h']);
    await cliOk(dataDir, ['config', 'set', 'lease', '1.5']);
    await cliOk(dataDir, ['config', 'set', 'archive_days', '7d']);
    const [m, j] = (await queued(dataDir));
    assert.equal(m?.timeout, 300);
    assert.equal(Date.parse(m!.run_at) - Date.parse(m!.created_at), 1_500);
    assert.equal(j?.timeout, 90);
    assert.equal(Date.parse(j!.run_at) - Date.parse(j!.created_at), 7_200_000);
    const config = JSON.parse((await cliOk(dataDir, ['config', 'get', '--json'])).stdout) as Record<string, number>;
    assert.equal(config.job_timeout, 3600);
    assert.equal(config.lease, 1.5);
    assert.equal(config.archive_days, 7);
    assert.equal((await runCli(dataDir, ['wait', 'm', '--timeout', '500ms'])).code, 124, 'wait takes the same syntax');
  });
});

describe('enqueue --file', () => {
  test('every line of an NDJSON file is added in one batch, blank lines skipped', async (t) => {
    const dataDir = tempDataDir(t);
    const files = tempDir(t, 'queuectl-files-');
    const path = join(files, 'jobs.ndjson');
    writeFileSync(
      path,
      '{"id":"f1","command":"echo 1"}\n\n   \n{"id":"f2","command":"echo 2","priority":5}\n{"command":"echo 3"}\n\n',
    );
    const result = await runCli(dataDir, ['enqueue', '--file', path]);
    assert.equal(result.code, 0, describeRun(['enqueue', '--file', path], result));
    const jobs = (await queued(dataDir));
    assert.deepEqual(
      jobs.map((job) => job.command),
      ['echo 1', 'echo 2', 'echo 3'],
    );
    assert.equal(jobs[0]!.id, 'f1');
    assert.equal(jobs[1]!.id, 'f2');
    assert.equal(jobs[1]!.priority, 5);
    assert.ok(jobs.every((job) => job.state === 'pending'));
    assert.equal(new Set(jobs.map((job) => job.created_at)).size, 1, 'one batch: one enqueue time');
  });

  test('--file - reads the batch from standard input', async (t) => {
    const dataDir = tempDataDir(t);
    const input = '{"id":"s1","command":"echo 1"}\n{"id":"s2","command":"echo 2"}\n';
    const result = await runCli(dataDir, ['enqueue', '--file', '-'], { input });
    assert.equal(result.code, 0, describeRun(['enqueue', '--file', '-'], result));
    assert.deepEqual(
      (await queued(dataDir)).map((job) => job.id),
      ['s1', 's2'],
    );
  });

  const badBatches: { name: string; content: string; line: number }[] = [
    {
      name: 'invalid JSON on one line',
      content: '{"id":"b1","command":"true"}\n\n{"id":"b2","command":"true"}\n{"id":"b3","command":\n',
      line: 4,
    },
    {
      name: 'an id repeated within the batch',
      content: '{"id":"b1","command":"true"}\n{"id":"b2","command":"true"}\n{"id":"b1","command":"true"}\n',
      line: 3,
    },
    {
      name: 'an id that clashes with a job in the queue',
      content: '{"id":"b1","command":"true"}\n{"id":"seed","command":"true"}\n',
      line: 2,
    },
    {
      name: 'an id that clashes with a dead job in the DLQ',
      content: '{"id":"b1","command":"true"}\n{"id":"gone","command":"true"}\n{"id":"b3","command":"true"}\n',
      line: 2,
    },
    {
      name: 'a line that fails validation',
      content: '{"id":"b1","command":"true"}\n{"id":"b2","command":"true","max_retries":-1}\n',
      line: 2,
    },
  ];
  for (const { name, content, line } of badBatches) {
    test(`a batch with ${name} adds nothing and names line ${line}`, async (t) => {
      const dataDir = await seededDir(t);
      const files = tempDir(t, 'queuectl-files-');
      const path = join(files, 'jobs.ndjson');
      writeFileSync(path, content);
      const queueBefore = readFileSync(join(dataDir, 'queue.json'), 'utf8');
      const before = snapshotDir(dataDir);

      for (const [args, input] of [
        [['enqueue', '--file', path], undefined],
        [['enqueue', '--file', '-'], content],
      ] as const) {
        const result = await runCli(dataDir, args, input === undefined ? {} : { input });
        assertBadInput(args, result);
        assert.match(result.stderr, new RegExp(`\\bline ${line}\\b`), describeRun(args, result));
        assert.equal(readFileSync(join(dataDir, 'queue.json'), 'utf8'), queueBefore, 'queue.json is byte-identical');
        assert.deepEqual(snapshotDir(dataDir), before);
      }
    });
  }

  test('an id repeated within a batch is named with both its lines, not as one that already exists', async (t) => {
    const dataDir = tempDataDir(t);
    const input = '{"id":"a","command":"true"}\n\n{"id":"b","command":"true"}\n{"id":"a","command":"true"}\n';
    const result = await runCli(dataDir, ['enqueue', '--file', '-'], { input });
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'queuectl: line 4: id "a" is also the id of line 1; ids must be unique\n');
  });

  test('an empty file, a blank file and empty standard input are errors', async (t) => {
    const dataDir = await seededDir(t);
    const files = tempDir(t, 'queuectl-files-');
    const empty = join(files, 'empty.ndjson');
    const blank = join(files, 'blank.ndjson');
    writeFileSync(empty, '');
    writeFileSync(blank, '\n  \n\n');
    const before = snapshotDir(dataDir);
    for (const [args, input] of [
      [['enqueue', '--file', empty], undefined],
      [['enqueue', '--file', blank], undefined],
      [['enqueue', '--file', '-'], ''],
    ] as const) {
      const result = await runCli(dataDir, args, input === undefined ? {} : { input });
      assertBadInput(args, result);
      assert.deepEqual(snapshotDir(dataDir), before);
    }
  });
});

/** What a bad-input case runs: its arguments, given a directory for any files it needs. */
interface BadCase {
  name: string;
  args: (files: string) => string[];
  input?: string;
}

const e = (json: string): BadCase['args'] => () => ['enqueue', json];
const flags = (...rest: string[]): BadCase['args'] => () => ['enqueue', '--command', 'true', ...rest];
const plain = (...args: string[]): BadCase['args'] => () => args;
const withFile =
  (content: string, ...rest: string[]): BadCase['args'] =>
  (files) => {
    const path = join(files, 'jobs.ndjson');
    writeFileSync(path, content);
    return ['enqueue', '--file', path, ...rest];
  };

const LONG_ID = 'a'.repeat(129);

const BAD_CASES: BadCase[] = [
  // Malformed or non-object JSON.
  { name: 'malformed JSON', args: e('{"command":') },
  { name: 'JSON with single quotes', args: e("{'command':'true'}") },
  { name: 'a JSON array', args: e('[{"command":"true"}]') },
  { name: 'a JSON string', args: e('"echo hi"') },
  { name: 'a JSON number', args: e('42') },
  { name: 'JSON null', args: e('null') },
  // Command.
  { name: 'a missing command', args: e('{"id":"nocmd"}') },
  { name: 'an empty command', args: e('{"command":""}') },
  { name: 'a whitespace command', args: e('{"command":"   "}') },
  { name: 'a command that is not a string', args: e('{"command":5}') },
  { name: 'an empty --command', args: plain('enqueue', '--command', '') },
  { name: 'a whitespace --command', args: plain('enqueue', '--command', '  \t ') },
  { name: 'an empty word after --', args: plain('enqueue', '--', '') },
  { name: 'only empty or blank words after --', args: plain('enqueue', '--', '', '  ') },
  // Wrong types and ranges.
  { name: 'max_retries as a string', args: e('{"command":"true","max_retries":"3"}') },
  { name: 'a negative max_retries', args: e('{"command":"true","max_retries":-1}') },
  { name: 'a fractional priority', args: e('{"command":"true","priority":1.5}') },
  { name: 'priority as a string', args: e('{"command":"true","priority":"1"}') },
  { name: 'a negative timeout', args: e('{"command":"true","timeout":-1}') },
  { name: 'a timeout that is not a duration', args: e('{"command":"true","timeout":"soon"}') },
  { name: 'an id that is a fraction', args: e('{"command":"true","id":7.5}') },
  { name: 'run_at that is a number', args: e('{"command":"true","run_at":5}') },
  { name: 'a negative --max-retries', args: flags('--max-retries', '-1') },
  { name: 'a negative --max-retries=-1', args: flags('--max-retries=-1') },
  { name: 'a fractional --max-retries', args: flags('--max-retries', '1.5') },
  { name: 'a non-numeric --max-retries', args: flags('--max-retries', 'three') },
  { name: 'a negative --timeout', args: flags('--timeout=-1') },
  { name: 'a --timeout in no unit queuectl knows', args: flags('--timeout', '2 weeks') },
  { name: 'a fractional --priority', args: flags('--priority', '1.5') },
  { name: 'a non-numeric --priority', args: flags('--priority', 'high') },
  // Unknown fields.
  { name: 'an unknown JSON field', args: e('{"command":"true","max_retry":3}') },
  { name: 'a state given in the JSON', args: e('{"command":"true","state":"completed"}') },
  // Unsafe ids, in both forms.
  { name: 'id "../x"', args: e('{"command":"true","id":"../x"}') },
  { name: 'id "."', args: e('{"command":"true","id":"."}') },
  { name: 'id ".."', args: e('{"command":"true","id":".."}') },
  { name: 'id "a b"', args: e('{"command":"true","id":"a b"}') },
  { name: 'an empty id', args: e('{"command":"true","id":""}') },
  { name: 'an id of 129 characters', args: e(`{"command":"true","id":"${LONG_ID}"}`) },
  { name: 'id with a slash', args: e('{"command":"true","id":"a/b"}') },
  { name: '--id ../x', args: flags('--id', '../x') },
  { name: '--id ..', args: flags('--id', '..') },
  { name: '--id .', args: flags('--id', '.') },
  { name: '--id "a b"', args: flags('--id', 'a b') },
  { name: '--id of 129 characters', args: flags('--id', LONG_ID) },
  // Duplicate ids.
  { name: 'the id of a job in the queue', args: e('{"command":"true","id":"seed"}') },
  { name: 'the id of a dead job in the DLQ', args: e('{"command":"true","id":"gone"}') },
  { name: '--id of a job in the queue', args: flags('--id', 'seed') },
  { name: '--id of a dead job in the DLQ', args: flags('--id', 'gone') },
  // Times.
  { name: 'a --run-at that is not a time', args: flags('--run-at', 'tomorrow') },
  { name: 'a --run-at on a day that does not exist', args: flags('--run-at', '2026-02-30T10:00:00Z') },
  { name: 'a run_at that is not a time', args: e('{"command":"true","run_at":"next week"}') },
  { name: 'a --delay with an unknown unit', args: flags('--delay', '5x') },
  { name: 'a negative --delay', args: flags('--delay=-5s') },
  { name: 'a --delay that is not a duration', args: flags('--delay', 'soon') },
  { name: 'a delay that is not a duration', args: e('{"command":"true","delay":"soon"}') },
  { name: 'both run_at and delay in JSON', args: e('{"command":"true","run_at":"2030-01-01T00:00:00Z","delay":"5s"}') },
  { name: 'both --run-at and --delay', args: flags('--run-at', '2030-01-01T00:00:00Z', '--delay', '5s') },
  // Forms.
  { name: 'no job at all', args: plain('enqueue') },
  { name: 'a JSON job and --command', args: plain('enqueue', '{"command":"true"}', '--command', 'true') },
  { name: 'a JSON job and --file', args: withFile('{"command":"true"}\n', '{"command":"true"}') },
  { name: '--command and --file', args: withFile('{"command":"true"}\n', '--command', 'true') },
  { name: 'a JSON job with "priority" and --priority too', args: plain('enqueue', '{"command":"true","priority":1}', '--priority', '3') },
  { name: 'words after -- and --command', args: plain('enqueue', '--command', 'true', '--', 'echo', 'hi') },
  { name: 'nothing after --', args: plain('enqueue', '--') },
  { name: 'a command that is not JSON', args: plain('enqueue', 'echo hi') },
  { name: '--lines without --file', args: plain('enqueue', '--command', 'true', '--lines') },
  { name: 'words after -- for list', args: plain('list', '--', 'x') },
  { name: '--file with --id', args: withFile('{"command":"true"}\n', '--id', 'x1') },
  { name: '--file naming a missing file', args: (files) => ['enqueue', '--file', join(files, 'missing.ndjson')] },
  // Commands and options.
  { name: 'an unknown command', args: plain('frobnicate') },
  { name: 'an unknown option', args: plain('enqueue', '--bogus') },
  { name: 'an unknown option with a valid job', args: plain('enqueue', '{"command":"true"}', '--bogus') },
  { name: 'an unknown option on list', args: plain('list', '--bogus') },
  { name: 'list --state nope', args: plain('list', '--state', 'nope') },
  { name: 'list --limit 0', args: plain('list', '--limit', '0') },
  { name: 'list --limit abc', args: plain('list', '--limit', 'abc') },
  { name: 'list --limit -1', args: plain('list', '--limit=-1') },
  // Config.
  { name: 'config set of an unknown key', args: plain('config', 'set', 'nope', '1') },
  { name: 'config set max_retries -1', args: plain('config', 'set', 'max_retries', '-1') },
  { name: 'config set max_retries 1.5', args: plain('config', 'set', 'max_retries', '1.5') },
  { name: 'config set backoff_base abc', args: plain('config', 'set', 'backoff_base', 'abc') },
  { name: 'config set archive maybe', args: plain('config', 'set', 'archive', 'maybe') },
  { name: 'config set without a value', args: plain('config', 'set', 'max_retries') },
  { name: 'config get of an unknown key', args: plain('config', 'get', 'nope') },
  // Ids that are not there.
  { name: 'dlq retry of a missing id', args: plain('dlq', 'retry', 'missing') },
  { name: 'dlq retry of a pending job', args: plain('dlq', 'retry', 'seed') },
  { name: 'dlq retry without an id', args: plain('dlq', 'retry') },
  { name: 'show of a missing id', args: plain('show', 'missing') },
  { name: 'logs of a missing id', args: plain('logs', 'missing') },
  // Unknown sub-actions.
  { name: 'worker frob', args: plain('worker', 'frob') },
  { name: 'worker start with no workers', args: plain('worker', 'start', '--count', '0') },
  { name: 'worker start with more workers than one manager takes', args: plain('worker', 'start', '--count', '257', '--detach') },
  // The options of one worker action given to the other (with --detach: a start that slipped through returns).
  { name: 'worker start --all (an option of worker stop)', args: plain('worker', 'start', '--all', '--detach') },
  { name: 'worker start --timeout (an option of worker stop)', args: plain('worker', 'start', '--timeout', '5s', '--detach') },
  { name: 'worker stop --count (an option of worker start)', args: plain('worker', 'stop', '--count', '2') },
  { name: 'an empty --store', args: plain('--store', '', 'list') },
  { name: 'dlq frob', args: plain('dlq', 'frob') },
  { name: 'config frob', args: plain('config', 'frob') },
];

describe('bad input exits 2 with one stderr line and changes nothing on disk', { concurrency: 4 }, () => {
  for (const { name, args, input } of BAD_CASES) {
    test(`rejects ${name}`, async (t) => {
      const dataDir = await seededDir(t);
      const files = tempDir(t, 'queuectl-files-');
      const argv = args(files);
      const before = snapshotDir(dataDir);
      assert.ok(before.has('queue.json') && before.has('dlq.json') && before.has('config.json'));
      const result = await runCli(dataDir, argv, input === undefined ? {} : { input });
      assertBadInput(argv, result);
      assert.deepEqual(snapshotDir(dataDir), before, 'the data dir is unchanged');
    });
  }

  test('the seeded jobs are what the cases rely on', async (t) => {
    const dataDir = await seededDir(t);
    assert.deepEqual(
      (await queued(dataDir)).map((job) => [job.id, job.state]),
      [['seed', 'pending']],
    );
    assert.deepEqual(
      (await deadJobs(dataDir)).map((job) => [job.id, job.state]),
      [['gone', 'dead']],
    );
  });
});

test('config set KEY -N says what the setting takes, as for any other bad value (not that a negative number is not allowed here)', async (t) => {
  const dataDir = tempDataDir(t);
  for (const [args, message] of [
    [['config', 'set', 'max_retries', '-1'], 'queuectl: max_retries must be a whole number from 0 up, got "-1"\n'],
    [['config', 'set', 'lease', '-5'], 'queuectl: lease must be a duration such as 90, 1.5, 500ms, 90s, 5m, 2h or 1d, got "-5"\n'],
    [['config', 'set', 'store', '-1'], 'queuectl: store must be file or a postgres:// URL, got "-1"\n'],
  ] as const) {
    const result = await runCli(dataDir, args);
    assert.equal(result.code, 2, describeRun(args, result));
    assert.equal(result.stderr, message);
  }
});

describe('help and version', () => {
  test('--help on the top level lists every command and exits 0', async () => {
    const result = await runCli(null, ['--help']);
    assert.equal(result.code, 0, describeRun(['--help'], result));
    assert.match(result.stdout, /Usage/);
    for (const command of ['enqueue', 'worker', 'status', 'list', 'show', 'logs', 'dlq', 'config']) {
      assert.match(result.stdout, new RegExp(`\\b${command}\\b`), command);
    }
  });

  for (const command of ['enqueue', 'worker', 'status', 'list', 'show', 'logs', 'dlq', 'config', 'cancel', 'restart', 'pause', 'resume', 'wait', 'prune', 'stats', 'parallel']) {
    test(`${command} --help prints the usage of ${command} and exits 0`, async (t) => {
      const dataDir = tempDataDir(t);
      const before = snapshotDir(dataDir);
      const result = await runCli(dataDir, [command, '--help']);
      assert.equal(result.code, 0, describeRun([command, '--help'], result));
      assert.match(result.stdout, /Usage/);
      assert.match(result.stdout, new RegExp(`queuectl ${command}\\b`));
      assert.equal(result.stderr, '');
      assert.deepEqual(snapshotDir(dataDir), before, '--help changes nothing');
    });
  }

  test('help and help <command> print what --help prints; help of an unknown command is an error', async () => {
    assert.equal((await runCli(null, ['help'])).stdout, (await runCli(null, ['--help'])).stdout);
    assert.match((await runCli(null, ['help'])).stdout, /^ {2}help \[command\] +The help of a command/m, 'help lists itself');
    for (const command of ['enqueue', 'worker', 'list', 'stats', 'prune']) {
      const help = await runCli(null, ['help', command]);
      assert.equal(help.code, 0);
      assert.equal(help.stdout, (await runCli(null, [command, '--help'])).stdout, command);
    }
    const unknown = await runCli(null, ['help', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'queuectl: unknown command "frobnicate"; see queuectl --help\n');
    assert.equal(unknown.stdout, '');
  });

  test('the usage lines of list and stats name their options', async () => {
    assert.match((await runCli(null, ['list', '--help'])).stdout, /\$ queuectl list \[-s S\[,S…\]\] \[-q NAME\] \[-n N\] \[--json\]/);
    assert.match((await runCli(null, ['stats', '--help'])).stdout, /\$ queuectl stats \[-q NAME\] \[--json\]/);
  });

  test('--version prints the version of package.json', async () => {
    const result = await runCli(null, ['--version']);
    assert.equal(result.code, 0, describeRun(['--version'], result));
    assert.ok(result.stdout.includes(PACKAGE_VERSION), `${JSON.stringify(result.stdout)} has ${PACKAGE_VERSION}`);
  });

  test('the built bin runs as a program, as npx and npm link run it (executable, with its shebang)', () => {
    const result = spawnSync(CLI, ['--version'], { encoding: 'utf8' });
    assert.equal(result.error, undefined, `${CLI} cannot be executed: ${result.error?.message}`);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.stdout.includes(PACKAGE_VERSION));
  });

  test('no arguments at all prints the help and exits 2', async () => {
    const result = await runCli(null, []);
    assert.equal(result.code, 2, describeRun([], result));
    assert.match(result.stdout + result.stderr, /Usage/);
    assert.match(result.stdout + result.stderr, /enqueue/);
  });
});
