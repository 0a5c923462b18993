import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inFieldOrder, type Job } from './job.js';
import { processingJob } from '../../test/sample-jobs.js';

test('a job read in any order of fields comes back in queuectl\'s, its lease too; a field unknown here keeps its place after the known ones', () => {
  const job = processingJob('a', { lease: { worker_pid: 7, token: 't', expires_at: 'x' } });
  // As PostgreSQL's jsonb gives it back: shortest keys first.
  const shuffled = Object.fromEntries(Object.entries({ ...job, extra: 1 }).sort(([a], [b]) => a.length - b.length || a.localeCompare(b))) as unknown as Job;
  const ordered = inFieldOrder(shuffled);
  const fields = ['id', 'state', 'created_at', 'updated_at', 'command', 'attempts', 'max_retries', 'priority', 'run_at', 'timeout', 'cwd', 'started_at', 'finished_at', 'exit_code', 'last_error', 'lease'];
  assert.deepEqual(Object.keys(ordered), [...fields, 'extra']);
  assert.deepEqual(Object.keys(ordered.lease!), ['token', 'expires_at', 'worker_pid']);
  assert.deepEqual(ordered, { ...job, extra: 1 });
});
