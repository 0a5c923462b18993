/**
 * `cancel` in the file store: one transaction marks the jobs canceled (a processing job loses
 * its lease with it), and the jobs waiting on them down the chain; retention may then move them
 * out. Stopping the processes of the runs is the caller's (core/operations/cancel.ts).
 */
import { planCancel } from '../../core/rules/cancel.js';
import { cancelDependents, endings } from '../../core/rules/dependencies.js';
import type { CancelableJob, ProcessingJob } from '../../core/rules/job.js';
import type { CancelRequest, CancelResult, CancelSelection } from '../../core/ports/store.js';
import { evictFinished } from './evict.js';
import type { JobFiles } from './job-files.js';

export function cancelJobs(files: JobFiles, selection: CancelSelection, request: CancelRequest): Promise<CancelResult> {
  const { now } = request;
  return files.transact((tx) => {
    const dlq = tx.dlq(); // first: loading it may repair the queue
    const ids = 'states' in selection ? tx.queue().filter((job) => selection.states.includes(job.state as CancelableJob['state'])).map((job) => job.id) : selection;
    const wanted = new Set(ids);
    const processing = tx.queue().filter((job): job is ProcessingJob => job.state === 'processing' && wanted.has(job.id));
    const plan = planCancel(tx.queue(), dlq, ids, now, request.hasRun(processing));
    const cascade = cancelDependents(plan.queue, endings(plan.canceled.map(({ job }) => job)), now);
    // Before retention writes an archive batch, the first write.
    request.signal?.throwIfAborted();
    const kept = evictFinished(tx, cascade.queue, now);
    tx.setQueue(kept);
    // Once queue.json says so: a cancel killed or failed before its write must leave no log
    // saying it happened. Retention may have moved a job's log to the archive meanwhile.
    const stays = kept.length === cascade.queue.length ? null : new Set(kept.map((job) => job.id));
    const archive = tx.archived() ?? undefined;
    tx.afterWrites(() => {
      for (const { job } of plan.canceled) {
        if (stays === null || stays.has(job.id)) request.noteCanceled(job);
        else if (archive !== undefined) request.noteCanceled(job, archive);
      }
    });
    return { canceled: plan.canceled, running: plan.running, dependents: cascade.canceled };
  }, { create: false, ...(request.signal === undefined ? {} : { signal: request.signal }) });
}
