import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findRunProcesses, findRunProcessesOfJobs, findRunsOfStore, runJobId, stopRunProcesses, TOKEN_VARIABLE } from './run-processes.js';
import { readProcStat } from './proc-stat.js';
import { processAlive } from '../../test/helpers.js';

test('a run is recognised by both its data dir and its job id in the environment', () => {
  const environ = ['PATH=/bin', 'QUEUECTL_DATA_DIR=/data', 'QUEUECTL_JOB_ID=job1', 'QUEUECTL_ATTEMPT=1', ''].join('\0');
  assert.equal(runJobId(environ, '/data') === 'job1', true);
  assert.equal(runJobId(environ, '/data') === 'job', false, 'a prefix of the id is another job');
  assert.equal(runJobId(environ, '/other') === 'job1', false, 'the same id in another data dir is another job');
  assert.equal(runJobId('QUEUECTL_JOB_ID=job1\0', '/data') === 'job1', false);
});

function startRun(root: string, id: string, script: string): number {
  const child = spawn('/bin/sh', ['-c', script], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, QUEUECTL_DATA_DIR: root, QUEUECTL_JOB_ID: id },
  });
  child.unref();
  return child.pid!;
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('stopping a run ends its shell and its background child with SIGTERM', { timeout: 15_000 }, async () => {
  const root = `/tmp/queuectl-unit-${process.pid}-a`;
  startRun(root, 'j', 'sleep 30 & sleep 30 & wait'); // the shell stays, whether or not it would exec
  await until(() => findRunProcesses(root, 'j').length === 3);
  const started = Date.now();
  const result = await stopRunProcesses(root, 'j', { graceMs: 5_000, watchUntil: started + 10_000 });
  assert.ok(Date.now() - started < 5_000, 'once the run is found and gone, there is nothing more to watch for');
  assert.equal(result.pids.length, 3);
  assert.equal(result.killed, false);
  assert.deepEqual(result.remaining, []);
  assert.deepEqual(findRunProcesses(root, 'j'), []);
});

test('a run that ignores SIGTERM is killed after the grace period; other jobs are left alone', { timeout: 15_000 }, async () => {
  const root = `/tmp/queuectl-unit-${process.pid}-b`;
  startRun(root, 'stubborn', "trap '' TERM; sleep 30 & sleep 30 & wait");
  const other = startRun(root, 'other', 'sleep 30');
  try {
    await until(() => findRunProcesses(root, 'stubborn').length === 3);
    const started = Date.now();
    const result = await stopRunProcesses(root, 'stubborn', { graceMs: 300 });
    assert.equal(result.killed, true);
    assert.ok(Date.now() - started >= 300, 'SIGKILL only after the grace period');
    assert.deepEqual(findRunProcesses(root, 'stubborn'), []);
    assert.ok(findRunProcesses(root, 'other').length > 0, 'another job of the data dir still runs');
  } finally {
    process.kill(-other, 'SIGKILL');
  }
});

test('with nothing to stop, it returns at once, or watches until told', async () => {
  const root = `/tmp/queuectl-unit-${process.pid}-c`;
  assert.deepEqual(await stopRunProcesses(root, 'none', { graceMs: 1_000 }), { pids: [], killed: false, remaining: [] });
  const started = Date.now();
  await stopRunProcesses(root, 'none', { graceMs: 1_000, watchUntil: started + 200 });
  assert.ok(Date.now() - started >= 200);
});

test('processes found before the stop count as stopped, also when something else (their worker) ended them first', { timeout: 15_000 }, async () => {
  const root = `/tmp/queuectl-unit-${process.pid}-d`;
  const pid = startRun(root, 'k', 'exec sleep 30');
  await until(() => findRunProcesses(root, 'k').length === 1);
  const found = findRunProcesses(root, 'k');
  process.kill(-pid, 'SIGTERM');
  await until(() => findRunProcesses(root, 'k').length === 0);
  assert.deepEqual(await stopRunProcesses(root, 'k', { graceMs: 1_000, found }), { pids: [pid], killed: false, remaining: [] });
});

test('given ownerFirstMs, it only watches that long: a run its own worker stops meanwhile gets no signal from here', { timeout: 15_000 }, async (t) => {
  const root = `/tmp/queuectl-unit-${process.pid}-f`;
  const signals = mkdtempSync(join(tmpdir(), 'queuectl-owner-first-'));
  t.after(() => rmSync(signals, { recursive: true, force: true }));
  const heard = join(signals, 'heard');
  // The run notes each signal it gets; HUP to its group (its "worker") ends it.
  const pid = startRun(root, 'o', `trap 'echo TERM >> ${heard}' TERM; trap 'echo HUP >> ${heard}; exit 0' HUP; sleep 30 & wait`);
  await until(() => findRunProcesses(root, 'o').length > 0);
  const started = Date.now();
  const stopping = stopRunProcesses(root, 'o', { graceMs: 5_000, ownerFirstMs: 1_000, found: findRunProcesses(root, 'o') });
  setTimeout(() => process.kill(-pid, 'SIGHUP'), 200);
  const result = await stopping;
  assert.ok(result.pids.includes(pid));
  assert.match(readFileSync(heard, 'utf8'), /^(HUP\n)+$/, 'no SIGTERM from here while its owner had the run');
  assert.ok(Date.now() - started < 1_000);
});

