/**
 * `queuectl prune`: one transaction deletes the chosen finished jobs from queue.json and
 * dlq.json, and their logs. Archives are left alone (they are the archive).
 */
import type { FinishedJob } from './job.js';
import { planPrune, type PruneRule } from './prune.js';
import { removeJobLogs } from '../store/job-logs.js';
import type { QueueStore } from '../store/queue-store.js';

export interface PruneOptions {
  /** Decide and report, write nothing. */
  dryRun?: boolean;
  now?: Date;
}

/** The jobs deleted (or, with `dryRun`, that would be). */
export async function pruneJobs(store: QueueStore, rule: PruneRule, options: PruneOptions = {}): Promise<FinishedJob[]> {
  const now = options.now ?? new Date();
  return store.transact((tx) => {
    const dlq = tx.dlq(); // first: loading it may repair the queue
    const plan = planPrune(tx.queue(), dlq, rule, now);
    if (options.dryRun || plan.removed.length === 0) return plan.removed;
    if (plan.queue.length !== tx.queue().length) tx.setQueue(plan.queue);
    if (plan.dlq.length !== dlq.length) tx.setDlq(plan.dlq);
    // Under the lock, so that a new job cannot take a freed id and lose its log to this prune.
    removeJobLogs(store.paths, plan.removed.map((job) => job.id));
    return plan.removed;
  });
}
