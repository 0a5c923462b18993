import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endsMidRun, RUN_END } from './run-log.js';

const started = (n: number) => `--- queuectl: run ${n} of 4 started 2026-12-02T10:00:00.000Z by worker 7 under lease x in /\n`;

test('a log whose last run has its end line does not end mid-run; one whose last run has none does', () => {
  assert.equal(endsMidRun(''), false, 'no run at all');
  assert.equal(endsMidRun(`${started(1)}tick\n`), true);
  assert.equal(endsMidRun(`${started(1)}tick\n--- queuectl: run 1 of 4 stopped (it was canceled) after 1.00 s\n`), false);
  assert.equal(endsMidRun(`${started(1)}--- queuectl: run 1 of 4 command failed with exit code 1 after 0.10 s\n${started(2)}out\n`), true, 'a retry going on');
  assert.equal(endsMidRun(`${started(1)}--- queuectl: canceled by user while running\nmore\n`), true, "queuectl's other lines are not an end");
});

test('RUN_END finds end lines, not start lines', () => {
  assert.ok(RUN_END.test('--- queuectl: run 2 of 4 exited with code 0 after 0.01 s'));
  assert.ok(!RUN_END.test(started(2)));
});
