import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readProcStat } from './proc-stat.js';
import { isAlive, processIdentity } from './process-identity.js';

test('a live process is alive; the same pid with another start time is not (the pid was reused)', () => {
  const self = processIdentity(process.pid);
  assert.equal(isAlive(self), true);
  assert.equal(isAlive({ ...self, start: '1' }), false);
  assert.equal(isAlive({ pid: 2 ** 30, start: null }), false);
});

test('a process that exited and was never reaped (a zombie) is not alive', { timeout: 15_000 }, async (t) => {
  // The shell starts a child and becomes `sleep 31`, which never waits for it; once it has, the
  // child is killed, and stays a zombie until its parent ends.
  const parent = spawn('/bin/sh', ['-c', 'sleep 30 & echo $!; exec sleep 31'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
  t.after(() => {
    parent.kill('SIGKILL');
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // a zombie, or gone with its parent
    }
  });
  await until(() => readFileSync(`/proc/${parent.pid}/cmdline`, 'utf8') === 'sleep\u000031\u0000', `the shell ${parent.pid} to become sleep 31`);
  const alive = processIdentity(pid);
  assert.equal(isAlive(alive), true);
  process.kill(pid, 'SIGKILL');
  await until(() => readProcStat(pid)?.state === 'Z', `process ${pid} to be a zombie`);
  assert.equal(isAlive(alive), false);
  assert.equal(isAlive({ pid, start: null }), false);
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
