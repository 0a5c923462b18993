/**
 * End-to-end: how the manager hands out work. It claims for its workers in batched lock
 * cycles, hands each worker its next job while the current one runs, wakes on a change of
 * queue.json instead of a poll, and kills runs left behind by a manager that died with its
 * workers. Real CLI, real processes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  allJobs,
  cliOk,
  killGroup,
  processAlive,
  startManager,
  waitFor,
  withDeadline,
  workspace,
} from '../helpers.js';
import { readRuns, recordingJob, starts } from '../runs-log.js';

function stateOf(dataDir: string, id: string): string | undefined {
  return allJobs(dataDir).get(id)?.state;
}

test('an idle manager starts a new job on the change of queue.json, not on its next poll', { timeout: 30_000 }, async (t) => {
  // A poll every 60 s: only the change event can start the job within the deadline below.
  const { data, runs } = workspace(t, { poll_interval: 60_000 });
  startManager(t, data, 1);
  await cliOk(data, ['enqueue', '--id', 'warmup', '--command', recordingJob(runs)]);
  await waitFor(() => stateOf(data, 'warmup') === 'completed', { timeoutMs: 10_000, what: 'the first job (claimed at start-up)' });

  const enqueued = Date.now();
  await cliOk(data, ['enqueue', '--id', 'woken', '--command', recordingJob(runs)]);
  const run = await waitFor(() => starts(runs, 'woken')[0], { timeoutMs: 10_000, what: 'the job to start without a poll' });
  assert.ok(run.at - enqueued < 10_000);
});

test('a job handed to a busy worker as its next one, then canceled, never starts', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'busy', '--command', recordingJob(runs, 60)]);
  await cliOk(data, ['enqueue', '--id', 'next', '--command', recordingJob(runs)]);
  startManager(t, data, 1);
  await waitFor(() => starts(runs, 'busy')[0], { what: 'the first job to run' });
  // One worker, two jobs: the second is claimed for it and waits behind the first.
  await waitFor(() => stateOf(data, 'next') === 'processing', { what: 'the second job to be handed over' });

  await cliOk(data, ['cancel', 'next']);
  await cliOk(data, ['cancel', 'busy']);
  await cliOk(data, ['enqueue', '--id', 'after', '--command', recordingJob(runs)]);
  await waitFor(() => stateOf(data, 'after') === 'completed', { what: 'a later job to run' });
  assert.deepEqual(starts(runs, 'next'), [], 'the canceled job never started');
  assert.equal(stateOf(data, 'next'), 'canceled');
});

test('a graceful stop gives back the job waiting behind a running one: pending again, no attempt counted', { timeout: 30_000 }, async (t) => {
  const { data, runs } = workspace(t);
  await cliOk(data, ['enqueue', '--id', 'running', '--command', recordingJob(runs, 1)]);
  await cliOk(data, ['enqueue', '--id', 'waiting', '--command', recordingJob(runs)]);
  const manager = startManager(t, data, 1);
  await waitFor(() => starts(runs, 'running')[0], { what: 'the first job to run' });
  await waitFor(() => stateOf(data, 'waiting') === 'processing', { what: 'the second job to be handed over' });

  process.kill(manager.pid, 'SIGTERM');
  assert.equal(await withDeadline(manager.exited, 15_000, 'the manager to exit'), 0, manager.output());
  const jobs = allJobs(data);
  assert.equal(jobs.get('running')?.state, 'completed', 'the running job finished');
  assert.equal(jobs.get('waiting')?.state, 'pending');
  assert.equal(jobs.get('waiting')?.attempts, 0);
  assert.equal(jobs.get('waiting')?.lease, null);
  assert.deepEqual(starts(runs, 'waiting'), [], 'it did not run');
});

test('when a manager dies with all its workers, the next one kills the orphaned run before running the job again', { timeout: 60_000 }, async (t) => {
  const { data, runs } = workspace(t, { lease: 2, backoff_base: 1 });
  const seconds = '$([ "$QUEUECTL_ATTEMPT" = 1 ] && echo 60 || echo 0)';
  await cliOk(data, ['enqueue', '--id', 'orphan', '--command', recordingJob(runs, seconds)]);
  const first = startManager(t, data, 1);
  const orphanRun = await waitFor(() => starts(runs, 'orphan')[0], { what: 'the first run to start' });

  killGroup(first.pid); // the manager and its worker, not the job: it runs in a group of its own
  await withDeadline(first.exited, 5_000, 'the manager to die');
  assert.ok(processAlive(orphanRun.shell), 'the run outlived its manager and worker');

  const second = startManager(t, data, 1);
  const rerun = await waitFor(() => starts(runs, 'orphan')[1], { timeoutMs: 20_000, what: 'the job to run again' });
  assert.equal(processAlive(orphanRun.shell), false, 'the orphaned run was killed');
  const firstEvents = readRuns(runs).filter((run) => run.attempt === 1);
  assert.ok(
    firstEvents.every((event) => event.at <= rerun.at),
    `run 1 went on after run 2 started:\n${JSON.stringify(readRuns(runs), null, 1)}`,
  );
  await waitFor(() => stateOf(data, 'orphan') === 'completed', { what: 'the job to complete' });
  assert.equal(allJobs(data).get('orphan')?.attempts, 2);
  assert.match(second.output(), /took back orphan: worker lost: lease expired/);
  assert.match(second.output(), /killed \d+ process\(es\) still running lost runs/);
});

test('SIGTERM to one busy worker: it finishes its job and exits, the job waiting behind it runs once on its replacement', { timeout: 30_000 }, async (t) => {
  // No polling to speak of: the lock cycles counted below are the ones the worker's exit and its
  // replacement cause, not a poll every 50 ms for however long a loaded machine takes.
  const { data, work, runs } = workspace(t, { poll_interval: 60_000 });
  const lockLog = join(work, 'lock.log');
  await cliOk(data, ['enqueue', '--id', 'running', '--command', recordingJob(runs, 1.5)]);
  await cliOk(data, ['enqueue', '--id', 'waiting', '--command', recordingJob(runs)]);
  const manager = startManager(t, data, 1, { QUEUECTL_LOCK_LOG: lockLog });
  const first = await waitFor(() => starts(runs, 'running')[0], { what: 'the first job to run' });
  await waitFor(() => stateOf(data, 'waiting') === 'processing', { what: 'the second job to be handed over' });

  const cyclesBefore = lockCycles(lockLog);
  process.kill(first.worker, 'SIGTERM');
  await waitFor(() => stateOf(data, 'waiting') === 'completed', { timeoutMs: 15_000, what: 'the second job to complete' });
  const jobs = allJobs(data);
  assert.equal(jobs.get('running')?.state, 'completed', 'the running job finished');
  assert.equal(jobs.get('running')?.attempts, 1);
  assert.equal(jobs.get('waiting')?.attempts, 1, 'the job given back was not charged an attempt');
  const waitingRuns = starts(runs, 'waiting');
  assert.equal(waitingRuns.length, 1);
  assert.notEqual(waitingRuns[0]?.worker, first.worker, 'it ran on the replacement');
  assert.match(manager.output(), new RegExp(`worker ${first.worker} exited with code 0; starting a replacement`));
  // Handing the job back and forth to the stopping worker would show as hundreds of cycles.
  assert.ok(lockCycles(lockLog) - cyclesBefore < 30, `${lockCycles(lockLog) - cyclesBefore} lock cycles for two jobs`);
});

function lockCycles(lockLog: string): number {
  try {
    return readFileSync(lockLog, 'utf8').split('\n').filter((line) => line.includes(' acquired ')).length;
  } catch {
    return 0;
  }
}
