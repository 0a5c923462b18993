/** `enqueue` in the file store: one transaction adds the batch at the end of the queue. */
import { assignIds, batchLabels, checkDependencies, outsideDependencies } from '../../core/rules/enqueue.js';
import type { PendingJob } from '../../core/rules/job.js';
import { newJob, type JobSpec } from '../../core/rules/job-spec.js';
import type { EnqueueRequest } from '../../core/ports/store.js';
import { removeJobLogs } from '../local/job-logs.js';
import { dependencyStates } from './dependency-states.js';
import type { JobFiles } from './job-files.js';

export function enqueueJobs(files: JobFiles, specs: readonly JobSpec[], request: EnqueueRequest): Promise<PendingJob[]> {
  const labels = batchLabels(specs.length, request.label);
  // A batch that runs after other jobs, where there is no data dir: none of them is there, and
  // that bad input makes no directory (a typo in --data-dir leaves none behind).
  if (outsideDependencies(specs).size > 0 && !files.dataDirExists()) checkDependencies(specs, () => undefined, labels);
  return files.transact((tx) => {
    const at = request.now ?? new Date();
    const config = tx.config();
    // Looked up by id: a queue of 100,000 jobs is not read whole to add one.
    const queue = tx.queueLookup();
    const dead = new Set(tx.dlq().map((job) => job.id));
    const ids = assignIds(specs, (id) => queue.has(id) || dead.has(id), labels);
    const named = outsideDependencies(specs);
    const inQueue = [...named].flatMap((id) => queue.get(id) ?? []);
    const states = dependencyStates(files.paths, [...inQueue, ...tx.dlq()], named);
    checkDependencies(specs, (id) => states.get(id), labels);
    // Only now, the batch accepted: bad input changes nothing on disk, not even envs/.
    const envId = request.env !== undefined && config.capture_env ? tx.saveEnv(request.env) : null;
    const added = specs.map((spec, index) => newJob(spec, ids[index]!, config, request.cwd, at, envId));
    removeJobLogs(files.paths, added.map((job) => job.id));
    tx.addToQueue(added);
    return added;
  });
}
