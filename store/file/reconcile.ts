/**
 * A job moves between queue.json and dlq.json in two writes: the file that gains it is
 * written first, then the one that loses it. A crash between the two leaves the job in both
 * files, never in neither. This repairs that: the copy changed last is the truth.
 *
 * A job that died cancels its held dependents in its queue.json write (see dependencies.ts): a
 * crash before that write leaves them pending. When the dead copy wins, they are canceled here,
 * as of its death, so that no job runs after a dependency that died.
 */
import { cancelDependents, endings } from '../../core/rules/dependencies.js';
import type { DeadJob, Job } from '../../core/rules/job.js';

export interface Reconciled {
  queue: Job[];
  dlq: DeadJob[];
  /** Whether anything was dropped, i.e. the files need writing. */
  repaired: boolean;
}

export function reconcile(queue: readonly Job[], dlq: readonly DeadJob[]): Reconciled {
  const inDlq = new Map(dlq.map((job) => [job.id, job]));
  const dropFromQueue = new Set<string>();
  const dropFromDlq = new Set<string>();
  for (const job of queue) {
    const dead = inDlq.get(job.id);
    if (!dead) continue;
    // Equal times cannot come from two moves; keeping the queue copy keeps the job runnable.
    if (dead.updated_at > job.updated_at) dropFromQueue.add(job.id);
    else dropFromDlq.add(job.id);
  }
  if (dropFromQueue.size === 0 && dropFromDlq.size === 0) {
    return { queue: [...queue], dlq: [...dlq], repaired: false };
  }
  const died = dlq.filter((job) => dropFromQueue.has(job.id));
  const diedAt = died.reduce((latest, job) => (job.updated_at > latest ? job.updated_at : latest), '');
  const { queue: next } = cancelDependents(
    queue.filter((job) => !dropFromQueue.has(job.id)),
    endings(died),
    new Date(diedAt || 0),
  );
  return { queue: next, dlq: dlq.filter((job) => !dropFromDlq.has(job.id)), repaired: true };
}
