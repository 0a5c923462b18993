/** Where everything lives inside a data directory. Nothing outside `store/` builds these paths. */
import { join } from 'node:path';

export interface DataPaths {
  root: string;
  queue: string;
  dlq: string;
  config: string;
  /** The proper-lockfile lock (a directory) that guards every data file. */
  lock: string;
  logs: string;
  archive: string;
  /** One file per running worker manager. */
  managers: string;
  /** Captured environments of enqueues, one file each. */
  envs: string;
  /** Ids of completed jobs that left queue.json, for `--after` (see completed-ids.ts). */
  completedIds: string;
}

export function dataPaths(root: string): DataPaths {
  return {
    root,
    queue: join(root, 'queue.json'),
    dlq: join(root, 'dlq.json'),
    config: join(root, 'config.json'),
    lock: join(root, '.lock'),
    logs: join(root, 'logs'),
    archive: join(root, 'archive'),
    managers: join(root, 'managers'),
    envs: join(root, 'envs'),
    completedIds: join(root, 'completed-ids'),
  };
}
