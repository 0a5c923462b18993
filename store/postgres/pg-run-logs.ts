/**
 * Job logs on a store that many hosts share: a run's output goes to this host's log file as it
 * comes (so `logs -f` here follows it), and when the run ends, its part of the file (at most
 * RUN_LOG_LIMIT bytes: the tail) goes to the database, with queuectl's own lines, so that `logs`
 * shows every run of the job from any host.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { LocalRunLogs } from '../local/run-logs.js';
import type { HostPaths } from '../local/paths.js';
import type { PgStore } from './pg-store.js';

/** How much of one run's output the database keeps: its last bytes. */
export const RUN_LOG_LIMIT = 1024 * 1024;

export class PgRunLogs extends LocalRunLogs {
  /** Where in this host's log file each job's current run began. */
  private readonly runStarts = new Map<string, number>();
  /** Uploads in order, one after the other. */
  private uploading: Promise<void> = Promise.resolve();

  constructor(
    paths: HostPaths,
    private readonly store: PgStore,
    private readonly host: string,
  ) {
    super(paths);
  }

  override open(id: string, header: string): number {
    let start = 0;
    try {
      start = statSync(this.pathOf(id)).size;
    } catch {
      // a first run: the file begins with it
    }
    const fd = super.open(id, header);
    this.runStarts.set(id, start);
    return fd;
  }

  override appendToRun(id: string, line: string): void {
    super.appendToRun(id, line);
    const start = this.runStarts.get(id);
    this.runStarts.delete(id);
    // The end of a run started here: its whole part of the file. Else (a lost run noted by the manager): the line.
    this.upload(id, start === undefined ? `${line}\n` : this.runText(id, start));
  }

  override note(id: string, line: string): void {
    super.note(id, line);
    this.upload(id, `${line}\n`);
  }

  /** The log as the database holds it, every host's runs; this host's file where the database has none. */
  override async read(id: string, options: { archive?: string; lines?: number } = {}): Promise<string | undefined> {
    const { lines } = options;
    const text = (await this.store.readLog(id)) ?? (await super.read(id));
    if (text === undefined || lines === undefined) return text;
    const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    return lines <= 0 ? '' : `${all.slice(-lines).join('\n')}\n`;
  }

  /** Resolves once every upload begun so far has ended (for a worker about to exit). */
  flushed(): Promise<void> {
    return this.uploading;
  }

  private upload(id: string, text: string): void {
    if (text === '') return;
    this.uploading = this.uploading.then(() => this.store.appendLog(id, this.host, text)).catch(() => undefined); // this host's file keeps it
  }

  /** This host's log of the job from `start` on, at most RUN_LOG_LIMIT bytes: the last ones, after a line saying what was cut. */
  private runText(id: string, start: number): string {
    let fd: number;
    try {
      fd = openSync(this.pathOf(id), 'r');
    } catch {
      return '';
    }
    try {
      const size = fstatSync(fd).size;
      const from = Math.max(start, size - RUN_LOG_LIMIT);
      const buffer = Buffer.alloc(size - from);
      readSync(fd, buffer, 0, buffer.length, from);
      const cut = from - start;
      return `${cut > 0 ? `--- queuectl: ${cut} bytes of this run's output cut (the database keeps the last ${RUN_LOG_LIMIT})\n` : ''}${buffer.toString('utf8')}`;
    } finally {
      closeSync(fd);
    }
  }
}
