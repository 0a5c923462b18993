/** Where the host-local files live inside a data directory (the file store's own are in file/paths.ts). */
import { join } from 'node:path';

export interface HostPaths {
  root: string;
  /** One log per job: `logs/<id>.log`. */
  logs: string;
  /** One file per running worker manager. */
  managers: string;
  /** What a detached manager prints (`worker start --detach`). */
  managerLog: string;
}

export function hostPaths(root: string): HostPaths {
  return { root, logs: join(root, 'logs'), managers: join(root, 'managers'), managerLog: join(root, 'manager.log') };
}
