import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pendingJob } from '../../test/sample-jobs.js';
import { encodeRecord, parseJournal } from './journal.js';

const PATH = '/data/queue.journal';
const line = (seq: number, id = `j${seq}`) => encodeRecord({ seq, jobs: [pendingJob(id)], removed: seq > 1 ? [`j${seq - 1}`] : [] });

test('a journal line is one JSON object per line: seq, the jobs whole, the ids that left', () => {
  const text = line(2).toString('utf8');
  assert.ok(text.endsWith('}\n') && text.indexOf('\n') === text.length - 1);
  assert.deepEqual(JSON.parse(text), { seq: 2, jobs: [pendingJob('j2')], removed: ['j1'] });
});

test('the lines of a journal are read in order, with the bytes they take', () => {
  const bytes = Buffer.concat([line(1), line(2), line(3)]);
  const read = parseJournal(bytes, PATH);
  assert.deepEqual(read.records.map((record) => record.seq), [1, 2, 3]);
  assert.equal(read.consumed, bytes.length);
});

test('a torn last line, cut anywhere by a killed writer, is ignored: it was never acknowledged', () => {
  const whole = Buffer.concat([line(1), line(2)]);
  const last = line(3);
  for (let cut = 0; cut < last.length; cut++) {
    const read = parseJournal(Buffer.concat([whole, last.subarray(0, cut)]), PATH);
    assert.deepEqual(read.records.map((record) => record.seq), [1, 2], `cut at ${cut}`);
    assert.equal(read.consumed, whole.length, `cut at ${cut}: the next line goes where the torn one began`);
  }
});

test('a last line that ends but is not JSON (bytes a crash left) is ignored too', () => {
  const whole = Buffer.concat([line(1)]);
  const read = parseJournal(Buffer.concat([whole, Buffer.from('\0\0\0\0\n')]), PATH);
  assert.deepEqual(read.records.map((record) => record.seq), [1]);
  assert.equal(read.consumed, whole.length);
});

test('a line before the last that is not JSON, or a line of the wrong shape anywhere, is corruption, reported with the path and line', () => {
  const garbled = Buffer.concat([line(1), Buffer.from('{"seq":2,"jo\n'), line(3)]);
  assert.throws(() => parseJournal(garbled, PATH), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ECORRUPT');
    assert.match(error.message, /\/data\/queue\.journal is corrupt at line 2 \(not JSON/);
    assert.match(error.message, /will not overwrite it/);
    return true;
  });
  const shapes = [
    '{"seq":0,"jobs":[],"removed":[]}',
    '{"seq":2,"jobs":{},"removed":[]}',
    '{"seq":2,"jobs":[],"removed":[1]}',
    `{"seq":2,"jobs":[${JSON.stringify({ ...pendingJob('x'), state: 'sleeping' })}],"removed":[]}`,
    '[1,2]',
  ];
  for (const shape of shapes) {
    assert.throws(() => parseJournal(Buffer.concat([line(1), Buffer.from(`${shape}\n`)]), PATH), /corrupt at line 2/, shape);
  }
});
