/**
 * Dependencies between jobs (`--after`), as pueue and task-spooler have them: a job is held until
 * every job it names has completed; when one of them ends dead or canceled instead, the job is
 * canceled at once, and so is every job held behind it, down the chain. Pure functions over the
 * jobs as stored.
 *
 * A dependency that is no longer in the queue has completed. Only completed jobs leave it while
 * others wait on them: a job that ends dead or canceled cancels its waiting dependents in the same
 * write, and neither a new job nor a restarted one may name a dead or canceled job.
 */
import { dependenciesOf, type CanceledJob, type Job, type JobState, type PendingJob } from './job.js';
import { cancelForDependency } from './transitions.js';

/** The unfinished jobs that some job names in `after`, with their states. */
export type Unfinished = ReadonlyMap<string, JobState>;

const NONE: Unfinished = new Map();

/**
 * The jobs of `jobs` that others wait for and that have not completed. Two passes that do
 * nothing costly for a job without dependencies, so that a queue of held jobs is cheap to scan.
 */
export function unfinishedDependencies(jobs: readonly Job[]): Unfinished {
  const named = new Set<string>();
  let last: string | undefined;
  for (let i = 0; i < jobs.length; i++) {
    const after = jobs[i]!.after;
    if (after === undefined) continue;
    for (let k = 0; k < after.length; k++) {
      const id = after[k]!;
      // Jobs enqueued together often name the same dependency: skip the repeats cheaply.
      if (id !== last) named.add((last = id));
    }
  }
  if (named.size === 0) return NONE;
  const unfinished = new Map<string, JobState>();
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    if (job.state !== 'completed' && named.has(job.id)) unfinished.set(job.id, job.state);
  }
  return unfinished;
}

/** Whether `job` waits for a dependency still (`waitingOn` without the list). */
export function isHeld(job: Job, unfinished: Unfinished): boolean {
  const after = job.after;
  if (after === undefined || unfinished.size === 0) return false;
  for (let k = 0; k < after.length; k++) if (unfinished.has(after[k]!)) return true;
  return false;
}

/** The dependencies `job` still waits for, in the order it names them. */
export function waitingOn(job: Job, unfinished: Unfinished): string[] {
  const after = dependenciesOf(job);
  return after.length === 0 || unfinished.size === 0 ? [] : after.filter((id) => unfinished.has(id));
}

/** Why a job ended without completing, as its dependents' `last_error` names it. */
export function endedHow(job: Job): string {
  return job.state === 'dead' ? 'is dead' : 'was canceled';
}

/**
 * Cancels the pending jobs that wait on any of `ended` (jobs that just ended dead or canceled,
 * by id, with how: `is dead`), then those waiting on them, down the chain. Each one's
 * `last_error` names its dependency and, down a chain, the job where the chain broke. Returns the
 * queue with those jobs canceled in place, and them in the order they were canceled.
 */
export function cancelDependents(
  queue: readonly Job[],
  ended: ReadonlyMap<string, string>,
  now: Date,
): { queue: Job[]; canceled: CanceledJob[] } {
  if (ended.size === 0) return { queue: [...queue], canceled: [] };
  const waiters = new Map<string, number[]>();
  queue.forEach((job, index) => {
    if (job.state !== 'pending') return;
    for (const id of dependenciesOf(job)) {
      const list = waiters.get(id);
      if (list) list.push(index);
      else waiters.set(id, [index]);
    }
  });
  const next = [...queue];
  const canceled: CanceledJob[] = [];
  /** Ids whose waiters are still to cancel, each with its root cause. */
  const frontier: { id: string; why: string; root: string | null }[] = [...ended].map(([id, how]) => ({ id, why: how, root: null }));
  while (frontier.length > 0) {
    const { id, why, root } = frontier.shift()!;
    for (const index of waiters.get(id) ?? []) {
      const job = next[index]!;
      if (job.state !== 'pending') continue; // canceled already, through another of its dependencies
      const reason = `its dependency "${id}" ${why}${root === null ? '' : ` (${root})`}`;
      const done = cancelForDependency(job as PendingJob, reason, now);
      next[index] = done;
      canceled.push(done);
      frontier.push({ id: job.id, why: 'was canceled', root: root ?? `"${id}" ${why}` });
    }
  }
  return { queue: next, canceled };
}

/**
 * Canceled jobs that waited on any of `ids`, directly or through canceled jobs between: what a
 * restart of `ids` leaves canceled. In queue order.
 */
export function canceledDependents(queue: readonly Job[], ids: readonly string[]): CanceledJob[] {
  const reached = new Set(ids);
  const found = new Set<CanceledJob>();
  // Dependents come after their dependencies in the queue (a job names only jobs that exist), so
  // one pass in order follows each chain; repeat while a restart moved jobs around.
  for (let grew = true; grew; ) {
    grew = false;
    for (const job of queue) {
      if (job.state !== 'canceled' || reached.has(job.id)) continue;
      if (dependenciesOf(job).some((id) => reached.has(id))) {
        reached.add(job.id);
        found.add(job);
        grew = true;
      }
    }
  }
  return queue.filter((job): job is CanceledJob => found.has(job as CanceledJob));
}

/**
 * The dependencies of `job` that can never complete as things stand (dead or canceled), looked
 * up with `stateOf`: a job naming one is not run again until they are.
 */
export function brokenDependencies(job: Job, stateOf: (id: string) => JobState | undefined): { id: string; state: JobState }[] {
  return dependenciesOf(job).flatMap((id) => {
    const state = stateOf(id);
    return state === 'dead' || state === 'canceled' ? [{ id, state }] : [];
  });
}
