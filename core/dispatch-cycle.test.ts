import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG, type Config } from './config.js';
import { dispatchCycle, type CycleRequest } from './dispatch-cycle.js';
import type { DeadJob, Job } from './job.js';
import { reconcile } from './reconcile.js';
import { deadJob, pendingJob, processingJob } from '../test/sample-jobs.js';
import type { Transaction } from '../store/queue-store.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const EXPIRES = '2026-11-23T10:00:30.000Z'; // NOW + the default lease of 30 s

/** An in-memory transaction that records what was written, in order. */
function fakeTx(queue: Job[], dlq: DeadJob[] = [], config: Partial<Config> = {}) {
  const writes: string[] = [];
  const archived: Job[][] = [];
  const state = { queue, dlq, dlqLoaded: false };
  const tx: Transaction = {
    queue: () => state.queue,
    // As the store does: the first load of the DLQ repairs a move that a crash cut in half.
    dlq: () => {
      if (!state.dlqLoaded) {
        state.dlqLoaded = true;
        const repaired = reconcile(state.queue, state.dlq);
        state.queue = repaired.queue;
        state.dlq = repaired.dlq;
        if (repaired.repaired) writes.push('queue', 'dlq');
      }
      return state.dlq;
    },
    setQueue: (jobs) => {
      state.queue = [...jobs];
      writes.push('queue');
    },
    setDlq: (jobs) => {
      state.dlq = [...jobs];
      writes.push('dlq');
    },
    config: () => ({ ...DEFAULT_CONFIG, ...config }),
    archive: (jobs) => {
      archived.push([...jobs]);
      writes.push('archive');
    },
  };
  return { tx, state, writes, archived };
}

function cycle(tx: Transaction, request: Partial<CycleRequest>) {
  let n = 0;
  return dispatchCycle(tx, { outcomes: [], renew: [], claimFor: [], ...request }, NOW, () => `t${++n}`);
}

const succeeded = { kind: 'exited', code: 0 } as const;
const failed = { kind: 'exited', code: 1 } as const;

test('one cycle records outcomes and claims a job for each idle worker, in claim order', () => {
  const { tx, state, writes } = fakeTx([
    processingJob('done', { lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } }),
    pendingJob('low', { priority: 0 }),
    pendingJob('high', { priority: 5 }),
    pendingJob('later', { run_at: '2026-11-23T11:00:00.000Z' }),
  ]);
  const result = cycle(tx, { outcomes: [{ id: 'done', token: 'a', outcome: succeeded }], claimFor: [1, 2, 3] });

  assert.equal(result.recorded[0]?.state, 'completed');
  assert.deepEqual(
    result.claimed.map((job) => [job.id, job.lease.worker_pid, job.lease.token]),
    [
      ['high', 1, 't1'],
      ['low', 2, 't2'],
    ],
  );
  assert.equal(result.nextReadyAt, '2026-11-23T11:00:00.000Z', 'worker 3 got nothing: when to look again');
  assert.deepEqual(writes, ['queue'], 'one write of queue.json, the DLQ untouched');
  assert.deepEqual(
    state.queue.map((job) => [job.id, job.state]),
    [
      ['done', 'completed'],
      ['low', 'processing'],
      ['high', 'processing'],
      ['later', 'pending'],
    ],
  );
});

test('the real start time reported by the worker is kept in started_at', () => {
  const { tx } = fakeTx([processingJob('j', { lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } })]);
  const result = cycle(tx, { outcomes: [{ id: 'j', token: 'a', outcome: succeeded, startedAt: '2026-11-23T09:59:59.500Z' }] });
  assert.equal(result.recorded[0]?.started_at, '2026-11-23T09:59:59.500Z');
});

test('an outcome whose token is not the current lease is dropped, and nothing is written', () => {
  const taken = processingJob('j', { lease: { worker_pid: 2, token: 'newer', expires_at: EXPIRES } });
  const { tx, state, writes } = fakeTx([taken]);
  const result = cycle(tx, { outcomes: [{ id: 'j', token: 'older', outcome: failed }] });
  assert.deepEqual(result.recorded, [null]);
  assert.deepEqual(result.dropped, ['taken back']);
  assert.deepEqual(writes, []);
  assert.equal(state.queue[0], taken);
});

