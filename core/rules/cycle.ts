/**
 * The part of a dispatch cycle that settles the runs a manager reports, on plain data: starts and
 * outcomes recorded, claims given back, leases renewed and verified, and jobs whose lease ran out
 * taken back. Every change of a run is checked against the job's current lease token, so a
 * manager that froze past its lease never overwrites what happened to the job since.
 *
 * `jobs` must hold every job the request names and the processing jobs to check for an expired
 * lease (a file store passes them all; a database the rows it locked). Claims and the dependents
 * of jobs that died are the store's to handle next, over what it holds.
 */
import { isExpired } from './claim-order.js';
import type { Config } from './config.js';
import { isClaimed, type DeadJob, type Job, type ProcessingJob, type RunningJob } from './job.js';
import { recordOutcome, recover, release, renewLease, start } from './transitions.js';
import type { CycleRequest, CycleResult, LostBecause, RunRef, RunStart } from '../ports/store.js';

export interface Settled extends Pick<CycleResult, 'recorded' | 'lostClaims' | 'lost' | 'recovered'> {
  /** The jobs given, changed where the runs were settled, in the same order. */
  jobs: Job[];
  /** Whether any job changed. */
  changed: boolean;
  /** Jobs that ended dead (from an outcome, or a lease that ran out with no retry left). */
  dead: DeadJob[];
  /** Whether a job completed: retention may apply. */
  completed: boolean;
  /**
   * The outcomes (by index) that the job records already: a cycle that recorded them committed,
   * but its manager never heard (the connection ended on the way), and tried again.
   */
  repeated: Set<number>;
}

/**
 * `runStarted(job)` tells whether the run of a claim did start though its start is not recorded:
 * asked only for an expired claim, to tell a run that started just before its manager died (a
 * lost run, counted) from a claim that never started (given back).
 */
export function settleRuns(
  given: readonly Job[],
  request: Omit<CycleRequest, 'claim' | 'queues'>,
  config: Config,
  now: Date,
  runStarted: (job: ProcessingJob) => boolean,
  /** The indexes of the processing jobs of `given`, when the caller has them already. */
  processing: readonly number[] = processingIndexes(given),
): Settled {
  const jobs: Job[] = [...given];
  const nowIso = now.toISOString();
  const dead: DeadJob[] = [];
  let changed = false;

  const starts = request.starts ?? [];
  const released = request.release ?? [];
  const verify = request.verify ?? [];
  const indexOf = new Map<string, number>();
  for (const index of processing) indexOf.set(jobs[index]!.id, index);
  const owned = (run: RunRef): number | null => {
    const index = indexOf.get(run.id);
    const job = index === undefined ? undefined : jobs[index];
    return job?.state === 'processing' && job.lease.token === run.token ? index! : null;
  };

  // Rare (a run lost to a cancel or a take-back): a search is fine.
  const whyLost = (run: RunRef): LostBecause => (jobs.some((job) => job.id === run.id && job.state === 'canceled') ? 'canceled' : 'taken back');

  const started = (index: number, run: RunStart): RunningJob => {
    const job = jobs[index] as ProcessingJob;
    return isClaimed(job) ? start(job, run.workerPid, run.startedAt, now, run.host) : job;
  };
  for (const run of starts) {
    // A run lost meanwhile is reported by renew or verify.
    const index = owned(run);
    if (index === null || !isClaimed(jobs[index]!)) continue;
    jobs[index] = started(index, run);
    changed = true;
  }

  // Rare (a cycle whose commit went unheard): a search is fine. A run is told by its start and
  // end as its worker saw them, to the millisecond.
  const recordedBefore = (run: RunStart & { endedAt: string | null }): Job | undefined => {
    if (run.endedAt === null) return undefined;
    const job = jobs.find((candidate) => candidate.id === run.id);
    const finished = job?.state === 'completed' || job?.state === 'failed' || job?.state === 'dead';
    return finished && job.finished_at === run.endedAt && job.started_at === run.startedAt ? job : undefined;
  };

  let completed = false;
  const lostClaims: (LostBecause | null)[] = [];
  const repeated = new Set<number>();
  const recorded = request.outcomes.map((run, at) => {
    const index = owned(run);
    if (index === null) {
      const before = recordedBefore(run);
      if (before !== undefined) repeated.add(at);
      lostClaims.push(before === undefined ? whyLost(run) : null);
      return before ?? null;
    }
    lostClaims.push(null);
    const next = recordOutcome(started(index, run), run.outcome, config, now, run.endedAt ?? undefined);
    jobs[index] = next;
    if (next.state === 'dead') dead.push(next);
    if (next.state === 'completed') completed = true;
    changed = true;
    return next;
  });

  for (const run of released) {
    const index = owned(run);
    if (index === null) continue;
    const job = jobs[index]!;
    if (!isClaimed(job)) continue; // it started after all: its outcome will come
    jobs[index] = release(job, now);
    changed = true;
  }

  const lost: CycleResult['lost'] = [];
  const leaseEnd = new Date(now.getTime() + config.lease * 1000);
  for (const run of request.renew) {
    const index = owned(run);
    if (index === null) {
      lost.push({ ...run, because: whyLost(run) });
      continue;
    }
    jobs[index] = renewLease(jobs[index] as ProcessingJob, leaseEnd);
    changed = true;
  }
  for (const run of verify) {
    if (owned(run) === null) lost.push({ ...run, because: whyLost(run) });
  }

  // After outcomes and renewals: a run that ended or still runs under this manager is its
  // own, even past its lease, as long as no one took the job back.
  const recovered: CycleResult['recovered'] = [];
  for (const index of request.recoverExpired === false ? [] : processing) {
    const job = jobs[index]!;
    if (job.state !== 'processing' || !isExpired(job, nowIso)) continue;
    const next = recover(job, config, now, job.lease.worker_pid !== null || runStarted(job));
    jobs[index] = next;
    recovered.push({ job: next, token: job.lease.token });
    if (next.state === 'dead') dead.push(next);
    changed = true;
  }

  return { jobs, changed, dead, completed, recorded, lostClaims, lost, recovered, repeated };
}

/** The indexes of the processing jobs: every run a cycle records, renews or takes back is one. */
export function processingIndexes(jobs: readonly Job[]): number[] {
  const found: number[] = [];
  for (let index = 0; index < jobs.length; index++) if (jobs[index]!.state === 'processing') found.push(index);
  return found;
}
