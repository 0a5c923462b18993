import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueuectlError } from './errors.js';
import { newJob, validateJobSpec } from './job-spec.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');

function rejects(input: unknown, pattern: RegExp) {
  assert.throws(
    () => validateJobSpec(input),
    (error: unknown) => error instanceof QueuectlError && error.exitCode === 2 && pattern.test(error.message),
  );
}

test('a command alone is a valid job', () => {
  assert.deepEqual(validateJobSpec({ command: 'echo hi' }), { command: 'echo hi' });
});

test('every documented field is accepted', () => {
  const spec = validateJobSpec(
    { command: 'x', id: 'job-1.a_B', max_retries: 0, priority: -3, run_at: '2026-11-24T08:00:00Z', timeout: 60, cwd: '/tmp' },
  );
  assert.deepEqual(spec, {
    command: 'x',
    id: 'job-1.a_B',
    max_retries: 0,
    priority: -3,
    run_at: '2026-11-24T08:00:00.000Z',
    timeout: 60,
    cwd: '/tmp',
  });
});

test('a delay becomes a run_at relative to when the job enters the queue', () => {
  const runAt = (delay: string | number) =>
    newJob(validateJobSpec({ command: 'x', delay }), 'i', { max_retries: 1, job_timeout: 0 }, '/', NOW).run_at;
  assert.equal(runAt('90s'), '2026-11-23T10:01:30.000Z');
  assert.equal(runAt('2h'), '2026-11-23T12:00:00.000Z');
  assert.equal(runAt(5), '2026-11-23T10:00:05.000Z');
});

test('a command, and each variable with its name, fit in one argument of a new program (128 KiB on Linux), counted in bytes', () => {
  const limit = 128 * 1024 - 1; // less the string's NUL
  assert.equal(validateJobSpec({ command: 'x'.repeat(limit) }).command.length, limit);
  rejects({ command: 'x'.repeat(limit + 1) }, /^"command" is 131,072 bytes: a command runs as one argument of sh -c, which Linux limits to 131,071; put it in a script and enqueue that$/);
  rejects({ command: 'é'.repeat(65_536) }, /"command" is 131,072 bytes/);
  const name = 'BIG';
  assert.ok(validateJobSpec({ command: 'x', env: { [name]: 'x'.repeat(limit - name.length - 1) } }).env);
  rejects({ command: 'x', env: { [name]: 'x'.repeat(limit - name.length) } }, /^"env": BIG=… is 131,072 bytes; Linux limits a variable to 131,071 with its name$/);
});

test('the command must be there, a string, and not blank', () => {
  rejects({}, /"command" is missing/);
  rejects({ command: 42 }, /"command" must be a string, got 42 \(number\)/);
  rejects({ command: '' }, /"command" is empty/);
  rejects({ command: '  \t' }, /"command" is empty/);
});

test('only JSON objects are jobs', () => {
  rejects(null, /must be a JSON object/);
  rejects(['echo'], /must be a JSON object/);
  rejects('echo hi', /must be a JSON object/);
});

test('numbers must be whole, and not negative where that makes no sense', () => {
  rejects({ command: 'x', max_retries: -1 }, /"max_retries" must be a whole number from 0 up, got -1/);
  rejects({ command: 'x', max_retries: 1.5 }, /"max_retries"/);
  rejects({ command: 'x', max_retries: '3' }, /"max_retries" must be a whole number from 0 up, got "3" \(string\)/);
  rejects({ command: 'x', timeout: -5 }, /"timeout" must be a number of seconds from 0 up or a duration/);
  rejects({ command: 'x', timeout: 'soon' }, /"timeout" must be a duration such as 90, 1.5, 500ms/);
  rejects({ command: 'x', priority: 2.5 }, /"priority" must be a whole number/);
  rejects({ command: 'x', priority: 3_000_000_000 }, /"priority" must be a whole number from -2147483648 to 2147483647, got 3000000000/);
  rejects({ command: 'x', priority: -2_147_483_649 }, /"priority" must be a whole number from -2147483648 to 2147483647/);
  assert.equal(validateJobSpec({ command: 'x', priority: -2_147_483_648 }).priority, -2_147_483_648);
  rejects({ command: 'x', priority: '1' }, /"priority"/);
});

