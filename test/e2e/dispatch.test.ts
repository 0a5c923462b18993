/**
 * End-to-end: how the manager hands out work. It claims for its workers in batched lock
 * cycles, holds a few jobs ahead for whichever worker frees first (and lets them go when none
 * does soon), records the times each run had, wakes on a change of queue.json instead of a poll,
 * and kills runs left behind by a manager that died with its workers. Real CLI, real processes.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import {
  allJobs,
  cliJson,
  cliOk,
  hasStarted,
  killGroup,
  processAlive,
  startManager,
  waitFor,
  waitForAllFinished,
  withDeadline,
  workspace,
} from '../helpers.js';
import { readRuns, recordingJob, starts } from '../runs-log.js';

async function stateOf(dataDir: string, id: string): Promise<string | undefined> {
  return (await allJobs(dataDir)).get(id)?.state;
}

test('an idle manager starts a new job on the change of queue.json, not on its next poll', { timeout: 30_000 }, async (t) => {
  // A poll every 60 s: only the change event can start the job within the deadline below.
  const { data, runs } = workspace(t, { poll_interval: 60_000 });
  startManager(t, data, 1);
  await cliOk(data, ['enqueue', '--id', 'warmup', '--command', recordingJob(runs)]);
  await waitFor(async () => (await stateOf(data, 'warmup')) === 'completed', { timeoutMs: 10_000, what: 'the first job (claimed at start-up)' });

  const enqueued = Date.now();
  await cliOk(data, ['enqueue', '--id', 'woken', '--command', recordingJob(runs)]);
  const run = await waitFor(async () => starts(runs, 'woken')[0], { timeoutMs: 10_000, what: 'the job to start without a poll' });
  assert.ok(run.at - enqueued < 10_000);
});

test('a short job never waits behind a long one while a worker is free; equal-priority jobs start in enqueue order', { timeout: 60_000 }, async (t) => {
  const { data, work, runs } = workspace(t);
  const batch = join(work, 'jobs.ndjson');
  writeFileSync(
    batch,
    [
      { id: 'A', command: recordingJob(runs, 60) },
      { id: 'B', command: recordingJob(runs, 1) },
      { id: 'C', command: recordingJob(runs, 1) },
      { id: 'D', command: recordingJob(runs, 1) },
    ]
      .map((job) => JSON.stringify(job))
      .join('\n'),
  );
  await cliOk(data, ['enqueue', '--file', batch]);
  startManager(t, data, 2);
  const d = await waitFor(async () => starts(runs, 'D')[0], { timeoutMs: 20_000, what: 'D to start' });
  const [a, b, c] = ['A', 'B', 'C'].map((id) => starts(runs, id)[0]);
  const bEnd = readRuns(runs).find((run) => run.id === 'B' && run.event === 'end');
  assert.ok(a && b && c && bEnd, JSON.stringify(readRuns(runs)));
  assert.notEqual(c.worker, a.worker, 'C ran on the free worker, not behind A');
  assert.ok(c.at - bEnd.at < 2_000, `C started ${Math.round(c.at - bEnd.at)} ms after B's worker came free`);
  assert.ok(c.at <= d.at, 'C, enqueued before D, started first');
  assert.ok(readRuns(runs).every((run) => !(run.id === 'A' && run.event === 'end')), 'all of this happened while A ran');
});

test('a job held by a manager whose workers are all busy goes to another manager\'s free worker', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'long', '--command', recordingJob(runs, 60)]);
  const busy = startManager(t, data, 1);
  await waitFor(async () => hasStarted((await allJobs(data)).get('long')), { what: 'the long job to run' });
  const free = startManager(t, data, 1);
  await waitFor(async () => (await cliJson<{ workers: unknown[] }>(data, ['status'])).workers.length === 2, { what: 'both managers to run a worker' });

  // Both managers want it: the busy one to hold for its worker, the free one to run now. Held,
  // it goes back within a fraction of a second, and the free worker takes it.
  const enqueued = Date.now();
  await cliOk(data, ['enqueue', '--id', 'short', '--command', recordingJob(runs, 0)]);
  const short = await waitFor(async () => starts(runs, 'short')[0], { timeoutMs: 20_000, what: 'the short job to start' });
  assert.ok(short.at - enqueued < 3_000, `it started ${Math.round(short.at - enqueued)} ms after it was enqueued`);
  const longWorker = starts(runs, 'long')[0]!.worker;
  assert.notEqual(short.worker, longWorker);
  assert.ok(processAlive(busy.pid) && processAlive(free.pid));
});

test('with two managers, one of them busy with a long job, jobs enqueued together start in enqueue order', { timeout: 60_000 }, async (t) => {
  const { data, work, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'long', '--command', recordingJob(runs, 60)]);
  startManager(t, data, 1);
  const long = await waitFor(async () => starts(runs, 'long')[0], { what: 'the long job to run' });
  startManager(t, data, 1);
  await waitFor(async () => (await cliJson<{ workers: unknown[] }>(data, ['status'])).workers.length === 2, { what: 'both managers to run a worker' });
  // A run that has gone on this long is not one to claim ahead for.
  await waitFor(async () => Date.now() - long.at > 500, { what: 'the long run to be under way' });

  const batch = join(work, 'batch.ndjson');
  writeFileSync(batch, ['C', 'D'].map((id) => JSON.stringify({ id, command: recordingJob(runs, 0.5) })).join('\n'));
  await cliOk(data, ['enqueue', '--file', batch]);
  const d = await waitFor(async () => starts(runs, 'D')[0], { timeoutMs: 20_000, what: 'D to start' });
  const c = starts(runs, 'C')[0];
  assert.ok(c && c.at <= d.at, `C, enqueued first, started after D: ${JSON.stringify(readRuns(runs))}`);
  assert.notEqual(c.worker, long.worker, 'C did not wait for the busy worker');
});

test('status names the job each worker runs, and a job claimed ahead shows no run until it starts', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'running', '--command', recordingJob(runs, 60)]);
  await cliOk(data, ['enqueue', '--id', 'next', '--command', recordingJob(runs, 0)]);
  startManager(t, data, 1);
  await waitFor(async () => hasStarted((await allJobs(data)).get('running')), { what: 'the first job to run' });

  // The manager claims "next" for its busy worker, holds it briefly, then lets it go: whatever
  // the moment, "next" shows no run and the worker is shown running the job it runs.
  for (let i = 0; i < 10; i++) {
    const status = await cliJson<{ workers: { job: string | null }[] }>(data, ['status']);
    assert.deepEqual(status.workers.map((worker) => worker.job), ['running']);
    const next = await cliJson<Job>(data, ['show', 'next']);
    assert.equal(next.attempts, 0, `a run counted while it waits: ${JSON.stringify(next)}`);
    assert.equal(next.started_at, null);
    assert.ok(next.state === 'pending' || (next.state === 'processing' && next.lease?.worker_pid === null), JSON.stringify(next));
  }
  assert.deepEqual(starts(runs, 'next'), []);
});

test('a graceful stop leaves the jobs that had not started pending, no attempt counted', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'running', '--command', recordingJob(runs, 1)]);
  await cliOk(data, ['enqueue', '--id', 'waiting', '--command', recordingJob(runs)]);
  const manager = startManager(t, data, 1);
  await waitFor(async () => starts(runs, 'running')[0], { what: 'the first job to run' });

  process.kill(manager.pid, 'SIGTERM');
  assert.equal(await withDeadline(manager.exited, 15_000, 'the manager to exit'), 0, manager.output());
  const jobs = (await allJobs(data));
  assert.equal(jobs.get('running')?.state, 'completed', 'the running job finished');
  assert.equal(jobs.get('waiting')?.state, 'pending');
  assert.equal(jobs.get('waiting')?.attempts, 0);
  assert.equal(jobs.get('waiting')?.lease, null);
  assert.deepEqual(starts(runs, 'waiting'), [], 'it did not run');
});

test('the times on record are the run\'s own: runs of one worker never overlap, and each ends when its command did', { timeout: 60_000 }, async (t) => {
  const { data, work, runs } = workspace(t);
  const batch = join(work, 'jobs.ndjson');
  const ids = Array.from({ length: 30 }, (_, i) => `t${String(i).padStart(2, '0')}`);
  writeFileSync(batch, ids.map((id) => JSON.stringify({ id, command: recordingJob(runs) })).join('\n'));
  await cliOk(data, ['enqueue', '--file', batch]);
  startManager(t, data, 1);
  await waitForAllFinished(data);
  const all = await allJobs(data);
  const jobs = ids.map((id) => all.get(id)!).sort((x, y) => (x.started_at! < y.started_at! ? -1 : 1));
  const ends = new Map(readRuns(runs).filter((run) => run.event === 'end').map((run) => [run.id, run.at]));
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    assert.equal(job.state, 'completed');
    const end = ends.get(job.id)!;
    // The command's own last act is before its end on record, which its worker saw soon after.
    assert.ok(Date.parse(job.finished_at!) >= Math.floor(end), `${job.id} ended on record before its command did`);
    assert.ok(Date.parse(job.finished_at!) - end < 2_000, `${job.id} ended on record ${Date.parse(job.finished_at!) - end} ms after its command`);
    const next = jobs[i + 1];
    if (next) assert.ok(next.started_at! >= job.finished_at!, `${next.id} started at ${next.started_at}, before ${job.id} ended at ${job.finished_at}`);
  }
});

test('a run whose manager dies right after its start is counted, though no cycle recorded the start', { timeout: 90_000 }, async (t) => {
  // The job kills its own manager the moment it starts (field 4 of /proc/<worker>/stat is the
  // manager's pid): its start never reaches queue.json. Counted all the same, it uses up its
  // attempts and ends dead, instead of running as attempt 1 for ever.
  const { data, runs } = workspace(t, { lease: 1, backoff_base: 1 });
  const command = `${recordingJob(runs)}; kill -9 $(cut -d' ' -f4 /proc/$PPID/stat); sleep 30`;
  await cliOk(data, ['enqueue', '--id', 'deadly', '--max-retries', '1', '--command', command]);
  for (let manager = 1; manager <= 4 && (await allJobs(data)).get('deadly')?.state !== 'dead'; manager++) {
    const handle = startManager(t, data, 1);
    await Promise.race([
      handle.exited,
      waitFor(async () => (await allJobs(data)).get('deadly')?.state === 'dead', { timeoutMs: 30_000, what: 'the job to be dead' }),
    ]);
  }
  const job = (await allJobs(data)).get('deadly');
  assert.equal(job?.state, 'dead', JSON.stringify(job));
  assert.equal(job?.attempts, 2);
  assert.deepEqual(starts(runs, 'deadly').map((run) => run.attempt), [1, 2], 'QUEUECTL_ATTEMPT went up with each run');
});

test('when a manager dies with all its workers, the next one kills the orphaned run before running the job again', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t, { lease: 2, backoff_base: 1 });
  const seconds = '$([ "$QUEUECTL_ATTEMPT" = 1 ] && echo 60 || echo 0)';
  await cliOk(data, ['enqueue', '--id', 'orphan', '--command', recordingJob(runs, seconds)]);
  const first = startManager(t, data, 1);
  const orphanRun = await waitFor(async () => starts(runs, 'orphan')[0], { what: 'the first run to start' });

  killGroup(first.pid); // the manager and its worker, not the job: it runs in a group of its own
  await withDeadline(first.exited, 5_000, 'the manager to die');
  assert.ok(processAlive(orphanRun.shell), 'the run outlived its manager and worker');

  const second = startManager(t, data, 1);
  const rerun = await waitFor(async () => starts(runs, 'orphan')[1], { timeoutMs: 20_000, what: 'the job to run again' });
  assert.equal(processAlive(orphanRun.shell), false, 'the orphaned run was killed');
  const firstEvents = readRuns(runs).filter((run) => run.attempt === 1);
  assert.ok(
    firstEvents.every((event) => event.at <= rerun.at),
    `run 1 went on after run 2 started:\n${JSON.stringify(readRuns(runs), null, 1)}`,
  );
  await waitFor(async () => (await stateOf(data, 'orphan')) === 'completed', { what: 'the job to complete' });
  assert.equal((await allJobs(data)).get('orphan')?.attempts, 2);
  assert.match(second.output(), /took back orphan: worker lost: lease expired/);
  assert.match(second.output(), /killed \d+ process\(es\) still running lost runs/);
});

test('SIGTERM to one busy worker: it finishes its job and exits, and the next job runs once, on its replacement', { timeout: 30_000 }, async (t) => {
  // No polling to speak of: the lock cycles counted below are the ones the worker's exit and its
  // replacement cause, not a poll every 50 ms for however long a loaded machine takes.
  const { data, work, runs } = workspace(t, { poll_interval: 60_000 });
  const lockLog = join(work, 'lock.log');
  await cliOk(data, ['enqueue', '--id', 'running', '--command', recordingJob(runs, 1.5)]);
  await cliOk(data, ['enqueue', '--id', 'waiting', '--command', recordingJob(runs)]);
  const manager = startManager(t, data, 1, { QUEUECTL_LOCK_LOG: lockLog });
  const first = await waitFor(async () => starts(runs, 'running')[0], { what: 'the first job to run' });

  const cyclesBefore = lockCycles(lockLog);
  process.kill(first.worker, 'SIGTERM');
  await waitFor(async () => (await stateOf(data, 'waiting')) === 'completed', { timeoutMs: 15_000, what: 'the second job to complete' });
  const jobs = (await allJobs(data));
  assert.equal(jobs.get('running')?.state, 'completed', 'the running job finished');
  assert.equal(jobs.get('running')?.attempts, 1);
  assert.equal(jobs.get('waiting')?.attempts, 1, 'no attempt was charged for waiting');
  const waitingRuns = starts(runs, 'waiting');
  assert.equal(waitingRuns.length, 1);
  assert.notEqual(waitingRuns[0]?.worker, first.worker, 'it ran on the replacement');
  assert.match(manager.output(), new RegExp(`worker ${first.worker} exited with code 0; starting a replacement`));
  // Claiming the job again and again while no worker is free would show as hundreds of cycles.
  assert.ok(lockCycles(lockLog) - cyclesBefore < 30, `${lockCycles(lockLog) - cyclesBefore} lock cycles for two jobs`);
});

function lockCycles(lockLog: string): number {
  try {
    return readFileSync(lockLog, 'utf8').split('\n').filter((line) => line.includes(' acquired ')).length;
  } catch {
    return 0;
  }
}
