import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLine } from './log-follower.js';
import { keptLog } from './log-rows.js';

const H1 = '--- queuectl: run 1 of 2 started 2026-12-01T10:00:00.000Z by worker 1 under lease a in /: x\n';
const E1 = '--- queuectl: run 1 of 2 exited with code 1 after 1.00 s\n';
const H2 = '--- queuectl: run 2 of 2 started 2026-12-01T10:01:00.000Z by worker 1 under lease b in /: x\n';
const E2 = '--- queuectl: run 2 of 2 exited with code 0 after 1.00 s\n';

function kept(log: Buffer, limit: number) {
  const reads: number[] = [];
  const result = keptLog((from, to) => (reads.push(Math.min(to, log.length) - from), log.subarray(from, to)), log.length, limit, 'why');
  return { ...result, reads };
}

test('each run of a log file is cut to the limit on its own, from a line start, after a line saying how much; its end line does not start a run', () => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')}\n`).join(''); // 900 bytes
  const log = Buffer.from(`canceled before\n${H1}${lines}${E1}${H2}short\n${E2}`);
  const { bytes, text } = kept(log, 200);
  const output1 = lines.length + E1.length;
  const text1 = text();
  const tail = text1.slice(text1.indexOf(cutLine(0, 'why').slice(-6)) + 6, text1.indexOf(H2));
  const cut = Number(/--- queuectl: (\d+) bytes/.exec(text1)?.[1]);
  assert.ok(text1.startsWith(`canceled before\n${H1}${cutLine(cut, 'why')}line `), text1);
  assert.equal(cut + tail.length, output1);
  assert.ok(tail.length <= 200 && tail.endsWith(`line 099\n${E1}`));
  assert.ok(text1.endsWith(`${H2}short\n${E2}`));
  assert.equal(bytes, 'canceled before\n'.length + H1.length + 200 + H2.length + 'short\n'.length + E2.length);
});

test('limit 0 keeps all; a NUL byte and bytes that are not UTF-8 become U+FFFD', () => {
  const log = Buffer.concat([Buffer.from(H1), Buffer.from('a\0b caf\xe9\n', 'latin1'), Buffer.from(E1)]);
  const { bytes, text } = kept(log, 0);
  assert.equal(bytes, log.length);
  assert.equal(text(), `${H1}a\uFFFDb caf\uFFFD\n${E1}`);
});

test('only what is kept of a large run is read, apart from the look for headers', () => {
  const log = Buffer.concat([Buffer.from(H1), Buffer.alloc(5_000_000, 'y\n'), Buffer.from(E1)]);
  const { reads, text } = kept(log, 1000);
  const scanned = reads.reduce((sum, n) => sum + n, 0);
  const out = text();
  const afterScan = reads.slice(reads.length - 2).reduce((sum, n) => sum + n, 0);
  assert.ok(afterScan <= 1000 + 8192, `read ${afterScan} bytes for the text`);
  assert.ok(scanned < log.length * 1.1);
  assert.ok(out.endsWith(`y\n${E1}`) && out.length < 1300);
});
