import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunLogs } from '../ports/host.js';
import { claimedJob } from '../../test/sample-jobs.js';
import type { WorkerMessage } from './worker-protocol.js';
import { Worker } from './worker.js';

test("a run's outcome is sent once its log reached the store, not before", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-worker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'j.log');
  const logs: RunLogs = {
    open: () => openSync(log, 'a'),
    close: (fd) => closeSync(fd),
    claimMark: (token) => token,
    showsRun: () => true,
    appendToRun: () => undefined,
    note: () => undefined,
    pathOf: () => log,
    read: async () => undefined,
  };
  const sent: WorkerMessage[] = [];
  let flushed!: () => void;
  let flushAsked!: () => void;
  const asked = new Promise<void>((resolve) => (flushAsked = resolve));
  const worker = new Worker(
    {
      dataDir: dir,
      logs,
      loadEnv: () => ({}),
      send: (message, then) => {
        sent.push(message);
        then?.();
      },
      log: () => undefined,
      flushLogs: () => {
        flushAsked();
        return new Promise<void>((resolve) => (flushed = resolve));
      },
    },
    () => undefined,
  );
  worker.handle({ type: 'run', job: claimedJob('j', { command: 'true', cwd: dir, env_id: null }) });
  await asked;
  assert.deepEqual(sent.map((message) => message.type), ['started'], 'the run ended; its log is on its way');
  flushed();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(sent.map((message) => message.type), ['started', 'finished']);
});
