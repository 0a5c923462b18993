/** The job logs of a data directory, `logs/<id>.log`, as the runtime writes and reads them (see job-logs.ts). */
import { existsSync } from 'node:fs';
import type { RunLogs } from '../../core/ports/host.js';
import { appendOwnLine, claimMark, closeRunLog, jobLogPath, logShowsRun, noteInLog, openRunLog, writeLogOut } from './job-logs.js';
import type { HostPaths } from './paths.js';

export class LocalRunLogs implements RunLogs {
  constructor(protected readonly paths: HostPaths) {}

  open(id: string, header: string): number {
    return openRunLog(this.paths, id, header);
  }

  close(fd: number): void {
    closeRunLog(fd);
  }

  claimMark(token: string): string {
    return claimMark(token);
  }

  showsRun(id: string, token: string): boolean {
    return logShowsRun(this.paths, id, token);
  }

  appendToRun(id: string, line: string): void {
    try {
      appendOwnLine(this.pathOf(id), line, false);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  note(id: string, line: string, archive?: string): void {
    if (archive === undefined) {
      noteInLog(this.paths, id, line);
      return;
    }
    try {
      appendOwnLine(this.pathOf(id, archive), line, false);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  pathOf(id: string, _archive?: string): string {
    return jobLogPath(this.paths, id);
  }

  fileOf(id: string, archive?: string): string | null {
    const path = this.pathOf(id, archive);
    return existsSync(path) ? path : null;
  }

  writeOut(id: string, write: (chunk: Buffer) => Promise<void>, options: { archive?: string; lines?: number } = {}): Promise<boolean> {
    return writeLogOut(this.pathOf(id, options.archive), write, options.lines);
  }
}
