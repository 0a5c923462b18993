/** What became of jobs named as dependencies, wherever the file store keeps them. */
import type { FoundDependency } from '../../core/rules/dependencies.js';
import type { Job } from '../../core/rules/job.js';
import { findArchivedJobs } from './archive.js';
import { findCompletedIds } from './completed-ids.js';
import type { DataPaths } from './paths.js';

/**
 * The state of each job in `ids`, wherever it is: in `listed` (the queue and the DLQ), the
 * archive, or the record of completed jobs gone from both. Unknown ids are left out. The archive
 * is asked before the record: an id used again, canceled the second time, is canceled.
 */
export function dependencyStates(paths: DataPaths, listed: readonly Pick<Job, 'id' | 'state' | 'created_at'>[], ids: ReadonlySet<string>): Map<string, FoundDependency> {
  const states = new Map<string, FoundDependency>();
  if (ids.size === 0) return states;
  for (const job of listed) if (ids.has(job.id)) states.set(job.id, { state: job.state, created_at: job.created_at });
  const missing = () => new Set([...ids].filter((id) => !states.has(id)));
  for (const [id, { job }] of findArchivedJobs(paths, missing())) states.set(id, { state: job.state, created_at: job.created_at });
  for (const id of findCompletedIds(paths, missing())) states.set(id, { state: 'completed', created_at: null });
  return states;
}
