import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignIds, batchLabels, redrawTaken } from './enqueue.js';

const specs = [{ command: 'a' }, { command: 'b', id: 'mine' }, { command: 'c' }];
const labels = batchLabels(specs.length);

test('ids drawn before the store was asked: a drawn id the store has is drawn again, unlike every id known and every id of the batch', () => {
  const first = assignIds(specs, () => false, labels);
  assert.equal(first[1], 'mine');
  const taken = new Set([first[0]!]);
  const { ids, redrawn } = redrawTaken(specs, first, (id) => taken.has(id), labels);
  assert.notEqual(ids[0], first[0]);
  assert.match(ids[0]!, /^[0-9a-f]{8}$/);
  assert.deepEqual(ids.slice(1), first.slice(1), 'the others are kept');
  assert.deepEqual(redrawn, [ids[0]], 'the store must check the new one in turn');
  assert.equal(new Set(ids).size, ids.length);
});

test('nothing taken: the ids stand and nothing is to check again', () => {
  const first = assignIds(specs, () => false, labels);
  assert.deepEqual(redrawTaken(specs, first, () => false, labels), { ids: first, redrawn: [] });
});

test('an id given by the user that the store has is an error, as assignIds says it', () => {
  const first = assignIds(specs, () => false, labels);
  assert.throws(() => redrawTaken(specs, first, (id) => id === 'mine', labels), /^QueuectlError: job 2: a job with id "mine" already exists; ids must be unique across queue and DLQ$/);
  assert.throws(() => assignIds(specs, (id) => id === 'mine', labels), /^QueuectlError: job 2: a job with id "mine" already exists; ids must be unique across queue and DLQ$/);
});
