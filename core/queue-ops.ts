/**
 * The queue's operations for the CLI: each one transaction on the store, deciding with the
 * pure rules. What workers need (claims, outcomes, leases) is in dispatch-cycle.ts.
 */
import { randomBytes } from 'node:crypto';
import { brokenDependencies, canceledDependents, type FoundDependency } from './dependencies.js';
import { inputError } from './errors.js';
import type { CanceledJob, Job, PendingJob } from './job.js';
import { newJob, type JobSpec } from './job-spec.js';
import { planRestart, planRetry } from './restart.js';
import { findArchivedDependents, findArchivedJobs, takeBackLog, type ArchivedJob } from '../store/archive.js';
import { findCompletedIds } from '../store/completed-ids.js';
import { noteInLog, removeJobLogs } from '../store/job-logs.js';
import type { QueueStore } from '../store/queue-store.js';

function generateId(taken: (id: string) => boolean): string {
  for (;;) {
    const id = randomBytes(4).toString('hex');
    if (!taken(id)) return id;
  }
}

export interface EnqueueOptions {
  /** How to name the n-th spec in an error, e.g. `line 3`. */
  label?: (index: number) => string;
  now?: Date;
  /** The environment of the enqueue, for the jobs to run in when `capture_env` is on. */
  env?: Readonly<Record<string, string>>;
}

/**
 * Adds the jobs as one all-or-nothing batch in one lock cycle. Ids must be new across the
 * queue and the DLQ and within the batch; the first clash rejects the whole batch. So does a
 * dependency (`after`) that is unknown, dead or canceled, or a job later in the batch.
 */
export async function enqueueJobs(store: QueueStore, specs: readonly JobSpec[], cwd: string, options: EnqueueOptions = {}): Promise<PendingJob[]> {
  const { label = (index: number) => `job ${index + 1}`, now, env } = options;
  const where = (index: number) => (specs.length > 1 ? `${label(index)}: ` : '');
  return store.transact((tx) => {
    const at = now ?? new Date();
    const config = tx.config();
    const taken = new Set<string>([...tx.queue().map((job) => job.id), ...tx.dlq().map((job) => job.id)]);
    /** Ids given in this batch, and where. */
    const given = new Map<string, number>();
    const ids = specs.map((spec, index) => {
      if (spec.id !== undefined && given.has(spec.id)) {
        throw inputError(`${where(index)}id "${spec.id}" is also the id of ${label(given.get(spec.id)!)}; ids must be unique`);
      }
      if (spec.id !== undefined && taken.has(spec.id)) {
        throw inputError(`${where(index)}a job with id "${spec.id}" already exists; ids must be unique across queue and DLQ`);
      }
      if (spec.id !== undefined) given.set(spec.id, index);
      const id = spec.id ?? generateId((candidate) => taken.has(candidate));
      taken.add(id);
      return id;
    });
    const named = new Set(specs.flatMap((spec) => spec.after ?? []).filter((id) => !given.has(id)));
    const states = named.size === 0 ? new Map<string, FoundDependency>() : dependencyStates(store, [...tx.queue(), ...tx.dlq()], named);
    specs.forEach((spec, index) => {
      for (const dependency of spec.after ?? []) {
        const inBatch = given.get(dependency);
        if (inBatch !== undefined) {
          if (inBatch < index) continue;
          throw inputError(`${where(index)}cannot run after "${dependency}": it is ${label(inBatch)}, later in the batch, and a job can run only after jobs before it; nothing was enqueued`);
        }
        const state = states.get(dependency)?.state;
        if (state === undefined) {
          throw inputError(`${where(index)}no job "${dependency}" to run after in the queue, the DLQ or the archive; nothing was enqueued`);
        }
        if (state === 'dead' || state === 'canceled') {
          throw inputError(
            `${where(index)}cannot run after "${dependency}": it is ${state} and will not complete (${state === 'dead' ? 'queuectl dlq retry' : 'queuectl restart'} ${dependency} first); nothing was enqueued`,
          );
        }
      }
    });
    // Only now, the batch accepted: bad input changes nothing on disk, not even envs/.
    const envId = env !== undefined && config.capture_env ? tx.saveEnv(env) : null;
    const added = specs.map((spec, index) => newJob(spec, ids[index]!, config, cwd, at, envId));
    removeJobLogs(store.paths, added.map((job) => job.id));
    tx.setQueue([...tx.queue(), ...added]);
    return added;
  });
}

/**
 * The state of each job in `ids`, wherever it is: in `listed` (the queue and the DLQ), the
 * archive, or the record of completed jobs gone from both. Unknown ids are left out. The archive
 * is asked before the record: an id used again, canceled the second time, is canceled.
 */
function dependencyStates(store: QueueStore, listed: readonly Job[], ids: ReadonlySet<string>): Map<string, FoundDependency> {
  const states = new Map<string, FoundDependency>();
  for (const job of listed) if (ids.has(job.id)) states.set(job.id, { state: job.state, created_at: job.created_at });
  const missing = () => new Set([...ids].filter((id) => !states.has(id)));
  for (const [id, { job }] of findArchivedJobs(store.paths, missing())) states.set(id, { state: job.state, created_at: job.created_at });
  for (const id of findCompletedIds(store.paths, missing())) states.set(id, { state: 'completed', created_at: null });
  return states;
}

