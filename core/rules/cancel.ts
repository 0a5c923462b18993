/**
 * Which jobs `queuectl cancel <id…>` may cancel, decided on plain data. All or nothing: one id
 * that is unknown or already finished rejects the whole request, so nothing changes.
 */
import { inputError, QueuectlError } from './errors.js';
import { isCancelable, type CancelableJob, type CanceledJob, type DeadJob, type Job, type ProcessingJob } from './job.js';
import { cancel } from './transitions.js';

export interface CancelPlan {
  /** The queue with the jobs canceled, in the same order. */
  queue: Job[];
  /** The canceled jobs and the state each was in, in the order their ids were given (each once). */
  canceled: { job: CanceledJob; was: CancelableJob['state'] }[];
  /**
   * The jobs that were processing: their processes must be stopped (a claim not started yet may
   * be starting this instant).
   */
  running: ProcessingJob[];
}

/**
 * `runFound(id)` says whether processes of the job's run were found: a claim whose start is not
 * recorded yet is canceled as running when they were, and as not started otherwise.
 */
export function planCancel(
  queue: readonly Job[],
  dlq: readonly DeadJob[],
  ids: readonly string[],
  now: Date,
  runFound: (id: string) => boolean = () => false,
): CancelPlan {
  const index = new Map(queue.map((job, i) => [job.id, i]));
  const dead = new Set(dlq.map((job) => job.id));
  const next = [...queue];
  const canceled: CancelPlan['canceled'] = [];
  const running: ProcessingJob[] = [];
  for (const id of new Set(ids)) {
    const at = index.get(id);
    const job = at === undefined ? undefined : queue[at];
    if (job === undefined || at === undefined) {
      if (dead.has(id)) throw notCancelable(id, 'dead (in the DLQ)');
      throw new QueuectlError(`no job "${id}" in the queue or the DLQ; nothing was canceled; see queuectl list`, 'ENOTFOUND');
    }
    if (!isCancelable(job)) throw notCancelable(id, job.state);
    if (job.state === 'processing') running.push(job);
    const done = cancel(job, now, runFound(id));
    next[at] = done;
    canceled.push({ job: done, was: job.state });
  }
  return { queue: next, canceled, running };
}

/**
 * The line a canceled job's log gets, saying when and how it was canceled; null for a job that
 * never ran (a first claim not started included): it has no log, and a line each would make one
 * per job (100,000 files for `cancel --all` of a large queue), when `show`, `list` and `logs`
 * already say it was canceled. A job restarted and canceled before it ran again gets none either
 * (its attempts start again at 0): its log ends with the restart.
 */
export function cancelLogLine(job: CanceledJob): string | null {
  return job.attempts > 0 ? `--- queuectl: ${job.last_error} at ${job.finished_at}` : null;
}

function notCancelable(id: string, state: string): QueuectlError {
  return inputError(
    `job "${id}" is already ${state}; only pending, failed or processing jobs can be canceled; nothing was canceled`,
  );
}
