/**
 * What a dispatch cycle looks for in a queue held in memory, kept from one cycle to the next:
 * the processing jobs, the claimable jobs that may be ready soon, how many finished jobs there
 * are, and how many jobs name dependencies. A cycle that changed a few jobs brings it up to date
 * by comparing the two lists of jobs position by position (no job is read) and looking at the
 * jobs that changed; only a change that moved jobs (retention, a move to the DLQ) or the passing
 * of `horizon` costs a pass over every job. With 100,000 jobs delayed a year ahead, a cycle then
 * looks at the jobs that matter, not at all of them. Pure.
 */
import { dependenciesOf, isClaimable, type Job } from './job.js';

/** How far ahead of its build an index keeps claimable jobs at hand: past it, it is built again. */
export const HORIZON_MS = 60_000;

export interface ClaimIndex {
  /** Positions of the processing jobs, in queue order. */
  processing: number[];
  /** Positions of the claimable jobs that run before `horizon`, in no particular order (a pick orders them). */
  soon: number[];
  /** Every claimable job not in `soon` runs at `horizon` or later. */
  horizon: string;
  /** The earliest `run_at` of the claimable jobs not in `soon`, or null (it may be earlier than their soonest: never later). */
  laterAt: string | null;
  /** Completed and canceled jobs. */
  finished: number;
  /** Jobs but dead ones that name dependencies: while none does, no job waits for one. */
  dependents: number;
}

/** The index of `jobs`, with one pass over them. */
export function buildClaimIndex(jobs: readonly Job[], now: Date): ClaimIndex {
  const horizon = new Date(now.getTime() + HORIZON_MS).toISOString();
  const index: ClaimIndex = { processing: [], soon: [], horizon, laterAt: null, finished: 0, dependents: 0 };
  for (let i = 0; i < jobs.length; i++) place(index, jobs[i]!, i);
  return index;
}

/** Counts the job at position `at` into `index`, and lists it where it belongs. */
function place(index: ClaimIndex, job: Job, at: number): void {
  if (job.state === 'processing') index.processing.push(at);
  else if (isClaimable(job)) {
    if (job.run_at < index.horizon) index.soon.push(at);
    else if (index.laterAt === null || job.run_at < index.laterAt) index.laterAt = job.run_at;
  } else if (isFinished(job)) index.finished++;
  if (namesDependencies(job)) index.dependents++;
}

/**
 * The index of `jobs`, from `previous`, the index of `before`: what changed is found by comparing
 * the two lists position by position (jobs are never mutated: a changed job is another object).
 * Built again when a job moved (a position holds another job's id), or `now` reached the horizon.
 */
export function followClaimIndex(
  previous: ClaimIndex,
  before: readonly Job[],
  jobs: readonly Job[],
  now: Date,
  /** The positions that changed, when the caller knows (a write that moved no job): no comparison of the rest. */
  changedAt?: readonly number[],
): ClaimIndex {
  if (jobs.length < before.length || now.toISOString() >= previous.horizon) return buildClaimIndex(jobs, now);
  let changed: readonly number[];
  if (changedAt !== undefined && jobs.length === before.length) changed = changedAt;
  else {
    const found: number[] = [];
    for (let i = 0; i < before.length; i++) {
      if (before[i] === jobs[i]) continue;
      if (before[i]!.id !== jobs[i]!.id) return buildClaimIndex(jobs, now);
      found.push(i);
    }
    changed = found;
  }
  if (changed.length === 0 && jobs.length === before.length) return previous;
  // The changed jobs leave as they were and come back as they are; the new ones at the end come.
  const leaving = new Set<number>();
  let { finished, dependents } = previous;
  for (const i of changed) {
    const old = before[i]!;
    if (isFinished(old)) finished--;
    if (namesDependencies(old)) dependents--;
    if (old.state === 'processing' || (isClaimable(old) && old.run_at < previous.horizon)) leaving.add(i);
  }
  const index: ClaimIndex = {
    ...previous,
    processing: previous.processing.filter((i) => !leaving.has(i)),
    soon: previous.soon.filter((i) => !leaving.has(i)),
    finished,
    dependents,
  };
  for (const i of changed) place(index, jobs[i]!, i);
  for (let i = before.length; i < jobs.length; i++) place(index, jobs[i]!, i);
  index.processing.sort((a, b) => a - b);
  return index;
}

function isFinished(job: Job): boolean {
  return job.state === 'completed' || job.state === 'canceled';
}

function namesDependencies(job: Job): boolean {
  return job.state !== 'dead' && dependenciesOf(job).length > 0;
}
