/**
 * `queuectl prune`: one transaction deletes the chosen finished jobs from queue.json and
 * dlq.json, and their logs. `prune --archive` deletes whole archive batches, with their logs.
 */
import type { FinishedJob } from './job.js';
import { planPrune, type PruneRule } from './prune.js';
import { archiveBatchesBefore, deleteArchiveBatch, readArchiveBatch } from '../store/archive.js';
import { recordCompletedIds } from '../store/completed-ids.js';
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
    // Still known as completed, for `--after`, once gone.
    recordCompletedIds(store.paths, plan.removed.filter((job) => job.state === 'completed').map((job) => job.id));
    if (plan.queue.length !== tx.queue().length) tx.setQueue(plan.queue);
    if (plan.dlq.length !== dlq.length) tx.setDlq(plan.dlq);
    // Under the lock, so that a new job cannot take a freed id and lose its log to this prune.
    removeJobLogs(store.paths, plan.removed.map((job) => job.id));
    tx.dropUnusedEnvs();
    return plan.removed;
  });
}

/** The archive batches deleted (or, with `dryRun`, that would be), with how many jobs each held. */
export async function pruneArchive(store: QueueStore, olderThanMs: number, dryRun: boolean, now = new Date()) {
  return store.transact(() => {
    const batches = archiveBatchesBefore(store.paths, now.getTime() - olderThanMs);
    const counted = batches.map((batch) => ({ ...batch, jobs: readArchiveBatch(store.paths, batch.name).length }));
    if (!dryRun) for (const batch of batches) deleteArchiveBatch(store.paths, batch.name);
    return counted;
  });
}
