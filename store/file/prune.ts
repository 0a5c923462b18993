/**
 * `queuectl prune`: one transaction deletes the chosen finished jobs from queue.json and
 * dlq.json, and their logs. `prune --archive` deletes whole archive batches, with their logs.
 */
import type { FinishedJob } from '../../core/rules/job.js';
import { planPrune, type PruneRule } from '../../core/rules/prune.js';
import { archiveBatchesBefore, deleteArchiveBatch, readArchiveBatch } from './archive.js';
import { recordCompletedIds } from './completed-ids.js';
import { removeJobLogs } from '../local/job-logs.js';
import type { ArchivePart, PruneRequest } from '../../core/ports/store.js';
import type { JobFiles } from './job-files.js';

/** The jobs deleted (or, with `dryRun`, that would be). */
export function pruneJobs(files: JobFiles, rule: PruneRule, options: PruneRequest = {}): Promise<FinishedJob[]> {
  const now = options.now ?? new Date();
  return files.transact((tx) => {
    tx.config(); // a broken config.json is reported here too, as by every command
    const dlq = tx.dlq(); // first: loading it may repair the queue
    const plan = planPrune(tx.queue(), dlq, rule, now);
    if (options.dryRun || plan.removed.length === 0) return plan.removed;
    // Still known as completed, for `--after`, once gone.
    recordCompletedIds(files.paths, plan.removed.filter((job) => job.state === 'completed').map((job) => job.id));
    if (plan.queue.length !== tx.queue().length) tx.setQueue(plan.queue);
    if (plan.dlq.length !== dlq.length) tx.setDlq(plan.dlq);
    // Under the lock, so that a new job cannot take a freed id and lose its log to this prune.
    removeJobLogs(files.paths, plan.removed.map((job) => job.id));
    tx.dropUnusedEnvs();
    return plan.removed;
  }, { create: false });
}

/** The archive batches deleted (or, with `dryRun`, that would be), with how many jobs each held. */
export function pruneArchive(files: JobFiles, olderThanMs: number, dryRun: boolean, now = new Date()): Promise<ArchivePart[]> {
  return files.transact(() => {
    const batches = archiveBatchesBefore(files.paths, now.getTime() - olderThanMs);
    const counted = batches.map((batch) => ({ ...batch, jobs: readArchiveBatch(files.paths, batch.name).length }));
    if (!dryRun) for (const batch of batches) deleteArchiveBatch(files.paths, batch.name);
    return counted;
  }, { create: false });
}
