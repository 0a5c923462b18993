import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pendingJob } from '../../test/sample-jobs.js';
import { refuseBrokenDependencies } from './restart.js';

test('a restart refused for a dependency that cannot complete names every job to restart together: the ones asked for, and what they wait on', () => {
  const restarted = [pendingJob('d1', { after: ['bad'] }), pendingJob('d2', { after: ['d1'] }), pendingJob('d3', { after: ['other'] })];
  const found = (id: string) =>
    ({ bad: { state: 'dead', created_at: '2026-01-01T00:00:00.000Z' }, other: { state: 'canceled', created_at: '2026-01-01T00:00:00.000Z' } })[id] as
      | { state: 'dead' | 'canceled'; created_at: string }
      | undefined ?? (restarted.some((job) => job.id === id) ? { state: 'pending' as const, created_at: '2026-01-02T00:00:00.000Z' } : undefined);
  assert.throws(
    () => refuseBrokenDependencies(restarted, found),
    (error: Error) =>
      error.message === 'job "d1" runs after "bad", which is dead: restart them together (queuectl restart bad other d1 d2 d3); nothing was restarted',
  );
});