test('an outcome for a job that is gone or canceled is dropped', () => {
  const { tx } = fakeTx([pendingJob('other')]);
  assert.deepEqual(cycle(tx, { outcomes: [{ id: 'missing', token: 'a', outcome: succeeded }] }).recorded, [null]);
});

test('the last failure moves the job to the DLQ, written before the queue loses it', () => {
  const last = processingJob('j', { attempts: 4, max_retries: 3, lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } });
  const { tx, state, writes } = fakeTx([last, pendingJob('p')], [deadJob('old')]);
  const result = cycle(tx, { outcomes: [{ id: 'j', token: 'a', outcome: failed }] });
  assert.equal(result.recorded[0]?.state, 'dead');
  assert.deepEqual(writes, ['dlq', 'queue']);
  assert.deepEqual(
    state.dlq.map((job) => job.id),
    ['old', 'j'],
  );
  assert.deepEqual(
    state.queue.map((job) => job.id),
    ['p'],
  );
});

test('a failure with retries left schedules the retry and does not load the DLQ needlessly', () => {
  const { tx, state } = fakeTx([processingJob('j', { attempts: 1, lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } })]);
  const result = cycle(tx, { outcomes: [{ id: 'j', token: 'a', outcome: failed }], claimFor: [1] });
  assert.equal(result.recorded[0]?.state, 'failed');
  assert.equal(result.recorded[0]?.run_at, '2026-11-23T10:00:02.000Z');
  assert.deepEqual(result.claimed, [], 'the retry is not ready yet');
  assert.equal(state.dlqLoaded, true, 'a failure may be a move: the DLQ is loaded and repaired first');
});

test('renewal extends the leases still held and reports the ones lost', () => {
  const mine = processingJob('mine', { lease: { worker_pid: 1, token: 'a', expires_at: '2026-11-23T10:00:05.000Z' } });
  const { tx, state } = fakeTx([mine, pendingJob('canceled-meanwhile')]);
  const result = cycle(tx, {
    renew: [
      { id: 'mine', token: 'a' },
      { id: 'canceled-meanwhile', token: 'b' },
    ],
  });
  assert.deepEqual(result.lost, [{ id: 'canceled-meanwhile', token: 'b', because: 'taken back' }]);
  const renewed = state.queue[0];
  assert.equal(renewed?.state === 'processing' && renewed.lease.expires_at, EXPIRES);
});

test('an expired lease is taken back as a lost attempt, and its token returned to kill what is left', () => {
  const stale = processingJob('stale', { attempts: 1, lease: { worker_pid: 9, token: 'gone', expires_at: '2026-11-23T09:59:00.000Z' } });
  const { tx } = fakeTx([stale]);
  const result = cycle(tx, {});
  assert.equal(result.recovered.length, 1);
  assert.equal(result.recovered[0]?.token, 'gone');
  assert.equal(result.recovered[0]?.job.state, 'failed');
  assert.match(result.recovered[0]?.job.last_error ?? '', /lease expired at .*\(worker pid 9 died or froze\)/);
});

test('a run that ended past its lease but was not taken back keeps its real outcome', () => {
  const late = processingJob('late', { lease: { worker_pid: 1, token: 'a', expires_at: '2026-11-23T09:59:00.000Z' } });
  const { tx } = fakeTx([late]);
  const result = cycle(tx, { outcomes: [{ id: 'late', token: 'a', outcome: succeeded }] });
  assert.equal(result.recorded[0]?.state, 'completed');
  assert.deepEqual(result.recovered, []);
});

test('a running job renewed in the cycle is not taken back, even if its lease had run out', () => {
  const late = processingJob('late', { lease: { worker_pid: 1, token: 'a', expires_at: '2026-11-23T09:59:00.000Z' } });
  const { tx } = fakeTx([late]);
  const result = cycle(tx, { renew: [{ id: 'late', token: 'a' }] });
  assert.deepEqual(result.recovered, []);
  assert.deepEqual(result.lost, []);
});