test('given ownerFirstMs, a run no one else stops is signalled once that time is out', { timeout: 15_000 }, async (t) => {
  const root = `/tmp/queuectl-unit-${process.pid}-g`;
  const signals = mkdtempSync(join(tmpdir(), 'queuectl-owner-first-'));
  t.after(() => rmSync(signals, { recursive: true, force: true }));
  const heard = join(signals, 'heard');
  startRun(root, 'p', `trap 'echo TERM >> ${heard}; exit 0' TERM; sleep 30 & wait`);
  await until(() => findRunProcesses(root, 'p').length > 0);
  const started = Date.now();
  const result = await stopRunProcesses(root, 'p', { graceMs: 5_000, ownerFirstMs: 300, found: findRunProcesses(root, 'p') });
  assert.ok(Date.now() - started >= 300, 'not before the owner\'s time is out');
  assert.equal(result.killed, false);
  // To its group and to itself: the shell may hear it twice.
  assert.match(readFileSync(heard, 'utf8'), /^(TERM\n)+$/);
});

test('given ownerFirstMs, a run that outlives its worker\'s SIGTERM and dies of its SIGKILL is told as killed', { timeout: 15_000 }, async () => {
  const root = `/tmp/queuectl-unit-${process.pid}-h`;
  const pid = startRun(root, 'q', "trap '' TERM; sleep 30 & wait");
  await until(() => findRunProcesses(root, 'q').length === 2);
  // Its "worker": SIGTERM to the group at once, SIGKILL after the same grace.
  process.kill(-pid, 'SIGTERM');
  const killer = setTimeout(() => process.kill(-pid, 'SIGKILL'), 2_000);
  try {
    // Its own SIGKILL would come at 3 s: the worker's, at 2 s, is what stops them.
    const result = await stopRunProcesses(root, 'q', { graceMs: 2_000, ownerFirstMs: 1_000, found: findRunProcesses(root, 'q') });
    assert.equal(result.killed, true, 'SIGKILL stopped them, the worker\'s');
    assert.deepEqual(result.remaining, []);
  } finally {
    clearTimeout(killer);
  }
});

test('one pass over /proc finds the runs of several jobs, each under its own id and data dir', { timeout: 15_000 }, async () => {
  const root = `/tmp/queuectl-unit-${process.pid}-e`;
  const pids = [startRun(root, 'a', 'exec sleep 30'), startRun(root, 'ab', 'exec sleep 30'), startRun(`${root}-other`, 'a', 'exec sleep 30')];
  try {
    await until(() => findRunProcesses(root, 'ab').length === 1 && findRunProcesses(`${root}-other`, 'a').length === 1);
    const found = findRunProcessesOfJobs(root, ['a', 'ab', 'idle']);
    assert.deepEqual([...found.keys()], ['a', 'ab', 'idle']);
    assert.deepEqual(found.get('a')!.map(({ pid }) => pid), [pids[0]]);
    assert.deepEqual(found.get('ab')!.map(({ pid }) => pid), [pids[1]]);
    assert.deepEqual(found.get('idle'), []);
  } finally {
    for (const pid of pids) process.kill(-pid, 'SIGKILL');
  }
});

test('the runs of a store on this host: by their QUEUECTL_STORE, those whose sh lives, each with whether its worker is gone', { timeout: 15_000 }, async (t) => {
  const store = `postgres://unit-${process.pid}@nowhere/db`;
  const env = (id: string, token: string, runStore = store) => ({ ...process.env, QUEUECTL_STORE: runStore, QUEUECTL_JOB_ID: id, [TOKEN_VARIABLE]: token });
  const pids: number[] = [];
  t.after(() => {
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  // Started by this process, as a worker starts a run: the leader of its own group, its parent alive.
  const kept = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore', env: env('kept', 'tk') });
  kept.unref();
  pids.push(kept.pid!);
  // Another store's run: not this store's to judge.
  const other = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore', env: env('other', 'to', `${store}x`) });
  other.unref();
  pids.push(other.pid!);
  // A run whose worker died: its sh, a group leader, outlives the process that started it.
  const starter = spawn('/bin/sh', ['-c', '(exec setsid sh -c "sleep 30 & wait") & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'], env: env('orphan', 'tr') });
  const starterExited = new Promise((resolve) => starter.once('exit', resolve));
  const orphan = Number(await new Promise<string>((resolve) => starter.stdout!.setEncoding('utf8').once('data', resolve)));
  pids.push(orphan);
  await starterExited;
  await until(() => readProcStat(orphan)?.pgid === orphan && readProcStat(orphan)?.ppid !== starter.pid);
  // A run whose sh has ended, leaving a background process: over, whatever it left running.
  const ended = spawn('/bin/sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: env('ended', 'te') });
  const endedExited = new Promise((resolve) => ended.once('exit', resolve));
  const leftover = Number(await new Promise<string>((resolve) => ended.stdout!.setEncoding('utf8').once('data', resolve)));
  pids.push(ended.pid!);
  await endedExited;
  await until(() => processAlive(leftover));

  const runs = new Map(findRunsOfStore(store).map((run) => [run.id, run]));
  assert.deepEqual([...runs.keys()].sort(), ['kept', 'orphan']);
  assert.deepEqual(runs.get('kept'), { id: 'kept', token: 'tk', workerGone: false });
  assert.equal(runs.get('orphan')!.token, 'tr');
  // Handed to init, as on these machines; under a subreaper its parent lives, and the grace of OWNER_GRACE_MS decides.
  if (readProcStat(orphan)!.ppid === 1) assert.equal(runs.get('orphan')!.workerGone, true);
  else t.diagnostic(`the orphan's parent is ${readProcStat(orphan)!.ppid}, a subreaper: not checked`);
  process.kill(leftover, 'SIGKILL');
});
