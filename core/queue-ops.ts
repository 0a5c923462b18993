/**
 * The queue's operations for the CLI: each one transaction on the store, deciding with the
 * pure rules. What workers need (claims, outcomes, leases) is in dispatch-cycle.ts.
 */
import { randomBytes } from 'node:crypto';
import { inputError } from './errors.js';
import type { Job, PendingJob } from './job.js';
import { newJob, type JobSpec } from './job-spec.js';
import { planRestart, planRetry } from './restart.js';
import { findArchivedJobs } from '../store/archive.js';
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
 * queue and the DLQ and within the batch; the first clash rejects the whole batch.
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
    // Only now, the batch accepted: bad input changes nothing on disk, not even envs/.
    const envId = env !== undefined && config.capture_env ? tx.saveEnv(env) : null;
    const added = specs.map((spec, index) => newJob(spec, ids[index]!, config, cwd, at, envId));
    removeJobLogs(store.paths, added.map((job) => job.id));
    tx.setQueue([...tx.queue(), ...added]);
    return added;
  });
}

/**
 * `restart <id…>` and `dlq retry <id> | --all`: finished jobs back to pending, attempts reset,
 * in one transaction; each one's log gets a line saying so. A dead job moves to the queue, which
 * gains it first: a crash between the writes leaves a duplicate, not a loss.
 */
export async function restartJobs(
  store: QueueStore,
  request: { restart: readonly string[] } | { retry: readonly string[] | 'all' },
  now = new Date(),
): Promise<PendingJob[]> {
  return store.transact((tx) => {
    const dlq = tx.dlq(); // first: loading it may repair the queue
    if ('restart' in request) refuseArchived(store, [...tx.queue(), ...dlq], request.restart);
    const plan = 'restart' in request ? planRestart(tx.queue(), dlq, request.restart, now) : planRetry(tx.queue(), dlq, request.retry, now);
    if (plan.restarted.length === 0) return [];
    const how = 'restart' in request ? 'restarted' : 'retried from the DLQ';
    for (const job of plan.restarted) noteInLog(store.paths, job.id, `--- queuectl: ${how} by user at ${job.updated_at}: attempts reset`);
    tx.setQueue(plan.queue);
    if (plan.dlq.length !== dlq.length) tx.setDlq(plan.dlq);
    return plan.restarted;
  });
}

/** A job that retention moved to the archive is not brought back by restart: say so, rather than "no job". */
function refuseArchived(store: QueueStore, listed: readonly Job[], ids: readonly string[]): void {
  const present = new Set(listed.map((job) => job.id));
  const missing = ids.filter((id) => !present.has(id));
  if (missing.length === 0) return;
  const [archived] = findArchivedJobs(store.paths, new Set(missing)).keys();
  if (archived === undefined) return; // planRestart says "no job"
  throw inputError(
    `job "${archived}" left the queue for the archive (retention); restart takes jobs in the queue or the DLQ: enqueue its command again; nothing was restarted`,
  );
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