test('a released claim goes back without counting an attempt, and can be claimed again in the same cycle', () => {
  const held = processingJob('j', { attempts: 1, lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } });
  const { tx } = fakeTx([held]);
  const result = cycle(tx, { release: [{ id: 'j', token: 'a' }], claimFor: [2] });
  assert.equal(result.claimed[0]?.id, 'j');
  assert.equal(result.claimed[0]?.attempts, 1, 'the released claim did not count');
  assert.equal(result.claimed[0]?.lease.worker_pid, 2);
});

test('completions past retention move the oldest completed jobs to the archive before the queue is written', () => {
  const completed = Array.from({ length: 3 }, (_, i) =>
    ({ ...processingJob(`c${i}`), state: 'completed', exit_code: 0, lease: null, finished_at: `2026-11-23T09:0${i}:00.000Z` }) as Job,
  );
  const finishing = processingJob('f', { lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } });
  // retention 0 keeps none; the slack of 100 lets them pile up first, so 101 are needed
  const many = Array.from({ length: 98 }, (_, i) => ({ ...completed[0]!, id: `m${i}` }) as Job);
  const { tx, writes, archived, state } = fakeTx([...completed, ...many, finishing], [], { retention: 0 });
  cycle(tx, { outcomes: [{ id: 'f', token: 'a', outcome: succeeded }] });
  assert.deepEqual(writes, ['archive', 'queue']);
  assert.equal(archived[0]?.length, 102);
  assert.deepEqual(state.queue, []);
});

test('a cycle with nothing to do writes nothing', () => {
  const { tx, writes } = fakeTx([pendingJob('later', { run_at: '2026-11-23T11:00:00.000Z' })]);
  const result = cycle(tx, { claimFor: [1] });
  assert.deepEqual(writes, []);
  assert.deepEqual(result.claimed, []);
  assert.equal(result.nextReadyAt, '2026-11-23T11:00:00.000Z');
});

test('before completed jobs leave for the archive, a stale DLQ copy of one (a dlq retry cut in half) is repaired away', () => {
  const old = (id: string, minute: number) =>
    ({ ...processingJob(id), state: 'completed', exit_code: 0, lease: null, finished_at: `2026-11-23T09:${String(minute).padStart(2, '0')}:00.000Z`, updated_at: '2026-11-23T09:30:00.000Z' }) as Job;
  const revivedThenCompleted = old('x', 0); // the oldest: first to leave
  const others = Array.from({ length: 100 }, (_, i) => old(`c${i}`, 1 + (i % 50)));
  const finishing = processingJob('f', { lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } });
  const staleDead = deadJob('x', { updated_at: '2026-11-23T09:10:00.000Z' });
  const { tx, state, archived } = fakeTx([revivedThenCompleted, ...others, finishing], [staleDead], { retention: 0 });
  cycle(tx, { outcomes: [{ id: 'f', token: 'a', outcome: succeeded }] });
  assert.ok(archived[0]?.some((job) => job.id === 'x'), 'x left for the archive');
  assert.deepEqual(state.dlq, [], 'and its stale dead copy did not stay behind in the DLQ');
});

test('runs to verify are checked, not renewed: the lost ones are reported, nothing is written for them', () => {
  const mine = processingJob('mine', { lease: { worker_pid: 1, token: 'a', expires_at: '2026-11-23T10:00:05.000Z' } });
  const canceled = { ...pendingJob('gone'), state: 'canceled', finished_at: '2026-11-23T09:59:00.000Z', last_error: 'canceled by user while pending' } as Job;
  const { tx, writes } = fakeTx([mine, canceled]);
  const result = cycle(tx, { verify: [{ id: 'mine', token: 'a' }, { id: 'gone', token: 'b' }] });
  assert.deepEqual(result.lost, [{ id: 'gone', token: 'b', because: 'canceled' }]);
  assert.deepEqual(writes, []);
});
