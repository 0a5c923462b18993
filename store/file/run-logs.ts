/** The job logs of the file store's data directory, which retention moves to the archive with their jobs. */
import { LocalRunLogs } from '../local/run-logs.js';
import { findLogPath } from './archive.js';
import type { DataPaths } from './paths.js';

export class FileRunLogs extends LocalRunLogs {
  constructor(private readonly dataPaths: DataPaths) {
    super(dataPaths);
  }

  override pathOf(id: string, archive?: string): string {
    return findLogPath(this.dataPaths, id, archive);
  }
}
