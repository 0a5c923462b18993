/**
 * `restart <id…>` and `dlq retry <id> | --all` in the file store, in one transaction. A dead job
 * moves to the queue, which gains it first: a crash between the writes leaves a duplicate, not a
 * loss. A job back from the archive brings its log back to logs/ and its environment to envs/,
 * and leaves its batch.
 */
import { canceledDependents } from '../../core/rules/dependencies.js';
import type { Job } from '../../core/rules/job.js';
import { planRestart, planRetry, refuseBrokenDependencies } from '../../core/rules/restart.js';
import type { Restarted, RestartRequest, RestartSelection } from '../../core/ports/store.js';
import { QueuectlError } from '../../core/rules/errors.js';
import { dropFromArchiveBatch, findArchivedDependents, findArchivedJobs, hasArchivedEnv, takeBackEnv, takeBackLog, type ArchivedJob } from './archive.js';
import { dependencyStates } from './dependency-states.js';
import type { JobFiles } from './job-files.js';
import type { DataPaths } from './paths.js';

export function restartJobs(files: JobFiles, selection: RestartSelection, request: RestartRequest): Promise<Restarted> {
  const { now } = request;
  return files.transact((tx) => {
    const dlq = tx.dlq(); // first: loading it may repair the queue
    const archived = 'restart' in selection ? archivedCopies(files.paths, [...tx.queue(), ...dlq], selection.restart) : new Map<string, ArchivedJob>();
    const plan =
      'restart' in selection
        ? planRestart(tx.queue(), dlq, selection.restart, now, new Map([...archived].map(([id, { job }]) => [id, job])))
        : planRetry(tx.queue(), dlq, selection.retry, now);
    if (plan.restarted.length === 0) return { restarted: [], stillCanceled: [] };
    const named = new Set(plan.restarted.flatMap((job) => job.after ?? []));
    const states = dependencyStates(files.paths, [...plan.queue, ...plan.dlq], named);
    refuseBrokenDependencies(plan.restarted, (id) => states.get(id));
    const back = plan.restarted.flatMap((job) => {
      const from = archived.get(job.id);
      return from === undefined ? [] : [{ job, batch: from.batch }];
    });
    // Before anything changes: a job that could not start would only fail its runs to the DLQ.
    const lostEnv = back.find(({ job, batch }) => typeof job.env_id === 'string' && !hasArchivedEnv(files.paths, batch, job.env_id));
    if (lostEnv !== undefined) {
      throw new QueuectlError(
        `cannot restart ${lostEnv.job.id}: the environment it ran in (${lostEnv.job.env_id}) was deleted when it left for the archive, as queuectl did before it kept a copy there; enqueue its command again`,
        'EFAIL',
      );
    }
    // Back from the archive, with its log (a restart keeps the log of the runs before); out of its batch once the queue holds it.
    for (const { job, batch } of back) {
      if (typeof job.env_id === 'string') takeBackEnv(files.paths, batch, job.env_id);
      takeBackLog(files.paths, batch, job.id);
    }
    for (const job of plan.restarted) request.noteRestarted(job, archived.has(job.id));
    const byBatch = new Map<string, Set<string>>();
    for (const { job, batch } of back) byBatch.set(batch, (byBatch.get(batch) ?? new Set()).add(job.id));
    for (const [batch, ids] of byBatch) tx.afterWrites(() => dropFromArchiveBatch(files.paths, batch, ids));
    tx.setQueue(plan.queue);
    if (plan.dlq.length !== dlq.length) tx.setDlq(plan.dlq);
    const ids = plan.restarted.map((job) => job.id);
    const inQueue = new Set([...plan.queue, ...plan.dlq].map((job) => job.id));
    // Retention may have moved dependents canceled long ago to the archive: restart finds them there too.
    const archivedDependents = findArchivedDependents(files.paths, ids).filter((job) => !inQueue.has(job.id));
    return { restarted: plan.restarted, stillCanceled: [...canceledDependents(plan.queue, ids), ...archivedDependents] };
  }, { create: false });
}

/** The newest archived copy of each of `ids` that is in neither the queue nor the DLQ. */
function archivedCopies(paths: DataPaths, listed: readonly Job[], ids: readonly string[]): Map<string, ArchivedJob> {
  const present = new Set(listed.map((job) => job.id));
  const missing = ids.filter((id) => !present.has(id));
  return missing.length === 0 ? new Map() : findArchivedJobs(paths, new Set(missing));
}
