import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueuectlError } from '../../core/rules/errors.js';
import { parseJobDocument, serializeJobs } from './job-file.js';
import { pendingJob, processingJob } from '../../test/sample-jobs.js';

test('a job file round-trips through its serialized form', () => {
  const jobs = [pendingJob('a'), processingJob('b')];
  const text = serializeJobs(jobs).toString('utf8');
  assert.deepEqual(parseJobDocument(JSON.parse(text), 'q.json'), jobs);
  assert.equal(text.split('\n').length, jobs.length + 3, 'one job per line');
  assert.equal(serializeJobs([]).toString('utf8'), '{"version":1,"jobs":[]}\n');
});

test('a missing file is an empty list', () => {
  assert.deepEqual(parseJobDocument(undefined, 'q.json'), []);
});

test('a foreign document is reported with its path', () => {
  const foreign: unknown[] = [
    [1, 2],
    { hello: 1 },
    { version: 2, jobs: [] },
    { version: 1, jobs: {} },
    { version: 1, jobs: [{ id: 1, state: 'pending' }] },
    { version: 1, jobs: [{ ...pendingJob('a'), state: 'sleeping' }] },
    { version: 1, jobs: [{ ...pendingJob('a'), state: 'processing' }] },
  ];
  for (const doc of foreign) {
    assert.throws(
      () => parseJobDocument(doc, '/data/queue.json'),
      (error: unknown) =>
        error instanceof QueuectlError &&
        error.code === 'ECORRUPT' &&
        error.message.startsWith('/data/queue.json is not a queuectl job file'),
      JSON.stringify(doc),
    );
  }
});

test('a canceled job is a valid job of queue.json', () => {
  const canceled = { ...pendingJob('c'), state: 'canceled', finished_at: '2026-11-23T09:00:01.000Z', last_error: 'canceled by user while pending' };
  assert.deepEqual(parseJobDocument({ version: 1, jobs: [canceled] }, 'q.json'), [canceled]);
});
