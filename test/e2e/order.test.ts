/**
 * End-to-end: order and parallelism. `--after` holds a job until its dependencies completed and
 * cancels it (and its chain) when one ends dead or canceled; named queues have limits that hold
 * across every manager, and a manager may take only some queues. Real CLI, real processes; run
 * intervals come from the jobs' own records (test/fixtures/record-run.sh).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import { allJobs, cliCode, cliJson, cliOk, rejected, startManager, waitFor, workspace } from '../helpers.js';
import { readRuns, recordingJob, type Run } from '../runs-log.js';

/** Each run of the log as [start, end] (epoch ms), by job id; a run not ended yet ends at Infinity. */
function intervals(runs: string): Map<string, { start: number; end: number }> {
  const byJob = new Map<string, { start: number; end: number }>();
  for (const run of readRuns(runs)) {
    const seen = byJob.get(run.id) ?? { start: Infinity, end: Infinity };
    if (run.event === 'start') seen.start = run.at;
    else seen.end = run.at;
    byJob.set(run.id, seen);
  }
  return byJob;
}

const overlap = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;

async function states(data: string): Promise<Record<string, string>> {
  return Object.fromEntries([...(await allJobs(data))].map(([id, job]) => [id, job.state]));
}

async function finished(data: string, ids: readonly string[]): Promise<boolean> {
  const jobs = (await allJobs(data));
  return ids.every((id) => ['completed', 'dead', 'canceled'].includes(jobs.get(id)?.state ?? ''));
}

test('a chain a → b → c runs in order on 4 free workers; a fan-in job waits for all of its dependencies', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'a', '--command', recordingJob(runs, 0.4)]);
  await cliOk(data, ['enqueue', '--id', 'b', '-a', 'a', '--command', recordingJob(runs, 0.2)]);
  await cliOk(data, ['enqueue', '--id', 'c', '--after', 'b', '--command', recordingJob(runs)]);
  await cliOk(data, ['enqueue', '--id', 'x', '--command', recordingJob(runs, 0.1)]);
  await cliOk(data, ['enqueue', '--id', 'y', '--command', recordingJob(runs, 0.8)]);
  await cliOk(data, ['enqueue', '--id', 'fan-in', '--after', 'x,y,c', '--command', recordingJob(runs)]);
  startManager(t, data, 4);
  await waitFor(async () => finished(data, ['a', 'b', 'c', 'x', 'y', 'fan-in']), { timeoutMs: 30_000, what: 'every job to finish' });
  assert.deepEqual(Object.values(await states(data)), Array(6).fill('completed'));
  const run = intervals(runs);
  assert.ok(run.get('b')!.start >= run.get('a')!.end, 'b after a');
  assert.ok(run.get('c')!.start >= run.get('b')!.end, 'c after b');
  for (const dependency of ['x', 'y', 'c']) assert.ok(run.get('fan-in')!.start >= run.get(dependency)!.end, `fan-in after ${dependency}`);
  assert.ok(overlap(run.get('a')!, run.get('y')!), 'the jobs without dependencies ran meanwhile, on the free workers');
});

test('while held, a job shows what it waits for in list, show and status', async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'a', '--', 'true']);
  await cliOk(data, ['enqueue', '--id', 'b', '--', 'true']);
  await cliOk(data, ['enqueue', '--id', 'c', '-a', 'a,b', '--', 'true']);
  assert.match((await cliOk(data, ['list'])).stdout, /^c\s+pending \(after a, b\)/m);
  const show = (await cliOk(data, ['show', 'c'])).stdout;
  assert.match(show, /^after\s+a, b$/m);
  assert.match(show, /^waiting_on\s+a \(pending\), b \(pending\)$/m);
  assert.match((await cliOk(data, ['status'])).stdout, /^waiting:\s+1 pending job\(s\) wait for a, b to complete/m);
  const status = await cliJson<{ waiting: { jobs: number; after: string[] } }>(data, ['status']);
  assert.deepEqual(status.waiting, { jobs: 1, after: ['a', 'b'] });
  const job = await cliJson<Job>(data, ['show', 'c']);
  assert.deepEqual(job.after, ['a', 'b']);
  assert.equal(job.queue, 'default');
});

