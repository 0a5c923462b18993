import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG, type Config } from '../../core/rules/config.js';
import type { CycleRequest, RunEnd, RunRef } from '../../core/ports/store.js';
import { dispatchCycle } from './dispatch-cycle.js';
import type { DeadJob, Job } from '../../core/rules/job.js';
import type { RunOutcome } from '../../core/rules/outcome.js';
import { reconcile } from './reconcile.js';
import { claimedJob, deadJob, pendingJob, processingJob } from '../../test/sample-jobs.js';
import type { Transaction } from './job-files.js';
import { outlineOf } from './outline.js';
import { lookupIn } from './queue-lookup.js';
import { buildClaimIndex } from '../../core/rules/claim-index.js';

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
    // Built afresh each time: the reference the kept index must agree with (claim-index.test.ts).
    queueIndex: (now) => buildClaimIndex(state.queue, now),
    queueLookup: () => lookupIn(new Map(state.queue.map((job) => [job.id, outlineOf(job)]))),
    addToQueue: (jobs) => {
      state.queue = [...state.queue, ...jobs];
      writes.push('queue');
    },
    config: () => ({ ...DEFAULT_CONFIG, ...config }),
    setConfigValue: () => undefined,
    evict: (jobs) => {
      archived.push([...jobs]);
      writes.push('archive');
    },
    archived: () => (archived.length === 0 ? null : `batch-${archived.length}`),
    saveEnv: () => 'env',
    dropUnusedEnvs: () => undefined,
    afterWrites: (action) => action(),
  };
  return { tx, state, writes, archived };
}

/** An outcome as a worker reports it; what a test leaves out: worker 1, started a second before NOW, ended at NOW. */
type Ended = RunRef & { outcome: RunOutcome } & Partial<RunEnd>;

function cycle(tx: Transaction, request: Partial<Omit<CycleRequest, 'outcomes'>> & { outcomes?: Ended[] }) {
  let n = 0;
  const outcomes = (request.outcomes ?? []).map((run) => ({
    workerPid: 1,
    startedAt: '2026-11-23T09:59:59.000Z',
    endedAt: NOW.toISOString(),
    ...run,
  }));
  return dispatchCycle(tx, { renew: [], claim: 0, ...request, outcomes }, NOW, () => `t${++n}`);
}

const succeeded = { kind: 'exited', code: 0 } as const;
const T_CANCELED = '2026-11-23T09:59:00.000Z';
const failed = { kind: 'exited', code: 1 } as const;

test('one cycle records outcomes and claims the jobs asked for, in claim order', () => {
  const { tx, state, writes } = fakeTx([
    processingJob('done', { lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } }),
    pendingJob('low', { priority: 0 }),
    pendingJob('high', { priority: 5 }),
    pendingJob('later', { run_at: '2026-11-23T11:00:00.000Z' }),
  ]);
  const result = cycle(tx, { outcomes: [{ id: 'done', token: 'a', outcome: succeeded }], claim: 3 });

  assert.equal(result.recorded[0]?.state, 'completed');
  assert.deepEqual(
    result.claimed.map((job) => [job.id, job.lease.worker_pid, job.lease.token]),
    [
      ['high', null, 't1'],
      ['low', null, 't2'],
    ],
    'claimed for no worker yet: the manager hands each to a worker that is free',
  );
  assert.equal(result.nextReadyAt, '2026-11-23T11:00:00.000Z', 'the third got nothing: when to look again');
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

test('a claim is not a run: no attempt is counted and nothing has started', () => {
  const { tx, state } = fakeTx([pendingJob('j')]);
  const result = cycle(tx, { claim: 1 });
  const [claimed] = result.claimed;
  assert.equal(claimed?.state, 'processing');
  assert.equal(claimed?.attempts, 0);
  assert.equal(claimed?.started_at, null);
  assert.equal(claimed?.lease.worker_pid, null);
  assert.equal(state.queue[0], claimed);
});

test('a start reported by a worker counts the run, with the worker and its own start time', () => {
  const { tx, state } = fakeTx([claimedJob('j', { lease: { worker_pid: null, token: 'a', expires_at: EXPIRES } })]);
  cycle(tx, { starts: [{ id: 'j', token: 'a', workerPid: 7, startedAt: '2026-11-23T09:59:59.500Z' }] });
  const job = state.queue[0];
  assert.equal(job?.state, 'processing');
  assert.equal(job?.attempts, 1);
  assert.equal(job?.started_at, '2026-11-23T09:59:59.500Z');
  assert.equal(job?.state === 'processing' && job.lease.worker_pid, 7);
});

test('an outcome whose start was not recorded yet records both: the run counts, with the times its worker saw', () => {
  const { tx } = fakeTx([claimedJob('j', { lease: { worker_pid: null, token: 'a', expires_at: EXPIRES } })]);
  const result = cycle(tx, {
    outcomes: [{ id: 'j', token: 'a', outcome: succeeded, workerPid: 7, startedAt: '2026-11-23T09:59:59.500Z', endedAt: '2026-11-23T09:59:59.750Z' }],
  });
  const job = result.recorded[0];
  assert.equal(job?.state, 'completed');
  assert.equal(job?.attempts, 1);
  assert.equal(job?.started_at, '2026-11-23T09:59:59.500Z');
  assert.equal(job?.finished_at, '2026-11-23T09:59:59.750Z', 'when the command ended, not when the outcome was written');
  assert.equal(job?.updated_at, NOW.toISOString());
});

test('a retry waits its backoff from the end of the failed run, as its worker saw it', () => {
  const { tx } = fakeTx([processingJob('j', { attempts: 1, lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } })]);
  const result = cycle(tx, { outcomes: [{ id: 'j', token: 'a', outcome: failed, endedAt: '2026-11-23T09:59:58.000Z' }] });
  assert.equal(result.recorded[0]?.finished_at, '2026-11-23T09:59:58.000Z');
  assert.equal(result.recorded[0]?.run_at, '2026-11-23T10:00:00.000Z', '2 s after the end');
});

