/**
 * End-to-end tests of waiting on jobs: wait, enqueue --wait, and waiting with no worker running.
 * Real CLI, real worker processes; jobs record their runs with test/fixtures/record-run.sh.
 * Terminal behaviour is checked under a real pseudo-terminal made by script(1).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import {
  CLI,
  cliCode as cli,
  cliOk,
  describeRun,
  rejected,
  readQueueFile,
  runCli,
  startManager,
  tempDataDir,
  waitFor,
  workspace,
} from '../helpers.js';
import { recordingJob, starts } from '../runs-log.js';
import { DAY, finished, ids, MINUTE, stateOf, writeJobs } from '../crafted-jobs.js';
import { inTerminal } from '../terminal.js';

// ---- wait ---------------------------------------------------------------------------------------

describe('wait', () => {
  test('exits 0 once every job completed, and --json prints the jobs as they ended', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t);
    for (const id of ['a', 'b', 'c']) await cliOk(data, ['enqueue', '--id', id, '--command', recordingJob(runs, 0.3)]);
    startManager(t, data, 2);
    const result = await cli(data, ['wait', 'a', 'b', 'c', '--json'], 0);
    const jobs = JSON.parse(result.stdout) as Job[];
    assert.deepEqual(ids(jobs), ['a', 'b', 'c']);
    assert.ok(jobs.every((job) => job.state === 'completed'), result.stdout);
    assert.equal(result.stderr, '', 'no progress line when stderr is not a terminal');
    assert.equal(starts(runs, 'a').length, 1);
  });

  test('exits 1 when a job ended dead, and names it with its error', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t);
    await cliOk(data, ['enqueue', '--id', 'good', '--command', recordingJob(runs)]);
    await cliOk(data, ['enqueue', '--id', 'bad', '--max-retries', '0', '--command', recordingJob(runs, 0, 3)]);
    startManager(t, data, 1);
    const result = await cli(data, ['wait', 'good', 'bad'], 1);
    assert.match(result.stdout, /^2 jobs finished: 1 completed, 1 dead, 0 canceled$/m);
    assert.match(result.stdout, /^ {2}bad {2}dead: command failed with exit code 3$/m);
  });

  test('exits 124 when --timeout passes first; --json then shows the jobs as they stand', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    await cliOk(data, ['enqueue', '--id', 'idle', '--command', 'true']);
    const started = Date.now();
    const result = await cli(data, ['wait', '--timeout', '1', '--json'], 124);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1_000 && elapsed < 10_000, `waited ${elapsed} ms for a 1 s timeout`);
    assert.deepEqual(
      (JSON.parse(result.stdout) as Job[]).map((job) => [job.id, job.state]),
      [['idle', 'pending']],
    );
    const once = await cli(data, ['wait', 'idle', '--timeout', '0'], 124);
    assert.match(once.stdout, /^timed out after 0 ms: 1 of 1 job not finished\n {2}idle {2}pending$/m);
  });

  test('the default is every job unfinished when it starts; old dead and completed jobs do not count', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t);
    writeJobs(data, [finished('old', 'completed', DAY)], [finished('ancient', 'dead', DAY)]);
    const nothing = await cli(data, ['wait'], 0);
    assert.equal(nothing.stdout, 'no unfinished jobs to wait for\n');

    // y runs long enough after x that the progress line shows x done, whatever the load.
    await cliOk(data, ['enqueue', '--id', 'x', '--command', recordingJob(runs, 0.2)]);
    await cliOk(data, ['enqueue', '--id', 'y', '--command', recordingJob(runs, 1.5)]);
    const timedOut = await cli(data, ['wait', '--timeout', '0', '--json'], 124);
    assert.deepEqual(ids(JSON.parse(timedOut.stdout) as Job[]), ['x', 'y']);

    // On a terminal the progress line shows when the wait has read the queue: only then may the
    // jobs run, or they could finish before it looks and leave it nothing to wait for.
    const terminal = inTerminal(t, data, ['wait', '--json']);
    await waitFor(async () => terminal.output().includes('waiting: 0/2 done'), { what: 'the wait to start' });
    startManager(t, data, 1);
    assert.equal(await terminal.exited, 0, terminal.output());
    const output = terminal.output().replaceAll('\r\n', '\n');
    const jobs = JSON.parse(output.slice(output.lastIndexOf('\u001b[K') + 3)) as Job[]; // after the cleared progress line
    assert.deepEqual(jobs.map((job) => [job.id, job.state]), [['x', 'completed'], ['y', 'completed']]);
    assert.match(output, /waiting: 1\/2 done · [\d.]+ jobs\/(s|min) · ETA /, 'rate and ETA once a job finished');
  });

  test('an unknown id exits 2 at once and nothing waits; so does a bad --timeout', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    await cliOk(data, ['enqueue', '--id', 'known', '--command', 'true']);
    await rejected(data, ['wait', 'known', 'nope', 'nada'], /^queuectl: no jobs "nope", "nada" in the queue, the DLQ or the archive/);
    await rejected(data, ['wait', '--timeout', 'soon'], /--timeout must be a duration such as 90, 1.5, 500ms, 90s, 5m, 2h or 1d/);
    await rejected(data, ['wait', '--timeout=-1'], /--timeout must be a duration/);
  });

  test('a job canceled while waited for ends the wait with exit 1', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    await cliOk(data, ['enqueue', '--id', 'never', '--command', 'true']);
    const waiting = runCli(data, ['wait', 'never']);
    await cliOk(data, ['cancel', 'never']);
    const result = await waiting;
    assert.equal(result.code, 1, describeRun(['wait', 'never'], result));
    assert.match(result.stdout, /never {2}canceled: canceled by user while pending/);
  });

  test('on a terminal, a progress line with done/total and ETA is drawn on stderr', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    await cliOk(data, ['enqueue', '--id', 'p', '--command', 'true']);
    writeJobs(data, [...readQueueFile(data), finished('done', 'completed', MINUTE)]);
    const terminal = inTerminal(t, data, ['wait', 'p', 'done', '--timeout', '1']);
    assert.equal(await terminal.exited, 124, terminal.output());
    assert.match(terminal.output(), /waiting: 1\/2 done · ETA - · no worker is running \(queuectl worker start\)/);
  });
});

// ---- enqueue --wait -------------------------------------------------------------------------------

describe('enqueue --wait', () => {
  test('waits for the new job and exits 0 when it completed', { timeout: 30_000 }, async (t) => {
    const { data, runs } = workspace(t);
    startManager(t, data, 1);
    const result = await cli(data, ['enqueue', '--id', 'ok', '--wait', '--command', recordingJob(runs, 0.2)], 0);
    assert.equal(result.stdout, 'enqueued ok\nok completed\n');
    assert.equal(await stateOf(data, 'ok'), 'completed');
    const json = await cli(data, ['enqueue', '{"id":"ok2","command":"true"}', '--wait', '--json'], 0);
    const job = JSON.parse(json.stdout) as Job;
    assert.equal(job.id, 'ok2');
    assert.equal(job.state, 'completed', 'one document: the job as it ended');
  });

  test('exits with the exit code of the job when it ends dead, as tsp -w does; 1 when it has none; with --file, 1 and every job waited for', { timeout: 30_000 }, async (t) => {
    const { data, work, runs } = workspace(t);
    startManager(t, data, 2);
    const bad = await cli(data, ['enqueue', '--id', 'bad', '--max-retries', '0', '--wait', '--command', 'exit 7'], 7);
    assert.match(bad.stdout, /^enqueued bad\n1 job finished: 0 completed, 1 dead, 0 canceled\n {2}bad {2}dead: command failed with exit code 7\n$/);
    const killed = await cli(data, ['enqueue', '--id', 'slow', '--max-retries', '0', '--timeout', '200ms', '--wait', '--command', 'sleep 5'], 1);
    assert.match(killed.stdout, /slow {2}dead: command timed out after 0.2 s and was killed/);
    assert.equal((await runCli(data, ['wait', 'bad'])).code, 1, 'wait keeps its own exit codes');

    const batch = join(work, 'batch.ndjson');
    writeFileSync(
      batch,
      [
        JSON.stringify({ id: 'b1', command: recordingJob(runs, 0.5) }),
        JSON.stringify({ id: 'b2', command: recordingJob(runs, 0, 4), max_retries: 0 }),
      ].join('\n'),
    );
    const result = await cli(data, ['enqueue', '--file', batch, '--wait', '--json'], 1);
    const jobs = JSON.parse(result.stdout) as Job[];
    assert.deepEqual(jobs.map((job) => [job.id, job.state]), [['b1', 'completed'], ['b2', 'dead']]);
  });
});

describe('waiting with no worker running', () => {
  test('off a terminal, wait and enqueue --wait say once on stderr, at once, that no worker runs on the data dir', { timeout: 30_000 }, async (t) => {
    const data = tempDataDir(t);
    const result = await cli(data, ['enqueue', '--id', 'lonely', '--command', 'true'], 0);
    assert.equal(result.stderr, '');
    const waited = await cli(data, ['wait', '--timeout', '3'], 124);
    assert.equal(waited.stderr, `queuectl: no worker manager is running on ${data}; the jobs wait until one starts (queuectl worker start)\n`);

    const child = spawn(process.execPath, [CLI, '--data-dir', data, 'enqueue', '--command', 'true', '--wait'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const started = Date.now();
    await waitFor(async () => stderr.includes('no worker manager is running'), { timeoutMs: 5_000, what: 'the notice' });
    assert.ok(Date.now() - started < 5_000);
    startManager(t, data, 1);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, 'it waits on, and ends when a worker has run the job');
    assert.equal(stderr.split('no worker manager').length - 1, 1, 'said once');
  });
});