test('a dependency that dies cancels its whole subtree at once; wait names it; its retry says what stays canceled', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'a', '--max-retries', '0', '--command', recordingJob(runs, 0.3, 3)]);
  await cliOk(data, ['enqueue', '--id', 'b', '-a', 'a', '--command', recordingJob(runs)]);
  await cliOk(data, ['enqueue', '--id', 'c', '-a', 'b', '--command', recordingJob(runs)]);
  await cliOk(data, ['enqueue', '--id', 'd', '-a', 'c', '--command', recordingJob(runs)]);
  await cliOk(data, ['enqueue', '--id', 'free', '--command', recordingJob(runs, 0.5)]);
  const waiting = cliCode(data, ['wait', 'd'], 1);
  startManager(t, data, 2);
  await waitFor(async () => finished(data, ['a', 'b', 'c', 'd', 'free']), { timeoutMs: 30_000, what: 'every job to end' });
  assert.deepEqual(await states(data), { a: 'dead', b: 'canceled', c: 'canceled', d: 'canceled', free: 'completed' });
  const jobs = (await allJobs(data));
  assert.equal(jobs.get('b')!.last_error, 'canceled: its dependency "a" is dead');
  assert.equal(jobs.get('d')!.last_error, 'canceled: its dependency "c" was canceled ("a" is dead)');
  assert.deepEqual(
    readRuns(runs).map((run: Run) => run.id).filter((id) => id !== 'a' && id !== 'free'),
    [],
    'no dependent ran',
  );
  assert.match((await waiting).stdout, /^\s+d\s+canceled: its dependency "c" was canceled \("a" is dead\)$/m, 'the state said once');
  const never = await cliCode(data, ['logs', 'd'], 0);
  assert.equal(never.stderr, 'job d never ran (canceled: its dependency "c" was canceled ("a" is dead))\n');

  const retried = await cliOk(data, ['dlq', 'retry', 'a']);
  assert.match(retried.stdout, /^a is pending again/m);
  assert.match(retried.stdout, /3 job\(s\) waiting to run after it were canceled when it ended, and stay canceled; to run them too: queuectl restart b c d$/m);
  assert.equal((await allJobs(data)).get('b')!.state, 'canceled', 'not revived');
});

test('dependents canceled long ago and moved to the archive by retention are named by dlq retry, and restart brings them back', { timeout: 90_000 }, async (t) => {
  const { data } = workspace(t, { retention: 0 });
  await cliOk(data, ['enqueue', '--id', 'mig', '--max-retries', '0', '--', 'false']);
  await cliOk(data, ['enqueue', '--id', 'dep', '-a', 'mig', '--', 'true']);
  await cliOk(data, ['enqueue', '--id', 'smoke', '-a', 'dep', '--', 'true']);
  startManager(t, data, 2);
  await waitFor(async () => (await allJobs(data)).get('smoke')?.state === 'canceled', { what: 'the cascade' });
  // Past retention + 100 finished jobs, the oldest leave for the archive: dep and smoke among them.
  await cliOk(data, ['enqueue', '--file', '-', '--lines'], { input: 'true\n'.repeat(110) });
  await waitFor(async () => !(await allJobs(data)).has('smoke'), { timeoutMs: 60_000, what: 'retention to archive the canceled ones' });
  assert.equal((await cliJson<Job>(data, ['show', 'smoke'])).state, 'canceled');
  await cliOk(data, ['pause']); // mig, retried, would die again at once
  const retried = await cliOk(data, ['dlq', 'retry', 'mig']);
  assert.match(retried.stdout, /2 job\(s\) waiting to run after it were canceled when it ended, and stay canceled; to run them too: queuectl restart (dep smoke|smoke dep)$/m);
  await cliOk(data, ['restart', 'dep', 'smoke']);
  const all = await allJobs(data);
  assert.deepEqual(
    ['dep', 'smoke'].map((id) => all.get(id)?.state),
    ['pending', 'pending'],
  );
});

