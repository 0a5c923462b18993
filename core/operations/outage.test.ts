import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueuectlError } from '../rules/errors.js';
import { OutageGrace } from './outage.js';

test('a store out of reach is borne for the grace, counted from the first failure in a row; a success starts the count again', () => {
  const grace = new OutageGrace(1_000);
  const unreachable = new QueuectlError('could not connect to postgres://db/q: ECONNREFUSED', 'EFAIL');
  assert.equal(grace.bear(unreachable, 0), true);
  assert.equal(grace.bear(unreachable, 999), true);
  assert.equal(grace.bear(unreachable, 1_000), false, 'past the grace: the error is the command\'s');
  grace.ok();
  assert.equal(grace.bear(unreachable, 5_000), true, 'a new outage has a grace of its own');
  assert.equal(grace.bear(new QueuectlError('a lock held too long', 'ELOCK'), 5_500), true);
});

test('any other error is not borne: bad input, a corrupt file, a bug', () => {
  const grace = new OutageGrace(1_000);
  assert.equal(grace.bear(new QueuectlError('no job with id "x"', 'ENOTFOUND'), 0), false);
  assert.equal(grace.bear(new QueuectlError('queue.json is not valid JSON', 'ECORRUPT'), 0), false);
  assert.equal(grace.bear(new TypeError('x is undefined'), 0), false);
});
