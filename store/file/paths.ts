/** Where the file store keeps each thing inside a data directory: only `store/` builds these paths. */
import { join } from 'node:path';
import { hostPaths, type HostPaths } from '../local/paths.js';

export interface DataPaths extends HostPaths {
  queue: string;
  /** The changes since queue.json was last written whole (see queue-log.ts). */
  journal: string;
  dlq: string;
  config: string;
  /** The proper-lockfile lock (a directory) that guards every data file. */
  lock: string;
  archive: string;
  /** Captured environments of enqueues, one file each. */
  envs: string;
  /** Ids of completed jobs that left queue.json, for `--after` (see completed-ids.ts). */
  completedIds: string;
}

export function dataPaths(root: string): DataPaths {
  return {
    ...hostPaths(root),
    queue: join(root, 'queue.json'),
    journal: join(root, 'queue.journal'),
    dlq: join(root, 'dlq.json'),
    config: join(root, 'config.json'),
    lock: join(root, '.lock'),
    archive: join(root, 'archive'),
    envs: join(root, 'envs'),
    completedIds: join(root, 'completed-ids'),
  };
}
