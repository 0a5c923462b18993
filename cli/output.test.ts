import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, shellQuote, truncate } from './output.js';

test('durations read in the largest units that fit', () => {
  assert.equal(formatDuration(0), '0 ms');
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(1_234), '1.23 s');
  assert.equal(formatDuration(12_345), '12.3 s');
  assert.equal(formatDuration(185_000), '3m 05s');
  assert.equal(formatDuration(3_599_400), '59m 59s');
  assert.equal(formatDuration(7_380_000), '2h 03m');
  assert.equal(formatDuration(5 * 86_400_000 + 6 * 3_600_000), '5d 06h');
});

test('a path is quoted for sh only when it needs to be, and survives a quote inside', () => {
  assert.equal(shellQuote('/tmp/data'), '/tmp/data');
  assert.equal(shellQuote('/tmp/my data'), "'/tmp/my data'");
  assert.equal(shellQuote("/tmp/it's"), `'/tmp/it'\\''s'`);
  assert.equal(shellQuote('$HOME'), "'$HOME'");
});

test('a table cell shows a command of several lines as show does, with \\n, not as one line of a different command; long text is cut', () => {
  assert.equal(truncate('echo first\necho second', 40), 'echo first\\necho second');
  assert.equal(truncate('printf "a\tb"\r\n', 40), 'printf "a b"\\r\\n');
  assert.equal(truncate('x'.repeat(50), 10), `${'x'.repeat(9)}…`);
});
