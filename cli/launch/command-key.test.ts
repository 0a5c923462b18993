import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMAND_NAMES, commandKey } from './command-key.js';

test('a run of the CLI takes the cache of its command, wherever the command word stands', () => {
  assert.equal(commandKey(['enqueue', '--', 'true']), 'enqueue');
  assert.equal(commandKey(['--data-dir', '/tmp/q', '--store', 'postgres://h/db', 'status', '--json']), 'status');
  assert.equal(commandKey(['-q', 'list']), 'list');
});

test('a run with no command, or only a word that is none, shares one cache, so that no argument names a file', () => {
  assert.equal(commandKey([]), 'other');
  assert.equal(commandKey(['--version']), 'other');
  assert.equal(commandKey(['--data-dir', '/tmp/../../etc', 'enqeue']), 'other');
  assert.equal(commandKey(['--', 'status']), 'other', 'after --, words are a command for the shell');
});

test('the names are the commands the CLI has', () => {
  const help = spawnSync(process.execPath, [fileURLToPath(new URL('../index.js', import.meta.url)), '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  const listed = help.stdout.split('Commands:\n')[1]!.split('\n\n')[0]!.split('\n').map((line) => line.trim().split(/\s/)[0]);
  assert.deepEqual([...COMMAND_NAMES].sort(), listed.sort());
});
