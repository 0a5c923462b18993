/**
 * Dependencies between jobs (`--after`), as pueue and task-spooler have them: a job waits until
 * every job it names has completed; when one of them ends dead or canceled instead, the job is
 * canceled at once, and so is every job waiting behind it, down the chain. Pure functions over
 * the jobs as stored.
 *
 * A job's dependency is the job of that id created before it (or with it, in one batch): a job
 * enqueued later under the same id, once the first left the queue, is a stranger to it, which
 * it neither waits for nor is canceled with.
 *
 * A dependency that is no longer in the queue has completed. Only completed jobs leave it while
 * others wait on them: a job that ends dead or canceled cancels its waiting dependents (pending,
 * or failed and due to run again) in the same write; neither a new job nor a restarted one may
 * name a dead or canceled job, or one that is nowhere to be found.
 */
import { dependenciesOf, isClaimable, type CanceledJob, type ClaimableJob, type Job, type JobState } from './job.js';
import { cancelForDependency } from './transitions.js';

/** The unfinished jobs that some job names in `after`, by id. */
export type Unfinished = ReadonlyMap<string, Pick<Job, 'id' | 'state' | 'created_at'>>;

const NONE: Unfinished = new Map();

/**
 * The jobs of `jobs` that others wait for and that have not completed. Two passes that do
 * nothing costly for a job without dependencies, so that a queue of held jobs is cheap to scan.
 */
export function unfinishedDependencies(jobs: readonly Pick<Job, 'id' | 'state' | 'after' | 'created_at'>[]): Unfinished {
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
  const unfinished = new Map<string, Pick<Job, 'id' | 'state' | 'created_at'>>();
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    if (job.state !== 'completed' && named.has(job.id)) unfinished.set(job.id, job);
  }
  return unfinished;
}

/** Whether `job` waits for a dependency still (`waitingOn` without the list). */
export function isWaiting(job: Job, unfinished: Unfinished): boolean {
  const after = job.after;
  if (after === undefined || unfinished.size === 0) return false;
  for (let k = 0; k < after.length; k++) {
    const dependency = unfinished.get(after[k]!);
    if (dependency !== undefined && isDependencyOf(dependency, job)) return true;
  }
  return false;
}

/** The dependencies `job` still waits for, in the order it names them. */
export function waitingOn(job: Pick<Job, 'after' | 'created_at'>, unfinished: Unfinished): string[] {
  const after = dependenciesOf(job);
  if (after.length === 0 || unfinished.size === 0) return [];
  return after.filter((id) => {
    const dependency = unfinished.get(id);
    return dependency !== undefined && isDependencyOf(dependency, job);
  });
}

/** Whether `dependency`, a job of an id `job` names, is the one it meant: not one enqueued after it. */
export function isDependencyOf(dependency: { created_at: string }, job: { created_at: string }): boolean {
  return dependency.created_at <= job.created_at;
}

/** How a job ended without completing, and when it was created, for its dependents. */
export interface Ending {
  how: string;
  created_at: string;
}

/** The endings of jobs that ended dead or canceled, by id, for cancelDependents. */
export function endings(jobs: readonly Job[]): Map<string, Ending> {
  return new Map(jobs.map((job) => [job.id, { how: endedHow(job), created_at: job.created_at }]));
}

/** How a dependency ended without completing, as its dependents' `last_error` says it. */
export const DIED = 'is dead';
export const WAS_CANCELED = 'was canceled';

/** The `last_error` of a job canceled because of a dependency starts so. */
export const CANCELED_FOR_DEPENDENCY = 'canceled: its dependency';

export function endedHow(job: Job): string {
  return job.state === 'dead' ? DIED : WAS_CANCELED;
}

/**
 * Cancels the jobs that wait on any of `ended` (jobs that just ended dead or canceled, by id,
 * with how: `is dead`), then those waiting on them, down the chain. A waiting job is a pending
 * one, or a failed one due to run again (a restart of its completed dependency made it wait).
 * A job that runs or has finished is left alone: its dependencies were met when it started. Each one's
 * `last_error` names its dependency and, down a chain, the job where the chain broke. Returns the
 * queue with those jobs canceled in place, and them in the order they were canceled.
 */