test('a canceled dependency cancels its dependents; restart refuses a dependent alone, and takes both together', { timeout: 60_000 }, async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'a', '--', 'true']);
  await cliOk(data, ['enqueue', '--id', 'b', '-a', 'a', '--', 'true']);
  const canceled = await cliOk(data, ['cancel', 'a']);
  assert.match(canceled.stdout, /^canceled a \(was pending\)$/m);
  assert.match(canceled.stdout, /^canceled b \(was waiting: its dependency "a" was canceled\)$/m);
  await rejected(data, ['restart', 'b'], /job "b" runs after "a", which is canceled: restart them together \(queuectl restart a b\); nothing was restarted/);
  await cliOk(data, ['restart', 'a', 'b']);
  assert.match((await cliOk(data, ['list', '-s', 'pending'])).stdout, /^b\s+pending \(after a\)/m);
});

test('a dependent whose dependency was pruned without completing cannot be restarted', { timeout: 60_000 }, async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'a', '--max-retries', '0', '--', 'false']);
  await cliOk(data, ['enqueue', '--id', 'b', '-a', 'a', '--', 'true']);
  startManager(t, data, 1);
  await waitFor(async () => (await allJobs(data)).get('b')?.state === 'canceled', { what: 'a to die and b to be canceled' });
  await cliOk(data, ['prune', '--state', 'dead']);
  await rejected(data, ['restart', 'b'], /job "b" runs after "a", which is gone without having completed \(pruned or deleted\)/);
  await rejected(data, ['enqueue', '-a', 'a', '--', 'true'], /no job "a" to run after/);
});

test('--after across a --file batch names jobs earlier in it; a later one is refused, nothing written', { timeout: 60_000 }, async (t) => {
  const { data, work, runs } = workspace(t);
  const batch = join(work, 'jobs.ndjson');
  const lines = [
    { id: 'fetch', command: recordingJob(runs, 0.2) },
    { id: 'build', command: recordingJob(runs), after: ['fetch'] },
    { id: 'test', command: recordingJob(runs), after: 'build' },
  ];
  writeFileSync(batch, lines.map((line) => JSON.stringify(line)).join('\n'));
  const backwards = join(work, 'backwards.ndjson');
  writeFileSync(backwards, [lines[1], lines[0]].map((line) => JSON.stringify(line)).join('\n'));
  await rejected(data, ['enqueue', '--file', backwards], /^queuectl: line 1: cannot run after "fetch": it is line 2, later in the batch/);
  await cliOk(data, ['enqueue', '--file', batch]);
  startManager(t, data, 3);
  await waitFor(async () => finished(data, ['fetch', 'build', 'test']), { timeoutMs: 30_000, what: 'the batch to finish' });
  const run = intervals(runs);
  assert.ok(run.get('build')!.start >= run.get('fetch')!.end);
  assert.ok(run.get('test')!.start >= run.get('build')!.end);
});

test('a dependency that completed and was pruned still counts as completed', async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'old', '--', 'true']);
  startManager(t, data, 1);
  await waitFor(async () => finished(data, ['old']), { what: 'old to complete' });
  await cliOk(data, ['prune']);
  assert.equal((await allJobs(data)).has('old'), false);
  await cliOk(data, ['enqueue', '--id', 'new', '-a', 'old', '--', 'true']);
  await waitFor(async () => (await allJobs(data)).get('new')?.state === 'completed', { what: 'new to run' });
});

