/**
 * What every command does with a corrupt or foreign data file, through the real CLI: report it
 * with its path, exit 1, and leave it byte-identical.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import { pending } from '../crafted-jobs.js';
import { describeRun, runCli, snapshotDir, tempDataDir } from '../helpers.js';

function writeJobFile(path: string, jobs: readonly Job[]): void {
  writeFileSync(path, `${JSON.stringify({ version: 1, jobs })}\n`);
}

/** Runs `args` and checks: exit 1, one stderr line naming `path`, `path` byte-identical, nothing else changed. */
async function assertReportedAndUntouched(dir: string, path: string, args: readonly string[]): Promise<void> {
  const bytes = readFileSync(path);
  const before = snapshotDir(dir);
  const result = await runCli(dir, args);
  const why = describeRun(args, result);
  assert.equal(result.code, 1, why);
  assert.match(result.stderr, /^queuectl: [^\n]+\n$/, why);
  assert.ok(result.stderr.includes(path), `stderr names ${path}\n${why}`);
  assert.ok(readFileSync(path).equals(bytes), `${path} is byte-identical\n${why}`);
  assert.deepEqual(snapshotDir(dir), before, `nothing changed\n${why}`);
}

const FOREIGN_JOB_FILES: [string, string][] = [
  ['invalid JSON', '{not json'],
  // JSON.parse's message quotes such a file whole, newline and all: the report stays one line.
  ['a word and a newline', 'garbage\n'],
  ['an object that is not a job file', '{"hello":1}\n'],
  ['an array', '[1,2]\n'],
  // Version 2 is queue.json's while its journal is in use (store/file/job-file.ts): a later one is foreign.
  ['version 3', '{"version":3,"jobs":[]}\n'],
];
/** dlq.json has no journal: its version 2 is as foreign as any. */
const FOREIGN_DLQ_FILES: [string, string][] = [...FOREIGN_JOB_FILES, ['version 2', '{"version":2,"jobs":[]}\n']];

describe('corrupt and foreign data files', () => {
  for (const [what, content] of FOREIGN_JOB_FILES) {
    test(`a queue.json holding ${what} is reported by list, status and enqueue and left as it is`, async (t) => {
      const dir = tempDataDir(t);
      const path = join(dir, 'queue.json');
      writeFileSync(path, content);
      await assertReportedAndUntouched(dir, path, ['list']);
      await assertReportedAndUntouched(dir, path, ['list', '--json']);
      await assertReportedAndUntouched(dir, path, ['status']);
      await assertReportedAndUntouched(dir, path, ['status', '--json']);
      await assertReportedAndUntouched(dir, path, ['enqueue', '{"command":"true"}']);
      await assertReportedAndUntouched(dir, path, ['enqueue', '--command', 'true']);
    });
  }

  for (const [what, content] of FOREIGN_DLQ_FILES) {
    test(`a dlq.json holding ${what} is reported by list, status and enqueue and left as it is`, async (t) => {
      const dir = tempDataDir(t);
      writeJobFile(join(dir, 'queue.json'), [pending('p1')]);
      const path = join(dir, 'dlq.json');
      writeFileSync(path, content);
      await assertReportedAndUntouched(dir, path, ['list']);
      await assertReportedAndUntouched(dir, path, ['status']);
      await assertReportedAndUntouched(dir, path, ['enqueue', '--command', 'true']);
    });
  }

  const CORRUPT_CONFIGS: [string, string][] = [
    ['invalid JSON', '{not json'],
    ['an array', '[1,2]\n'],
    ['a value of the wrong type', '{"max_retries":"3"}\n'],
    ['an unknown key', '{"max_retry":3}\n'],
  ];

  for (const [what, content] of CORRUPT_CONFIGS) {
    test(`a config.json holding ${what} is reported by enqueue and config and left as it is`, async (t) => {
      const dir = tempDataDir(t);
      writeJobFile(join(dir, 'queue.json'), [pending('p1')]);
      const path = join(dir, 'config.json');
      writeFileSync(path, content);
      await assertReportedAndUntouched(dir, path, ['enqueue', '{"command":"true"}']);
      await assertReportedAndUntouched(dir, path, ['config', 'get']);
      await assertReportedAndUntouched(dir, path, ['config', 'get', 'max_retries']);
      await assertReportedAndUntouched(dir, path, ['config', 'set', 'lease', '10']);
    });
  }

  test('a data file the system cannot read or write is one line naming it, exit 1, no stack trace', async (t) => {
    const dir = tempDataDir(t);
    mkdirSync(join(dir, 'queue.json')); // a directory where the file should be: EISDIR for anyone, root too
    for (const args of [['status'], ['list'], ['enqueue', '--command', 'true']]) {
      const result = await runCli(dir, args);
      assert.equal(result.code, 1, args.join(' '));
      assert.equal(result.stderr, `queuectl: could not read ${join(dir, 'queue.json')}: EISDIR: illegal operation on a directory, read\n`);
    }
    // A config.json linked to a place that cannot exist: the write names the file it tried.
    rmSync(join(dir, 'config.json'));
    symlinkSync('/nonexistent/queuectl-config.json', join(dir, 'config.json'));
    const set = await runCli(dir, ['config', 'set', 'lease', '10']);
    assert.equal(set.code, 1);
    assert.match(set.stderr, /^queuectl: could not write \/nonexistent\/queuectl-config\.json: ENOENT \(open\): no such file or directory\n$/);
  });

  for (const command of ['list', 'status']) {
    test(`${command} reports a corrupt config.json (each kind) and leaves it as it is`, async (t) => {
      for (const [, content] of CORRUPT_CONFIGS) {
        const dir = tempDataDir(t);
        writeJobFile(join(dir, 'queue.json'), [pending('p1')]);
        const path = join(dir, 'config.json');
        writeFileSync(path, content);
        await assertReportedAndUntouched(dir, path, [command]);
        await assertReportedAndUntouched(dir, path, [command, '--json']);
      }
    });
  }
});
