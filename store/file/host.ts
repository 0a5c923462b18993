/**
 * The host of the file store's data directory: its run logs follow their jobs to the archive, and
 * the managers rotate their log under the data dir's lock, as every writer of it does.
 */
import { LocalHost } from '../local/host.js';
import { dataPaths, type DataPaths } from './paths.js';
import { FileRunLogs } from './run-logs.js';

export class FileHost extends LocalHost {
  private readonly paths: DataPaths;

  constructor(root: string) {
    const paths = dataPaths(root);
    super(root, { logs: () => new FileRunLogs(paths) });
    this.paths = paths;
  }

  protected override rotationLock(): string {
    return this.paths.lock;
  }
}
