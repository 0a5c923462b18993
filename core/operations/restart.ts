/**
 * `queuectl restart <id…>` and `queuectl dlq retry`: finished jobs back to pending, attempts
 * reset, in one step of the store; each one's log gets a line saying so. A job that runs after a
 * job still dead or canceled is refused (it would wait for ever): restart both together.
 */
import type { Host } from '../ports/host.js';
import type { Restarted, RestartSelection, Store } from '../ports/store.js';

export function restartJobs(store: Store, host: Host, selection: RestartSelection, now = new Date()): Promise<Restarted> {
  const how = 'restart' in selection ? 'restarted' : 'retried from the DLQ';
  return store.restart(selection, {
    now,
    noteRestarted: (job, fromArchive) =>
      host.logs.note(job.id, `--- queuectl: ${how} by user at ${job.updated_at}${fromArchive ? ' (back from the archive)' : ''}: attempts reset`),
  });
}
