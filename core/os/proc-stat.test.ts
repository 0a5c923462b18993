import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ancestors, parseProcStat, readProcStat } from './proc-stat.js';

test('the state, parent, process group and start time are read after the command name, which may hold spaces and parentheses', () => {
  const line = '4242 (sh) S 4000 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10';
  assert.deepEqual(parseProcStat(line), { state: 'S', ppid: 4000, pgid: 4242, start: '987654' });
  assert.deepEqual(parseProcStat('77 (my (odd) cmd) Z 1 70 70 0'), { state: 'Z', ppid: 1, pgid: 70, start: null });
  assert.equal(parseProcStat('garbage'), null);
});

test('this process reads as running, in its own process group, with a start time', () => {
  const self = readProcStat('self');
  assert.ok(self, 'this test runs on Linux with /proc');
  assert.equal(self.state, 'R');
  assert.ok(self.pgid > 0);
  assert.match(self.start ?? '', /^\d+$/);
  assert.equal(readProcStat(2 ** 30), null, 'no such process');
});

test("this process's ancestors: its parent first, on up to before init", () => {
  const above = ancestors();
  assert.ok(above, 'this test runs on Linux with /proc');
  assert.equal(above[0], process.ppid);
  assert.ok(!above.includes(1) && !above.includes(process.pid));
});
