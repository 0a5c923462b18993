import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLine, LogFollower, type LogRow } from './log-follower.js';

const HEADER = '--- queuectl: run 1 of 1 started 2026-12-02T08:00:00Z by worker 7 under lease t in /: x\n';
const END = '--- queuectl: run 1 of 1 exited with code 0 after 1.0s\n';

/** A follower over rows the test changes between copies; what it wrote, copy by copy. */
function follow(tailLines?: number) {
  let rows: LogRow[] = [];
  const follower = new LogFollower(async () => rows.map((row) => ({ ...row })), 'job', tailLines);
  return {
    set(next: LogRow[]) {
      rows = next;
    },
    async copy(last = false): Promise<string> {
      let out = '';
      await follower.copy(async (chunk) => {
        out += chunk.toString('utf8');
      }, last);
      return out;
    },
    follower,
  };
}

const run = (text: string, cut = 0, seq = 1): LogRow => ({ seq, run: `run-${seq}`, cut, text });
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${String(from + i).padStart(4, '0')}\n`).join('');

test('a growing run is written out once, a part at a time; lines of its own and later runs follow in order', async () => {
  const f = follow();
  assert.equal(await f.copy(), '', 'nothing yet');
  f.set([run(HEADER + lines(0, 2))]);
  assert.equal(await f.copy(), HEADER + lines(0, 2));
  f.set([run(HEADER + lines(0, 5))]);
  assert.equal(await f.copy(), lines(2, 5));
  assert.equal(await f.copy(), '', 'nothing new');
  f.set([run(HEADER + lines(0, 5) + END), { seq: 2, run: 'note-a', cut: 0, text: '--- queuectl: canceled\n' }]);
  assert.equal(await f.copy(), `${END}--- queuectl: canceled\n`);
});

test('a run cut past log_limit: the bytes not shown yet of what was cut are said in one line, then the kept bytes not shown', async () => {
  const f = follow();
  f.set([run(HEADER + lines(0, 10))]); // 50 bytes of output shown
  assert.equal(await f.copy(), HEADER + lines(0, 10));
  // The row rewritten: 100 bytes cut, 50 kept (lines 20 to 29).
  f.set([run(HEADER + cutLine(100, 'log_limit: …') + lines(20, 30), 100)]);
  assert.equal(await f.copy(), cutLine(50, 'log_limit') + lines(20, 30));
  // Rewritten again, with an overlap: 125 cut, lines 25 to 34 kept; 25 to 29 were shown.
  f.set([run(HEADER + cutLine(125, 'log_limit: …') + lines(25, 35), 125)]);
  assert.equal(await f.copy(), lines(30, 35));
});

test('a follower that comes to a cut run shows its header, the cut, and what is kept', async () => {
  const f = follow();
  f.set([run(HEADER + cutLine(100, 'log_limit: …') + lines(20, 30) + END, 100)]);
  assert.equal(await f.copy(), HEADER + cutLine(100, 'log_limit') + lines(20, 30) + END);
});

test('--tail: the last lines first, then only what comes after', async () => {
  const f = follow(2);
  f.set([run(HEADER + lines(0, 5))]);
  assert.equal(await f.copy(), lines(3, 5));
  f.set([run(HEADER + lines(0, 6))]);
  assert.equal(await f.copy(), lines(5, 6));
});

test('complete: every run has its end line; lines of queuectl\'s own need none', async () => {
  const f = follow();
  f.set([run(HEADER + lines(0, 1)), { seq: 2, run: 'note-a', cut: 0, text: '--- queuectl: canceled\n' }]);
  await f.copy();
  assert.equal(f.follower.complete(), false);
  f.set([run(HEADER + lines(0, 1) + END), { seq: 2, run: 'note-a', cut: 0, text: '--- queuectl: canceled\n' }]);
  await f.copy();
  assert.equal(f.follower.complete(), true);
});

test('a line of queuectl\'s own that came while the run before it goes on (a cancel) is held until the run ends, as logs shows it; the last copy writes it in any case', async () => {
  const f = follow();
  const canceled = { seq: 2, run: 'note-a', cut: 0, text: '--- queuectl: canceled by user while running\n' };
  f.set([run(HEADER + lines(0, 1)), canceled]);
  assert.equal(await f.copy(), HEADER + lines(0, 1), 'held while the run goes on');
  f.set([run(HEADER + lines(0, 2) + END), canceled]);
  assert.equal(await f.copy(), `${lines(1, 2)}${END}${canceled.text}`, 'after the run\'s end');
  const g = follow();
  g.set([run(HEADER + lines(0, 1)), canceled]);
  assert.equal(await g.copy(), HEADER + lines(0, 1));
  assert.equal(await g.copy(true), canceled.text, 'a run that never ends (its host died) does not hold it for good');
});
