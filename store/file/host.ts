/** What the file store's data directory holds besides jobs: the run logs (which follow jobs to the archive) and the manager registry. */
import type { DataDirLoss, Host } from '../../core/ports/host.js';
import { watchDataDir } from '../local/data-dir-watch.js';
import { needsRotation, rotateManagerLog } from '../local/manager-log.js';
import { ManagerFiles } from '../local/manager-registry.js';
import { withLock } from './lock.js';
import { dataPaths, type DataPaths } from './paths.js';
import { FileRunLogs } from './run-logs.js';

export class FileHost implements Host {
  readonly root: string;
  readonly logs: FileRunLogs;
  readonly managers: ManagerFiles;
  readonly managerLog: string;
  private readonly paths: DataPaths;

  constructor(root: string) {
    const paths = dataPaths(root);
    this.paths = paths;
    this.root = root;
    this.managerLog = paths.managerLog;
    this.logs = new FileRunLogs(paths);
    this.managers = new ManagerFiles(paths.managers);
  }

  async rotateManagerLog(path: string): Promise<boolean> {
    if (!needsRotation(path)) return false;
    // Under the data dir's lock: every detached manager of it shares the one log.
    return withLock(this.root, this.paths.lock, () => rotateManagerLog(path));
  }

  watchLoss(pid: number, onLost: (what: DataDirLoss) => void): () => void {
    const watch = watchDataDir(this.root, this.managers.recordPath(pid), onLost);
    return () => watch.stop();
  }
}
