import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeCopy, dumpIds, logPartOf, queueSettings, refuseRunning, refuseTaken, summarize } from './copy.js';
import { QueuectlError } from './errors.js';
import type { DeadJob, Job } from './job.js';
import type { QueueDump } from '../ports/queue-copy.js';

const T = '2026-11-23T10:00:00.000Z';
const base = {
  command: 'true',
  cwd: '/',
  priority: 0,
  max_retries: 3,
  timeout: null,
  attempts: 0,
  run_at: T,
  created_at: T,
  updated_at: T,
};
const pending = (id: string): Job => ({ ...base, id, state: 'pending', started_at: null, finished_at: null, exit_code: null, last_error: null, lease: null });
const processing = (id: string): Job => ({
  ...base,
  id,
  state: 'processing',
  attempts: 1,
  started_at: T,
  finished_at: null,
  exit_code: null,
  last_error: null,
  lease: { worker_pid: 7, token: 't', expires_at: T },
});
const dead = (id: string): DeadJob => ({ ...base, id, state: 'dead', attempts: 4, started_at: T, finished_at: T, exit_code: 1, last_error: 'exit 1' }) as DeadJob;

const dump = (over: Partial<QueueDump> = {}): QueueDump => ({ jobs: [], settings: {}, logs: [], envs: [], completedIds: [], archived: 0, ...over });

const failsWith = (exitCode: number, pattern: RegExp) => (error: unknown) =>
  error instanceof QueuectlError && error.exitCode === exitCode && pattern.test(error.message) && !error.message.includes('\n');

test('the ids of a dump are those of its jobs, queue and DLQ, in enqueue order', () => {
  assert.deepEqual(dumpIds(dump({ jobs: [pending('a'), pending('b'), dead('c')] })), ['a', 'b', 'c']);
});

test('a source with processing jobs is refused, naming how many and saying to stop the workers first (exit 1)', () => {
  const source = dump({ jobs: [pending('a'), processing('p1'), processing('p2')] });
  assert.throws(() => refuseRunning(source, 0, '/data'), failsWith(1, /^2 job\(s\) of \/data are processing \("p1", "p2"\).*would run them again.*queuectl worker stop --all/));
});

test('a source with a worker manager running is refused too: the copied jobs would run in both stores', () => {
  assert.throws(() => refuseRunning(dump({ jobs: [pending('a')] }), 1, '/data'), failsWith(1, /^1 worker manager\(s\) run on \/data.*queuectl worker stop --all/));
});

test('a source with no run and no manager passes, whatever its jobs', () => {
  assert.doesNotThrow(() => refuseRunning(dump({ jobs: [pending('a'), dead('d')] }), 0, '/data'));
});

test('ids taken in the target are bad input (exit 2) that names them; many are cut short', () => {
  assert.doesNotThrow(() => refuseTaken([], 'there'));
  assert.throws(() => refuseTaken(['a'], 'there'), failsWith(2, /^job "a" already exists in there: nothing was copied/));
  const many = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  assert.throws(() => refuseTaken(many, 'there'), failsWith(2, /^7 jobs already exist \("a", "b", "c", "d", "e" and 2 more\) in there: nothing was copied/));
});

test('the settings of a queue: keys spelled as in config, the choice of store left behind, a broken value refused', () => {
  assert.deepEqual(queueSettings({ 'max-retries': 5, paused: true, store: 'postgres://db/x' }, 'config.json'), { max_retries: 5, paused: true });
  assert.deepEqual(queueSettings({}, 'config.json'), {});
  assert.throws(() => queueSettings({ lease: -1 }, '/data/config.json'), failsWith(1, /^\/data\/config\.json: "lease" must be/));
  assert.throws(() => queueSettings({ bogus: 1 }, '/data/config.json'), failsWith(1, /unknown key "bogus"/));
});

test('the summary counts jobs, DLQ jobs, settings, and jobs with a log (a job with parts from two hosts once)', () => {
  const summary = summarize(
    dump({
      jobs: [pending('a'), dead('c'), pending('b')],
      settings: { max_retries: 5, lease: 10 },
      logs: [
        logPartOf({ id: 'a', host: 'h1' }, Buffer.from('x')),
        logPartOf({ id: 'a', host: 'h2' }, Buffer.from('y')),
        logPartOf({ id: 'c', host: null }, Buffer.from('z')),
      ],
      envs: [{ id: 'e', env: {} }],
      completedIds: ['old'],
      archived: 3,
    }),
    '/from',
    'postgres://db/x',
  );
  assert.deepEqual(summary, { from: '/from', to: 'postgres://db/x', jobs: 2, dlq: 1, settings: 2, logs: 2, envs: 1, completed_ids: 1, archived_left: 3 });
  assert.equal(
    describeCopy(summary),
    'copied 2 job(s), 1 DLQ job(s), 2 setting(s) and 2 log(s) from /from to postgres://db/x (the 3 archived job(s) stay in /from)',
  );
  assert.equal(describeCopy({ ...summary, archived_left: 0 }), 'copied 2 job(s), 1 DLQ job(s), 2 setting(s) and 2 log(s) from /from to postgres://db/x');
});
