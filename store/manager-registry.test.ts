import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { readProcStat } from '../core/proc-stat.js';
import { identityOf, isAlive } from './manager-registry.js';

test('a live process is alive; the same pid with another start time is not (the pid was reused)', () => {
  const self = identityOf(process.pid);
  assert.equal(isAlive(self), true);
  assert.equal(isAlive({ ...self, start: '1' }), false);
  assert.equal(isAlive({ pid: 2 ** 30, start: null }), false);
});

test('a process that exited and was never reaped (a zombie) is not alive', { timeout: 15_000 }, async (t) => {
  // `sleep 0` exits at once, and its parent, which became `sleep 30`, never waits for it.
  const parent = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => parent.kill('SIGKILL'));
  const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
  const deadline = Date.now() + 10_000;
  while (readProcStat(pid)?.state !== 'Z') {
    assert.ok(Date.now() < deadline, `process ${pid} did not become a zombie`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(isAlive({ pid, start: readProcStat(pid)!.start }), false);
  assert.equal(isAlive({ pid, start: null }), false);
});