test('a timeout or a delay is a number of seconds, fractions allowed, or a duration in the one syntax', () => {
  assert.equal(validateJobSpec({ command: 'x', timeout: 0.5 }).timeout, 0.5);
  assert.equal(validateJobSpec({ command: 'x', timeout: '5m' }).timeout, 300);
  assert.equal(validateJobSpec({ command: 'x', timeout: '500ms' }).timeout, 0.5);
  assert.equal(validateJobSpec({ command: 'x', delay: 1.5 }).delay_ms, 1_500);
  assert.equal(validateJobSpec({ command: 'x', delay: '2h' }).delay_ms, 7_200_000);
});

test('ids must be safe as file names', () => {
  for (const id of ['', '.', '..', '../etc', 'a/b', 'a b', 'x'.repeat(129), 'é']) {
    rejects({ command: 'x', id }, /"id" must be 1-128 characters/);
  }
  assert.equal(validateJobSpec({ command: 'x', id: 7 }).id, '7', 'a whole number is its digits');
  rejects({ command: 'x', id: 7.5 }, /"id" must be a string/);
  rejects({ command: 'x', id: -1 }, /"id" must be a string/);
  assert.equal(validateJobSpec({ command: 'x', id: 'x'.repeat(128) }).id, 'x'.repeat(128));
  assert.equal(validateJobSpec({ command: 'x', id: '...' }).id, '...');
});

test('unknown fields are errors, so a typo is not silently ignored', () => {
  rejects({ command: 'x', max_retry: 3 }, /unknown job field "max_retry"/);
});

test('times must be ISO-8601, and run_at and delay exclude each other', () => {
  rejects({ command: 'x', run_at: 'tomorrow' }, /"run_at" must be a time such as 2026-11-23T10:30:00Z, 2026-11-23 10:30 \(local\), 14:00 or 11:30pm/);
  rejects({ command: 'x', run_at: '2026-13-45T00:00:00Z' }, /"run_at"/);
  rejects({ command: 'x', delay: '5 minutes' }, /"delay" must be a duration/);
  rejects({ command: 'x', delay: -5 }, /"delay"/);
  rejects({ command: 'x', run_at: '2026-11-23T10:00:00Z', delay: '1s' }, /not both/);
});

test('error messages carry the place, e.g. the line of a batch', () => {
  assert.throws(() => validateJobSpec({}, 'line 3: '), /^QueuectlError: line 3: "command" is missing$/);
});

test('a new job takes config defaults for what the spec leaves out', () => {
  const job = newJob({ command: 'x' }, 'id1', { max_retries: 5, job_timeout: 30 }, '/home/me', NOW);
  assert.equal(job.state, 'pending');
  assert.equal(job.max_retries, 5);
  assert.equal(job.timeout, 30);
  assert.equal(job.priority, 0);
  assert.equal(job.run_at, NOW.toISOString());
  assert.equal(job.cwd, '/home/me');
  assert.equal(job.attempts, 0);
});

test("a job's own max_retries and timeout win over the defaults; timeout 0 means none", () => {
  const own = newJob({ command: 'x', max_retries: 0, timeout: 0 }, 'id1', { max_retries: 5, job_timeout: 30 }, '/', NOW);
  assert.equal(own.max_retries, 0);
  assert.equal(own.timeout, null);
  const none = newJob({ command: 'x' }, 'id1', { max_retries: 5, job_timeout: 0 }, '/', NOW);
  assert.equal(none.timeout, null);
});

test('a relative cwd is taken from the directory the job was enqueued from', () => {
  assert.equal(newJob({ command: 'x', cwd: 'sub' }, 'i', { max_retries: 1, job_timeout: 0 }, '/home/me', NOW).cwd, '/home/me/sub');
  assert.equal(newJob({ command: 'x', cwd: '/abs' }, 'i', { max_retries: 1, job_timeout: 0 }, '/home/me', NOW).cwd, '/abs');
});

