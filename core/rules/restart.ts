/**
 * Which jobs `queuectl restart <id…>` and `queuectl dlq retry` put back to pending, decided on
 * plain data. All or nothing: one id that is unknown or not finished rejects the whole request.
 */
import { brokenDependencies, type BrokenDependency, type FoundDependency } from './dependencies.js';
import { inputError, QueuectlError } from './errors.js';
import { isFinished, type DeadJob, type Job, type PendingJob } from './job.js';
import { restart } from './transitions.js';

export interface RestartPlan {
  /** The queue as it becomes: jobs restarted in place, and those from the DLQ appended. */
  queue: Job[];
  dlq: DeadJob[];
  /** The jobs restarted, in the order their ids were given (each once). */
  restarted: PendingJob[];
}

/**
 * `restart <id…>`: completed, dead or canceled jobs, from the queue, the DLQ, or `archived` (the
 * newest archived copy of ids in neither: jobs retention moved out, which come back to the queue).
 */
export function planRestart(
  queue: readonly Job[],
  dlq: readonly DeadJob[],
  ids: readonly string[],
  now: Date,
  archived: ReadonlyMap<string, Job> = new Map(),
): RestartPlan {
  const inQueue = new Map(queue.map((job, index) => [job.id, index]));
  const dead = new Map(dlq.map((job) => [job.id, job]));
  const next = [...queue];
  const leaving = new Set<string>();
  const revived: PendingJob[] = [];
  const restarted: PendingJob[] = [];
  for (const id of new Set(ids)) {
    const index = inQueue.get(id);
    const job = index === undefined ? (dead.get(id) ?? archived.get(id)) : queue[index];
    if (job === undefined) {
      throw new QueuectlError(`no job "${id}" in the queue, the DLQ or the archive; nothing was restarted; see queuectl list`, 'ENOTFOUND');
    }
    if (!isFinished(job)) {
      throw inputError(`job "${id}" is ${job.state}; only completed, dead or canceled jobs can be restarted; nothing was restarted`);
    }
    const pending = restart(job, now);
    if (index === undefined) {
      if (dead.has(id)) leaving.add(id);
      revived.push(pending);
    } else {
      next[index] = pending;
    }
    restarted.push(pending);
  }
  return { queue: [...next, ...revived], dlq: dlq.filter((job) => !leaving.has(job.id)), restarted };
}

/** `dlq retry <id>` (the job must be in the DLQ) or `dlq retry --all` (every dead job, maybe none). */
export function planRetry(queue: readonly Job[], dlq: readonly DeadJob[], ids: readonly string[] | 'all', now: Date): RestartPlan {
  if (ids !== 'all') {
    const inDlq = new Set(dlq.map((job) => job.id));
    for (const id of ids) {
      if (inDlq.has(id)) continue;
      const queued = queue.find((job) => job.id === id);
      throw new QueuectlError(
        queued
          ? `job "${id}" is not in the DLQ (it is ${queued.state}); only dead jobs can be retried`
          : `no job "${id}" in the DLQ; see queuectl dlq list`,
        'ENOTFOUND',
      );
    }
  }
  return planRestart(queue, dlq, ids === 'all' ? dlq.map((job) => job.id) : ids, now);
}

/**
 * A restarted job whose dependency is dead or canceled (and not restarted with it), or gone
 * without having completed, could never run: the whole restart is refused. `found` says what
 * became of each dependency, with the restart applied.
 */
export function refuseBrokenDependencies(restarted: readonly PendingJob[], found: (id: string) => FoundDependency | undefined): void {
  let first: { job: PendingJob; broken: BrokenDependency } | undefined;
  /** The dead or canceled jobs that restarted ones wait on: to restart with them. */
  const withThem = new Set<string>();
  for (const job of restarted) {
    for (const broken of brokenDependencies(job, found)) {
      if (broken.state === 'unknown' || broken.state === 'replaced') {
        const what = broken.state === 'unknown' ? 'is gone without having completed (pruned or deleted)' : 'is gone, and its id now names a job enqueued after it';
        throw inputError(
          `job "${job.id}" runs after "${broken.id}", which ${what}: it could never run as asked; enqueue its command again; nothing was restarted`,
        );
      }
      first ??= { job, broken };
      withThem.add(broken.id);
    }
  }
  if (first === undefined) return;
  // The hint names the jobs asked for too: restarting only the pair named first would leave the others.
  const together = [...withThem, ...restarted.map((job) => job.id)].join(' ');
  throw inputError(
    `job "${first.job.id}" runs after "${first.broken.id}", which is ${first.broken.state}: restart them together (queuectl restart ${together}); nothing was restarted`,
  );
}
