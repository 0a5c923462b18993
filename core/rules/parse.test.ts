import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDurationMs, parseInteger, parseNonNegativeInt, parseNonNegativeNumber, parseRunAt, parseSizeBytes } from './parse.js';

test('whole numbers accept only plain decimal digits', () => {
  assert.equal(parseNonNegativeInt('0', 'n'), 0);
  assert.equal(parseNonNegativeInt('007', 'n'), 7);
  for (const text of ['-1', '1.0', '1e3', '0x10', ' 5', '', 'five', '99999999999999999999']) {
    assert.throws(() => parseNonNegativeInt(text, '--count'), /--count must be a whole number from 0 up/);
  }
});

test('signed whole numbers allow a minus sign', () => {
  assert.equal(parseInteger('-5', 'p'), -5);
  assert.throws(() => parseInteger('+5', 'p'), /p must be a whole number/);
  assert.throws(() => parseInteger('-', 'p'), /p must be a whole number/);
});

test('non-negative numbers allow a fraction', () => {
  assert.equal(parseNonNegativeNumber('1.5', 'b'), 1.5);
  assert.throws(() => parseNonNegativeNumber('-1.5', 'b'), /b must be a number from 0 up/);
  assert.throws(() => parseNonNegativeNumber('.5', 'b'), /b must be a number/);
});

test('durations take a unit, and a bare number means seconds', () => {
  assert.equal(parseDurationMs('30', 'd'), 30_000);
  assert.equal(parseDurationMs('1.5', 'd'), 1_500);
  assert.equal(parseDurationMs('30s', 'd'), 30_000);
  assert.equal(parseDurationMs('250ms', 'd'), 250);
  assert.equal(parseDurationMs('5m', 'd'), 300_000);
  assert.equal(parseDurationMs('1.5h', 'd'), 5_400_000);
  assert.equal(parseDurationMs('2h', 'd'), 7_200_000);
  assert.equal(parseDurationMs('1d', 'd'), 86_400_000);
  for (const text of ['', '1w', '-5s', 's', '5 s', '.5', '1.', '1e3']) {
    assert.throws(() => parseDurationMs(text, '--delay'), /--delay must be a duration such as 90, 1.5, 500ms, 90s, 5m, 2h or 1d/, text);
  }
});

test('a duration too small to be a millisecond is an error, not a 0 that means none', () => {
  assert.equal(parseDurationMs('0', 'd'), 0);
  assert.throws(() => parseDurationMs('0.0001', '--timeout'), /--timeout must be 0 or at least 1 ms, got "0.0001"/);
});

test('for a setting in milliseconds, a bare number means milliseconds; a unit still works', () => {
  assert.equal(parseDurationMs('500', 'poll_interval', 'ms'), 500);
  assert.equal(parseDurationMs('2s', 'poll_interval', 'ms'), 2_000);
});

test('timestamps with a zone are that instant, normalized to UTC', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  assert.equal(parseRunAt('2026-11-23T10:30:00Z', 't', now), '2026-11-23T10:30:00.000Z');
  assert.equal(parseRunAt('2026-11-23T10:30:00+02:00', 't', now), '2026-11-23T08:30:00.000Z');
  assert.equal(parseRunAt('2026-11-23T10:30:00.25-0130', 't', now), '2026-11-23T12:00:00.250Z');
  assert.equal(parseRunAt('2026-11-23T10:30:00+14:00', 't', now), '2026-11-22T20:30:00.000Z');
  assert.equal(parseRunAt('2026-11-23T10:30:00-23:59', 't', now), '2026-11-24T10:29:00.000Z');
  // An offset no clock has (hours past 23, minutes past 59) is a typo, as Date reads it too.
  const impossible = ['2027-12-03T10:00:00+25:00', '2026-12-03T10:00:00+99:99', '2027-01-01T00:00:00+30:00', '2026-11-23T10:30:00+02:60', '2026-11-23T10:30:00-2400'];
  for (const text of ['tomorrow', '23/11/2026', '2026-02-30T00:00:00Z', '1700000000', '2026-11-23T24:00', ...impossible]) {
    assert.throws(() => parseRunAt(text, '--run-at', now), /--run-at must be a time such as 2026-11-23T10:30:00Z/, text);
  }
});

test('a date or date-time without a zone is local time, with a T or a space', () => {
  const local = (...parts: [number, number, number, number?, number?]) => new Date(parts[0], parts[1] - 1, parts[2], parts[3] ?? 0, parts[4] ?? 0).toISOString();
  const now = new Date(2026, 3, 1, 9, 0);
  assert.equal(parseRunAt('2026-04-02 14:00', 'r', now), local(2026, 4, 2, 14, 0));
  assert.equal(parseRunAt('2026-04-02T14:00', 'r', now), local(2026, 4, 2, 14, 0));
  assert.equal(parseRunAt('2026-04-02', 'r', now), local(2026, 4, 2));
});

test('a time of day alone is the next such time, today or tomorrow, in 24 h or with am/pm', () => {
  const now = new Date(2026, 3, 1, 13, 0); // 1 April, 13:00 local
  const at = (day: number, hour: number, minute = 0) => new Date(2026, 3, day, hour, minute).toISOString();
  assert.equal(parseRunAt('14:00', 'r', now), at(1, 14));
  assert.equal(parseRunAt('11:30pm', 'r', now), at(1, 23, 30));
  assert.equal(parseRunAt('9pm', 'r', now), at(1, 21));
  assert.equal(parseRunAt('9 AM', 'r', now), at(2, 9), 'passed today: tomorrow');
  assert.equal(parseRunAt('13:00', 'r', now), at(2, 13), 'now is not the next 13:00');
  assert.equal(parseRunAt('12am', 'r', now), at(2, 0));
  assert.equal(parseRunAt('12pm', 'r', now), at(2, 12));
  for (const text of ['14', '25:00', '13pm', '0am', '9:60', 'noon']) {
    assert.throws(() => parseRunAt(text, '--run-at', now), /--run-at must be a time such as/, text);
  }
});

test('sizes: bytes, or k, M, G in powers of 1024 however spelled; nothing else', () => {
  assert.equal(parseSizeBytes('65536', 'x'), 65536);
  assert.equal(parseSizeBytes('0', 'x'), 0);
  assert.equal(parseSizeBytes('64k', 'x'), 65536);
  assert.equal(parseSizeBytes('64KiB', 'x'), 65536);
  assert.equal(parseSizeBytes('1.5M', 'x'), 1.5 * 1024 * 1024);
  assert.equal(parseSizeBytes('1 MB', 'x'), 1024 * 1024);
  assert.equal(parseSizeBytes('2g', 'x'), 2 * 1024 ** 3);
  for (const bad of ['', '-1', '1e3', 'k', '1x', '1TB', '0x10']) {
    assert.throws(() => parseSizeBytes(bad, 'log_limit'), /log_limit must be a size such as/, bad);
  }
});