test('the new job has the fields of the file format in its order', () => {
  const job = newJob({ command: 'x' }, 'id1', { max_retries: 3, job_timeout: 0 }, '/', NOW);
  assert.deepEqual(Object.keys(job), [
    'id', 'command', 'state', 'attempts', 'max_retries', 'priority', 'queue', 'after', 'run_at', 'timeout', 'cwd', 'env', 'env_id',
    'created_at', 'updated_at', 'started_at', 'finished_at', 'exit_code', 'last_error', 'lease',
  ]);
});

test('env: variables a shell can export, string values; QUEUECTL_* are queuectl\'s own', () => {
  assert.deepEqual(validateJobSpec({ command: 'x', env: { A: '1', _B2: 'two words' } }).env, { A: '1', _B2: 'two words' });
  rejects({ command: 'x', env: ['A=1'] }, /"env" must be an object of variables/);
  rejects({ command: 'x', env: { '1A': 'x' } }, /"env": "1A" is not a variable name/);
  rejects({ command: 'x', env: { 'A-B': 'x' } }, /"env": "A-B" is not a variable name/);
  rejects({ command: 'x', env: { A: 1 } }, /"env": A must be a string/);
  rejects({ command: 'x', env: { QUEUECTL_JOB_ID: 'x' } }, /QUEUECTL_JOB_ID is set by queuectl for each run/);
  const job = newJob({ command: 'x', env: { A: '1' } }, 'i', { max_retries: 1, job_timeout: 0 }, '/', NOW, 'abc');
  assert.deepEqual([job.env, job.env_id], [{ A: '1' }, 'abc']);
  assert.equal(newJob({ command: 'x' }, 'i', { max_retries: 1, job_timeout: 0 }, '/', NOW).env, null);
});

test('a run_at in the past means now: the job does not go ahead of jobs that waited longer', () => {
  const job = newJob(validateJobSpec({ command: 'x', run_at: '2020-01-01T00:00:00Z' }), 'i', { max_retries: 1, job_timeout: 0 }, '/', NOW);
  assert.equal(job.run_at, NOW.toISOString());
});

test('"after" lists job ids, each once; a single id or a number is taken too; a job cannot run after itself', () => {
  assert.deepEqual(validateJobSpec({ command: 'x', after: ['a', 'b', 'a'] }).after, ['a', 'b']);
  assert.deepEqual(validateJobSpec({ command: 'x', after: 'a' }).after, ['a']);
  assert.deepEqual(validateJobSpec({ command: 'x', after: [7] }).after, ['7']);
  rejects({ command: 'x', after: ['../x'] }, /"after" must list job ids/);
  rejects({ command: 'x', after: [''] }, /"after" must list job ids/);
  rejects({ command: 'x', after: [{}] }, /"after" must list job ids/);
  rejects({ command: 'x', id: 'me', after: ['a', 'me'] }, /job "me" cannot run after itself/);
});

test('"queue" names a queue by the id rules; left out, the job is in default', () => {
  assert.equal(validateJobSpec({ command: 'x', queue: 'ffmpeg' }).queue, 'ffmpeg');
  rejects({ command: 'x', queue: 'a b' }, /"queue" must be a queue name/);
  rejects({ command: 'x', queue: 3 }, /"queue" must be a queue name/);
  const job = newJob({ command: 'x' }, 'id1', { max_retries: 5, job_timeout: 30 }, '/', NOW);
  assert.equal(job.queue, 'default');
  assert.deepEqual(job.after, []);
  const placed = newJob({ command: 'x', queue: 'q', after: ['a'] }, 'id2', { max_retries: 5, job_timeout: 30 }, '/', NOW);
  assert.equal(placed.queue, 'q');
  assert.deepEqual(placed.after, ['a']);
});