export function cancelDependents(
  queue: readonly Job[],
  ended: ReadonlyMap<string, Ending>,
  now: Date,
): { queue: Job[]; canceled: CanceledJob[] } {
  if (ended.size === 0) return { queue: [...queue], canceled: [] };
  const waiters = new Map<string, number[]>();
  queue.forEach((job, index) => {
    if (!isClaimable(job)) return;
    for (const id of dependenciesOf(job)) {
      const list = waiters.get(id);
      if (list) list.push(index);
      else waiters.set(id, [index]);
    }
  });
  const next = [...queue];
  const canceled: CanceledJob[] = [];
  /** Ids whose waiters are still to cancel, each with its root cause. */
  const frontier: { id: string; why: string; root: string | null; created_at: string }[] = [...ended].map(([id, { how, created_at }]) => ({
    id,
    why: how,
    root: null,
    created_at,
  }));
  // A head index, not shift(): a chain of 100,000 jobs must not cost a copy of the rest per job.
  for (let head = 0; head < frontier.length; head++) {
    const { id, why, root, created_at } = frontier[head]!;
    for (const index of waiters.get(id) ?? []) {
      const job = next[index]!;
      if (!isClaimable(job)) continue; // canceled already, through another of its dependencies
      if (!isDependencyOf({ created_at }, job)) continue; // it waits for an older job of that id
      const reason = `its dependency "${id}" ${why}${root === null ? '' : ` (${root})`}`;
      const done = cancelForDependency(job as ClaimableJob, reason, now);
      next[index] = done;
      canceled.push(done);
      frontier.push({ id: job.id, why: WAS_CANCELED, root: root ?? `"${id}" ${why}`, created_at: job.created_at });
    }
  }
  return { queue: next, canceled };
}

/**
 * Jobs canceled because they waited on any of `ids`, directly or through jobs canceled so
 * between: what a restart of `ids` leaves canceled. Jobs a person canceled are not among them.
 * In queue order.
 */
export function canceledDependents(queue: readonly Job[], ids: readonly string[]): CanceledJob[] {
  const reached = new Set(ids);
  const found = new Set<CanceledJob>();
  // Dependents come after their dependencies in the queue (a job names only jobs that exist), so
  // one pass in order follows each chain; repeat while a restart moved jobs around.
  for (let grew = true; grew; ) {
    grew = false;
    for (const job of queue) {
      if (job.state !== 'canceled' || reached.has(job.id) || !job.last_error.startsWith(CANCELED_FOR_DEPENDENCY)) continue;
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
 * The dependencies of `job` that cannot complete as things stand, looked up with `stateOf`: dead
 * or canceled ones, and ones found nowhere (`unknown`: pruned or deleted without having
 * completed, since a completed one is remembered). A job naming one is not run again until they are.
 */
export function brokenDependencies(job: Job, found: (id: string) => FoundDependency | undefined): BrokenDependency[] {
  const broken: BrokenDependency[] = [];
  for (const id of dependenciesOf(job)) {
    const dependency = found(id);
    if (dependency === undefined) broken.push({ id, state: 'unknown' });
    else if (dependency.created_at !== null && !isDependencyOf({ created_at: dependency.created_at }, job)) broken.push({ id, state: 'replaced' });
    else if (dependency.state === 'dead' || dependency.state === 'canceled') broken.push({ id, state: dependency.state });
  }
  return broken;
}

/** A job found under a dependency's id: its state, and when it was created (null: only its id is remembered, in completed-ids). */
export interface FoundDependency {
  state: JobState;
  created_at: string | null;
}

export interface BrokenDependency {
  id: string;
  /** `replaced`: the id now names a job enqueued after this one (the one it meant is gone). */
  state: 'dead' | 'canceled' | 'unknown' | 'replaced';
}
