import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLockLog, parseLockLog } from './lock-log.js';

const log = (...lines: string[]) => `${lines.join('\n')}\n`;

test('holders one after another: no overlap, one holder at a time', () => {
  const report = checkLockLog(log('10 acquired 100', '10 released 200', '11 acquired 250', '11 released 300', '10 acquired 310', '10 released 400'));
  assert.equal(report.acquisitions, 3);
  assert.deepEqual(report.overlaps, []);
  assert.equal(report.maxHolders, 1);
  assert.deepEqual(report.abandoned, []);
  assert.deepEqual(report.problems, []);
});

test('lines of several processes interleaved in the file are ordered by time', () => {
  const report = checkLockLog(log('11 acquired 250', '10 acquired 100', '11 released 300', '10 released 200'));
  assert.deepEqual(report.overlaps, []);
  assert.equal(report.maxHolders, 1);
});

test('a second holder before the first released is an overlap', () => {
  const report = checkLockLog(log('10 acquired 100', '11 acquired 150', '10 released 200', '11 released 300'));
  assert.equal(report.overlaps.length, 1);
  assert.deepEqual(
    report.overlaps[0]!.map((interval) => interval.pid),
    [10, 11],
  );
  assert.equal(report.maxHolders, 2);
});

test('a holder killed while holding the lock is abandoned, and the takeover is not an overlap', () => {
  const text = log('10 acquired 100', '11 acquired 5000000100', '11 released 5000000200');
  const report = checkLockLog(text, new Map([[10, [150n]]]));
  assert.deepEqual(
    report.abandoned.map((interval) => interval.pid),
    [10],
  );
  assert.deepEqual(report.overlaps, []);
  assert.deepEqual(report.takeoverWaits, [5_000_000_000n]);
  assert.deepEqual(report.problems, []);
});

test('a holder killed only after another took the lock over overlapped it', () => {
  const text = log('10 acquired 100', '11 acquired 200', '11 released 300');
  const report = checkLockLog(text, new Map([[10, [250n]]]));
  assert.equal(report.overlaps.length, 1);
  assert.equal(report.maxHolders, 2);
});

test('a holder that vanished without being killed is a problem', () => {
  const report = checkLockLog(log('10 acquired 100', '11 acquired 200', '11 released 300'), new Map());
  assert.match(report.problems.join('\n'), /pid 10 .* never released it, but was not killed after that/);
});

test('a pid reused after its first holder died holding the lock starts a new interval', () => {
  const report = checkLockLog(log('10 acquired 100', '10 acquired 9000', '10 released 9100'), new Map([[10, [120n]]]));
  assert.equal(report.acquisitions, 2);
  assert.equal(report.abandoned.length, 1);
  assert.deepEqual(report.overlaps, []);
});

test('torn or foreign lines and releases without an acquisition are reported', () => {
  const problems: string[] = [];
  assert.deepEqual(parseLockLog('10 acq', problems), []);
  assert.equal(problems.length, 1);
  const report = checkLockLog(log('12 released 5'));
  assert.match(report.problems.join('\n'), /pid 12 released the lock at 5 without holding it/);
  assert.equal(checkLockLog('').maxHolders, 0);
});

test('a kill before the acquisition does not explain a lock held later by the same pid', () => {
  const report = checkLockLog(log('10 acquired 100', '11 acquired 6000', '11 released 6100'), new Map([[10, [50n]]]));
  assert.match(report.problems.join('\n'), /pid 10 .* not killed after that/);
});