test('a start that comes after the claim was canceled records nothing', () => {
  const canceled = { ...pendingJob('j'), state: 'canceled', finished_at: T_CANCELED, last_error: 'canceled by user before its run started' } as Job;
  const { tx, writes } = fakeTx([canceled]);
  cycle(tx, { starts: [{ id: 'j', token: 'a', workerPid: 7, startedAt: T_CANCELED }] });
  assert.deepEqual(writes, []);
});

test('an outcome whose token is not the current lease is dropped, and nothing is written', () => {
  const taken = processingJob('j', { lease: { worker_pid: 2, token: 'newer', expires_at: EXPIRES } });
  const { tx, state, writes } = fakeTx([taken]);
  const result = cycle(tx, { outcomes: [{ id: 'j', token: 'older', outcome: failed }] });
  assert.deepEqual(result.recorded, [null]);
  assert.deepEqual(result.lostClaims, ['taken back']);
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
  const result = cycle(tx, { outcomes: [{ id: 'j', token: 'a', outcome: failed }], claim: 1 });
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

test('an expired claim that never started goes back as it was before the claim, nothing counted', () => {
  const stale = claimedJob('stale', { lease: { worker_pid: null, token: 'gone', expires_at: '2026-11-23T09:59:00.000Z' } });
  const { tx, state } = fakeTx([stale]);
  const result = cycle(tx, {});
  assert.equal(result.recovered[0]?.job.state, 'pending');
  assert.equal(result.recovered[0]?.token, 'gone');
  assert.equal(state.queue[0]?.attempts, 0);
  assert.equal(state.queue[0]?.lease, null);
});

test('an expired claim whose run is found to have started (a live process, its log) is a lost run, counted', () => {
  const stale = claimedJob('stale', { lease: { worker_pid: null, token: 'gone', expires_at: '2026-11-23T09:59:00.000Z' } });
  const { tx } = fakeTx([stale]);
  const asked: string[] = [];
  const result = dispatchCycle(tx, { outcomes: [], renew: [], claim: 0 }, NOW, () => 'x', (job) => asked.push(job.lease.token) > 0);
  assert.deepEqual(asked, ['gone']);
  assert.equal(result.recovered[0]?.job.state, 'failed');
  assert.equal(result.recovered[0]?.job.attempts, 1);
  assert.match(result.recovered[0]?.job.last_error ?? '', /lease expired at .*\(its manager died or froze\)/);
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
  const held = claimedJob('j', { attempts: 1, last_error: 'command failed with exit code 1', lease: { worker_pid: null, token: 'a', expires_at: EXPIRES } });
  const { tx } = fakeTx([held]);
  const result = cycle(tx, { release: [{ id: 'j', token: 'a' }], claim: 1 });
  assert.equal(result.claimed[0]?.id, 'j');
  assert.equal(result.claimed[0]?.attempts, 1, 'the released claim did not count');
  assert.notEqual(result.claimed[0]?.lease.token, 'a');
});

test('a claim released after its start was recorded stays running: the outcome will come', () => {
  const running = processingJob('j', { lease: { worker_pid: 3, token: 'a', expires_at: EXPIRES } });
  const { tx, writes, state } = fakeTx([running]);
  cycle(tx, { release: [{ id: 'j', token: 'a' }] });
  assert.deepEqual(writes, []);
  assert.equal(state.queue[0], running);
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

test('where evicted jobs are deleted, the job that finished just now stays a while, whatever retention says', () => {
  const old = Array.from({ length: 101 }, (_, i) =>
    ({ ...processingJob(`c${i}`), state: 'completed', exit_code: 0, lease: null, finished_at: '2026-11-23T09:00:00.000Z' }) as Job,
  );
  const finishing = processingJob('f', { lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } });
  const { tx, archived, state } = fakeTx([...old, finishing], [], { retention: 0, archive: false });
  cycle(tx, { outcomes: [{ id: 'f', token: 'a', outcome: succeeded }] });
  assert.equal(archived[0]?.length, 101, 'evicted (the store deletes them)');
  assert.deepEqual(state.queue.map((job) => job.id), ['f']);
});

test('a cycle with nothing to do writes nothing', () => {
  const { tx, writes } = fakeTx([pendingJob('later', { run_at: '2026-11-23T11:00:00.000Z' })]);
  const result = cycle(tx, { claim: 1 });
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

test('a dependent is held while its dependency runs, and claimed in the cycle that records its completion', () => {
  const { tx, state } = fakeTx([
    processingJob('a', { lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } }),
    pendingJob('b', { after: ['a'], priority: 5 }),
    pendingJob('c'),
  ]);
  const first = cycle(tx, { claim: 2 });
  assert.deepEqual(first.claimed.map((job) => job.id), ['c'], 'b, of higher priority, waits for a');
  assert.equal(first.nextReadyAt, null, 'a held job does not wake an idle worker: the completion of a does');
  const second = cycle(tx, { outcomes: [{ id: 'a', token: 'a', outcome: succeeded }], claim: 1 });
  assert.deepEqual(second.claimed.map((job) => job.id), ['b']);
  assert.equal(state.queue[1]!.state, 'processing');
});

test('the death of a dependency cancels its waiting dependents down the chain in the same write, and retention sees them', () => {
  const { tx, state, writes } = fakeTx([
    processingJob('a', { attempts: 4, lease: { worker_pid: 1, token: 'a', expires_at: EXPIRES } }),
    pendingJob('b', { after: ['a'] }),
    pendingJob('c', { after: ['b'] }),
    pendingJob('d'),
  ]);
  const result = cycle(tx, { outcomes: [{ id: 'a', token: 'a', outcome: failed }], claim: 2 });
  assert.equal(result.recorded[0]?.state, 'dead');
  assert.deepEqual(result.canceled.map((job) => [job.id, job.last_error]), [
    ['b', 'canceled: its dependency "a" is dead'],
    ['c', 'canceled: its dependency "b" was canceled ("a" is dead)'],
  ]);
  assert.deepEqual(result.claimed.map((job) => job.id), ['d']);
  assert.deepEqual(writes, ['dlq', 'queue'], 'the DLQ gains a, then one write of the queue without it and with its dependents canceled');
  assert.deepEqual(state.queue.map((job) => [job.id, job.state]), [
    ['b', 'canceled'],
    ['c', 'canceled'],
    ['d', 'processing'],
  ]);
});

test('a job whose lease ran out and that dies of it cancels its dependents too', () => {
  const { tx, state } = fakeTx([
    processingJob('a', { attempts: 4, lease: { worker_pid: 9, token: 'a', expires_at: '2026-11-23T09:59:00.000Z' } }),
    pendingJob('b', { after: ['a'] }),
  ]);
  const result = cycle(tx, { claim: 0 });
  assert.equal(result.recovered[0]?.job.state, 'dead');
  assert.equal(state.queue[0]!.state, 'canceled');
});

test('a queue limit counts what runs under every manager; free slots go to other queues meanwhile', () => {
  const { tx } = fakeTx(
    [
      processingJob('running-elsewhere', { queue: 'ffmpeg', lease: { worker_pid: 7, token: 'x', expires_at: EXPIRES } }),
      pendingJob('f1', { queue: 'ffmpeg', priority: 9 }),
      pendingJob('s1'),
      pendingJob('s2'),
    ],
    [],
    { queues: { ffmpeg: { parallel: 1 } } },
  );
  assert.deepEqual(cycle(tx, { claim: 4 }).claimed.map((job) => job.id), ['s1', 's2']);
});

test('a limit of 2 lets 2 start in one cycle, not more', () => {
  const { tx } = fakeTx([pendingJob('f1', { queue: 'q' }), pendingJob('f2', { queue: 'q' }), pendingJob('f3', { queue: 'q' })], [], {
    queues: { q: { parallel: 2 } },
  });
  assert.deepEqual(cycle(tx, { claim: 3 }).claimed.map((job) => job.id), ['f1', 'f2']);
});

test('a manager started for some queues claims only their jobs; a paused queue gives none', () => {
  const jobs = () => [pendingJob('d1'), pendingJob('x1', { queue: 'x' }), pendingJob('y1', { queue: 'y' })];
  assert.deepEqual(cycle(fakeTx(jobs()).tx, { claim: 3, queues: ['x'] }).claimed.map((job) => job.id), ['x1']);
  const paused = fakeTx(jobs(), [], { queues: { y: { paused: true } } });
  assert.deepEqual(cycle(paused.tx, { claim: 3 }).claimed.map((job) => job.id), ['d1', 'x1']);
});
