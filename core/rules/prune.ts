/**
 * Which finished jobs `queuectl prune` deletes, decided on plain data. Pending, processing and
 * failed jobs are never pruned. By default completed and canceled ones go; dead ones are a to-do
 * list for a person (retry or give up), so they go only when `--state dead` names them.
 */
import { CANCELABLE_STATES, FINISHED_STATES, isFinished, type DeadJob, type FinishedJob, type Job } from './job.js';
import { parseStateList } from './parse.js';

export type FinishedState = (typeof FINISHED_STATES)[number];

export const DEFAULT_PRUNE_STATES: readonly FinishedState[] = ['completed', 'canceled'];

export interface PruneRule {
  states: readonly FinishedState[];
  /** Only jobs that finished at least this long ago; null = any age. */
  olderThanMs: number | null;
}

export interface PrunePlan {
  queue: Job[];
  dlq: DeadJob[];
  /** The jobs deleted, the queue's first, each in the order given. */
  removed: FinishedJob[];
}

/** `--state completed,dead` → the states; anything not finished, or unknown, is an input error. */
export function parsePruneStates(text: string): FinishedState[] {
  return parseStateList(text, FINISHED_STATES, (state) => {
    const why = (CANCELABLE_STATES as readonly string[]).includes(state) ? `"${state}" jobs are not finished and are never pruned` : `unknown state "${state}"`;
    return `--state: ${why}; prune takes ${FINISHED_STATES.join(', ')} (comma-separated)`;
  });
}

export function planPrune(queue: readonly Job[], dlq: readonly DeadJob[], rule: PruneRule, now: Date): PrunePlan {
  const cutoff = rule.olderThanMs === null ? null : new Date(now.getTime() - rule.olderThanMs).toISOString();
  const goes = (job: Job): job is FinishedJob =>
    isFinished(job) && rule.states.includes(job.state) && (cutoff === null || job.finished_at <= cutoff);
  const removed = [...queue.filter(goes), ...dlq.filter(goes)];
  if (removed.length === 0) return { queue: [...queue], dlq: [...dlq], removed };
  return { queue: queue.filter((job) => !goes(job)), dlq: dlq.filter((job) => !goes(job)), removed };
}