test('bad input: unknown, self, dead or canceled dependencies, bad queue names, bad limits; nothing on disk changes', async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'live', '--', 'true']);
  await cliOk(data, ['enqueue', '--id', 'gone', '--', 'true']);
  await cliOk(data, ['cancel', 'gone']);
  await rejected(data, ['enqueue', '-a', 'nosuch', '--', 'true'], /no job "nosuch" to run after in the queue, the DLQ or the archive; nothing was enqueued/);
  await rejected(data, ['enqueue', '--id', 'me', '-a', 'me', '--', 'true'], /job "me" cannot run after itself/);
  await rejected(data, ['enqueue', '-a', 'gone', '--', 'true'], /cannot run after "gone": it is canceled and will not complete \(queuectl restart gone first\)/);
  await rejected(data, ['enqueue', '-a', 'live,../x', '--', 'true'], /"after" must list job ids/);
  await rejected(data, ['enqueue', '{"command":"true","after":["live"]}', '-a', 'live'], /"after" is given both in the job and as --after/);
  await rejected(data, ['enqueue', '-q', 'a/b', '--', 'true'], /"queue" must be a queue name/);
  await rejected(data, ['parallel', '-1', '--queue', 'x'], /a negative number is not allowed here/);
  await rejected(data, ['parallel', 'two', '--queue', 'x'], /parallel takes a whole number from 0 up, or unlimited/);
  await rejected(data, ['parallel', '2', '--queue', 'bad name'], /--queue must be a queue name/);
  await rejected(data, ['worker', 'start', '--queue', 'a,,b'], /--queue must be a queue name/);
  await rejected(data, ['config', 'set', 'queues', '{}'], /queues is set per queue: queuectl parallel N --queue NAME/);
});

test('a job enqueued later under the id of a dependency gone from the queue is a stranger to its dependents: no cycle', async (t) => {
  const { data } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'A', '--', 'true']);
  await cliOk(data, ['enqueue', '--id', 'C', '-a', 'A', '-r', '2099-01-01T00:00:00Z', '--', 'true']); // due much later
  startManager(t, data, 1);
  await waitFor(async () => (await allJobs(data)).get('A')?.state === 'completed', { what: 'A to complete' });
  await cliOk(data, ['prune', '--state', 'completed']);
  assert.equal((await allJobs(data)).has('A'), false, 'A left the queue, completed');
  // Nightly scripts use fixed ids: taking A again is fine, and C does not wait for the new A.
  await cliOk(data, ['enqueue', '--id', 'A', '-a', 'C', '--', 'true']);
  const { stdout } = await cliOk(data, ['list']);
  assert.match(stdout, /^C\s+pending\s/m, 'C waits for nothing (its A completed)');
  assert.match(stdout, /^A\s+pending \(after C\)/m);
  // And restart does not tie C to the stranger: the A it meant is gone.
  await cliOk(data, ['cancel', 'C']); // cancels the new A with it
  await rejected(data, ['restart', 'C'], /job "C" runs after "A", which is gone, and its id now names a job enqueued after it/);
});

test('a queue limited to 1 never runs two of its jobs at once under 2 managers of 2 workers; other queues use the free workers', { timeout: 90_000 }, async (t) => {
  const { data, work, runs } = workspace(t);
  await cliOk(data, ['parallel', '1', '--queue', 'ffmpeg']);
  const batch = join(work, 'jobs.ndjson');
  const jobs: { id: string; command: string; queue?: string }[] = [
    ...Array.from({ length: 5 }, (_, i) => ({ id: `ffmpeg-${i}`, queue: 'ffmpeg', command: recordingJob(runs, 0.3) })),
    ...Array.from({ length: 10 }, (_, i) => ({ id: `small-${i}`, command: recordingJob(runs, 0.2) })),
  ];
  writeFileSync(batch, jobs.map((job) => JSON.stringify(job)).join('\n'));
  await cliOk(data, ['enqueue', '--file', batch]);
  startManager(t, data, 2);
  startManager(t, data, 2);
  await waitFor(async () => finished(data, jobs.map((job) => job.id)), { timeoutMs: 60_000, what: 'every job to finish' });
  assert.ok(Object.values(await states(data)).every((state) => state === 'completed'));
  const run = intervals(runs);
  const ffmpeg = jobs.filter((job) => job.queue === 'ffmpeg').map((job) => run.get(job.id)!);
  for (let i = 0; i < ffmpeg.length; i++) {
    for (let j = i + 1; j < ffmpeg.length; j++) assert.ok(!overlap(ffmpeg[i]!, ffmpeg[j]!), `ffmpeg-${i} and ffmpeg-${j} overlap`);
  }
  const small = jobs.filter((job) => job.queue === undefined).map((job) => run.get(job.id)!);
  assert.ok(small.some((a) => small.some((b) => a !== b && overlap(a, b))), 'the small jobs ran side by side');
  const status = await cliJson<{ queues: Record<string, { parallel: number | null; paused: boolean; counts: Record<string, number> }> }>(data, ['status']);
  assert.deepEqual(status.queues.ffmpeg, {
    parallel: 1,
    paused: false,
    counts: { pending: 0, processing: 0, failed: 0, completed: 5, dead: 0, canceled: 0 },
  });
  assert.equal(status.queues.default!.parallel, null);
  assert.equal(status.queues.default!.counts.completed, 10);
});