export interface Restarted {
  /** The jobs put back to pending, in the order their ids were given. */
  restarted: PendingJob[];
  /**
   * Jobs canceled because one of the restarted jobs had ended dead or canceled while they waited
   * on it, directly or down a chain: a restart does not bring them back.
   */
  stillCanceled: CanceledJob[];
}

/**
 * `restart <id…>` and `dlq retry <id> | --all`: finished jobs back to pending, attempts reset,
 * in one transaction; each one's log gets a line saying so. A dead job moves to the queue, which
 * gains it first: a crash between the writes leaves a duplicate, not a loss. A job that runs
 * after a job still dead or canceled is refused (it would wait for ever): restart both together.
 */
export async function restartJobs(
  store: QueueStore,
  request: { restart: readonly string[] } | { retry: readonly string[] | 'all' },
  now = new Date(),
): Promise<Restarted> {
  return store.transact((tx) => {
    const dlq = tx.dlq(); // first: loading it may repair the queue
    const archived = 'restart' in request ? archivedCopies(store, [...tx.queue(), ...dlq], request.restart) : new Map<string, ArchivedJob>();
    const plan =
      'restart' in request
        ? planRestart(tx.queue(), dlq, request.restart, now, new Map([...archived].map(([id, { job }]) => [id, job])))
        : planRetry(tx.queue(), dlq, request.retry, now);
    if (plan.restarted.length === 0) return { restarted: [], stillCanceled: [] };
    refuseBrokenDependencies(store, [...plan.queue, ...plan.dlq], plan.restarted);
    const how = 'restart' in request ? 'restarted' : 'retried from the DLQ';
    for (const job of plan.restarted) {
      const from = archived.get(job.id);
      // Back from the archive, with its log: a restart keeps the log of the runs before.
      if (from) takeBackLog(store.paths, from.batch, job.id);
      noteInLog(store.paths, job.id, `--- queuectl: ${how} by user at ${job.updated_at}${from ? ' (back from the archive)' : ''}: attempts reset`);
    }
    tx.setQueue(plan.queue);
    if (plan.dlq.length !== dlq.length) tx.setDlq(plan.dlq);
    const ids = plan.restarted.map((job) => job.id);
    const inQueue = new Set([...plan.queue, ...plan.dlq].map((job) => job.id));
    // Retention may have moved dependents canceled long ago to the archive: restart finds them there too.
    const archivedDependents = findArchivedDependents(store.paths, ids).filter((job) => !inQueue.has(job.id));
    return { restarted: plan.restarted, stillCanceled: [...canceledDependents(plan.queue, ids), ...archivedDependents] };
  });
}

/** The newest archived copy of each of `ids` that is in neither the queue nor the DLQ. */
function archivedCopies(store: QueueStore, listed: readonly Job[], ids: readonly string[]): Map<string, ArchivedJob> {
  const present = new Set(listed.map((job) => job.id));
  const missing = ids.filter((id) => !present.has(id));
  return missing.length === 0 ? new Map() : findArchivedJobs(store.paths, new Set(missing));
}

/** A restarted job whose dependency is dead or canceled (and not restarted with it) could never run. */
function refuseBrokenDependencies(store: QueueStore, listed: readonly Job[], restarted: readonly PendingJob[]): void {
  const named = new Set(restarted.flatMap((job) => job.after ?? []));
  if (named.size === 0) return;
  const states = dependencyStates(store, listed, named);
  for (const job of restarted) {
    const [broken] = brokenDependencies(job, (id) => states.get(id));
    if (broken === undefined) continue;
    if (broken.state === 'unknown' || broken.state === 'replaced') {
      const what = broken.state === 'unknown' ? 'is gone without having completed (pruned or deleted)' : 'is gone, and its id now names a job enqueued after it';
      throw inputError(
        `job "${job.id}" runs after "${broken.id}", which ${what}: it could never run as asked; enqueue its command again; nothing was restarted`,
      );
    }
    throw inputError(
      `job "${job.id}" runs after "${broken.id}", which is ${broken.state}: restart them together (queuectl restart ${broken.id} ${job.id}); nothing was restarted`,
    );
  }
}

/** Where a job was found: the file that holds it (an archive batch for a job retention moved out). */
export interface Located {
  job: Job;
  /** `queue.json`, `dlq.json` or `archive/<batch>.json`. */
  file: string;
  /** For an archived job, its batch. */
  batch?: string;
}

/** A job wherever it is, read without the lock: queue, DLQ, else the newest archived copy. */
export function locateJob(store: QueueStore, id: string): Located | undefined {
  const { queue, dlq } = store.snapshot();
  const queued = queue.find((job) => job.id === id);
  if (queued) return { job: queued, file: 'queue.json' };
  const dead = dlq.find((job) => job.id === id);
  if (dead) return { job: dead, file: 'dlq.json' };
  const archived = findArchivedJobs(store.paths, new Set([id])).get(id);
  return archived && { job: archived.job, file: `archive/${archived.batch}`, batch: archived.batch };
}
