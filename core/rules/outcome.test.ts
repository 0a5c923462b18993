import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeOutcome, exitCodeOf, isSuccess, outcomeFromExit } from './outcome.js';

test('an exit code is an exit; no code means the process was killed', () => {
  assert.deepEqual(outcomeFromExit(0, null), { kind: 'exited', code: 0 });
  assert.deepEqual(outcomeFromExit(3, null), { kind: 'exited', code: 3 });
  assert.deepEqual(outcomeFromExit(null, 'SIGTERM'), { kind: 'killed', signal: 'SIGTERM' });
});

test('only exit code 0 is success', () => {
  assert.equal(isSuccess({ kind: 'exited', code: 0 }), true);
  assert.equal(isSuccess({ kind: 'exited', code: 1 }), false);
  assert.equal(isSuccess({ kind: 'killed', signal: 'SIGKILL' }), false);
  assert.equal(isSuccess({ kind: 'timed_out', seconds: 1 }), false);
});

test('only a process that exited by itself has an exit code', () => {
  assert.equal(exitCodeOf({ kind: 'exited', code: 127 }), 127);
  assert.equal(exitCodeOf({ kind: 'timed_out', seconds: 1 }), null);
  assert.equal(exitCodeOf({ kind: 'spawn_failed', message: 'x' }), null);
});

test('each outcome reads as one line a person can act on', () => {
  assert.equal(describeOutcome({ kind: 'exited', code: 3 }), 'command failed with exit code 3');
  assert.equal(describeOutcome({ kind: 'timed_out', seconds: 60 }), 'command timed out after 60 s and was killed');
  assert.equal(describeOutcome({ kind: 'killed', signal: 'SIGKILL' }), 'command was killed by SIGKILL');
});