test('a limit changed while workers run takes effect; a paused queue starts nothing until resumed', { timeout: 90_000 }, async (t) => {
  const { data, work, runs } = workspace(t);
  await cliOk(data, ['parallel', '1', '-q', 'q']);
  const batch = join(work, 'jobs.ndjson');
  writeFileSync(batch, Array.from({ length: 6 }, (_, i) => JSON.stringify({ id: `q-${i}`, queue: 'q', command: recordingJob(runs, 30) })).join('\n'));
  await cliOk(data, ['enqueue', '--file', batch]);
  const manager = startManager(t, data, 4);
  await waitFor(async () => readRuns(runs).length === 1, { what: 'the first job to start' });
  const raised = await cliOk(data, ['parallel', '3', '--queue', 'q']);
  assert.match(raised.stdout, /^queue q: at most 3 job\(s\) at a time/);
  await waitFor(async () => readRuns(runs).length === 3, { what: 'two more to start under the raised limit' });
  assert.equal([...(await allJobs(data)).values()].filter((job) => job.state === 'processing').length, 3, 'no more than the limit');
  await cliOk(data, ['pause', '--queue', 'q']);
  await cliOk(data, ['parallel', 'unlimited', '--queue', 'q']);
  await cliOk(data, ['cancel', 'q-0']);
  // The cancel wakes the manager, with a free worker and no limit: only the pause holds the rest
  // back. Its cycle that saw the cancel (and claimed nothing) has run once it stops the run.
  await waitFor(async () => /q-0: stopping its run on worker \d+: it was canceled/.test(manager.output()), { what: 'the manager to see the cancel' });
  await waitFor(async () => readRuns(runs).some((run) => run.id === 'q-0' && run.event === 'term'), { what: 'q-0 to stop' });
  const { stdout } = await cliOk(data, ['status']);
  assert.match(stdout, /^q\s+unlimited\s+yes\s+3\s+2\s/m);
  assert.equal(readRuns(runs).filter((run) => run.event === 'start').length, 3, 'nothing started while the queue is paused');
  await cliOk(data, ['resume', '-q', 'q']);
  await waitFor(async () => readRuns(runs).filter((run) => run.event === 'start').length === 5, { what: 'the rest to start once resumed' });
});

test('worker start --queue keeps a manager to its queues', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'mine', '-q', 'x', '--command', recordingJob(runs)]);
  await cliOk(data, ['enqueue', '--id', 'also-mine', '-q', 'y', '--command', recordingJob(runs)]);
  await cliOk(data, ['enqueue', '--id', 'not-mine', '--command', recordingJob(runs)]);
  const manager = startManager(t, data, 2, {}, ['--queue', 'x,y']);
  await waitFor(async () => finished(data, ['mine', 'also-mine']), { what: 'the jobs of x and y' });
  assert.match(manager.output(), /taking jobs of queue\(s\) x, y only/);
  const { stdout } = await cliOk(data, ['status']);
  assert.match(stdout, /^PID\s+MANAGER\s+QUEUES\s+JOB$/m);
  assert.match(stdout, /\sx,y\s+\(idle\)$/m);
  await cliOk(data, ['list', '--queue', 'default']);
  assert.equal((await allJobs(data)).get('not-mine')?.state, 'pending');
  assert.match((await cliOk(data, ['list', '-q', 'default'])).stdout, /^not-mine\s/m);
  assert.doesNotMatch((await cliOk(data, ['list', '-q', 'default'])).stdout, /^mine\s/m);
  const stats = await cliJson<{ counts: Record<string, number> }>(data, ['stats', '--queue', 'x']);
  assert.equal(stats.counts.completed, 1);
  assert.equal(stats.counts.pending, 0);
});
