/**
 * `queuectl store copy`: the queue of one store into another, all or nothing, the source left
 * as it was. Every check comes before the one write: the source is read (and refused while its
 * jobs could run there), the target reached and looked in for the ids, and only then is the
 * dump loaded, in one step of the target that checks the ids again (another enqueue may have
 * taken one meanwhile).
 */
import type { ManagerRegistry } from '../ports/host.js';
import type { QueueCopy } from '../ports/queue-copy.js';
import { QueuectlError } from '../rules/errors.js';
import { dumpIds, refuseRunning, refuseTaken, summarize, type CopySummary } from '../rules/copy.js';

export interface CopyEnd {
  copy: QueueCopy;
  /** The worker managers running on it. */
  managers: ManagerRegistry;
}

export async function copyQueue(from: CopyEnd, to: QueueCopy): Promise<CopySummary> {
  if (!(await from.copy.exists())) {
    throw new QueuectlError(`there is no queue at ${from.copy.location} to copy (nothing of queuectl's is there)`, 'EINPUT');
  }
  const dump = await from.copy.dump();
  refuseRunning(dump, (await from.managers.live()).length, from.copy.location);
  refuseTaken(await to.taken(dumpIds(dump)), to.location);
  await to.load(dump);
  return summarize(dump, from.copy.location, to.location);
}
