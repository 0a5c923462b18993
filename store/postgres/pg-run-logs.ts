/**
 * Job logs on a store that many hosts share: a run's output goes to this host's log file as it
 * comes (so `logs -f` here follows it), and when the run ends, its part of the file (at most
 * `log_limit` bytes: the tail) goes to the database, with queuectl's own lines, so that `logs`
 * shows every run of the job from any host.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { DEFAULT_CONFIG } from '../../core/rules/config.js';
import { LocalRunLogs } from '../local/run-logs.js';
import type { HostPaths } from '../local/paths.js';
import type { PgStore } from './pg-store.js';

/** How long the `log_limit` read last holds before it is read again (a change applies within this). */
const LIMIT_FRESH_MS = 10_000;
/** A run's header line is looked for in this many bytes at its start. */
const HEADER_MAX = 8192;

export class PgRunLogs extends LocalRunLogs {
  /** Where in this host's log file each job's current run began. */
  private readonly runStarts = new Map<string, number>();
  /** Uploads in order, one after the other. */
  private uploading: Promise<void> = Promise.resolve();
  private limit: { bytes: number; readAt: number } | undefined;

  constructor(
    paths: HostPaths,
    private readonly store: PgStore,
    private readonly host: string,
  ) {
    super(paths);
  }

  override open(id: string, header: string): number {
    const start = this.sizeOf(id);
    const fd = super.open(id, header);
    this.runStarts.set(id, start);
    return fd;
  }

  /** The size of this host's log of the job; 0 when there is none yet. */
  private sizeOf(id: string): number {
    try {
      return statSync(this.pathOf(id)).size;
    } catch {
      return 0;
    }
  }

  override appendToRun(id: string, line: string): void {
    super.appendToRun(id, line);
    const start = this.runStarts.get(id);
    this.runStarts.delete(id);
    // The end of a run started here: its whole part of the file. Else (a lost run noted by the manager): the line.
    if (start === undefined) {
      this.upload(id, async () => `${line}\n`);
      return;
    }
    // Where the run's part ends is taken now: by the time its upload's turn comes, a next run of the job may have begun after it.
    const end = this.sizeOf(id);
    this.upload(id, async () => this.runText(id, start, end, await this.limitBytes()));
  }

  override note(id: string, line: string): void {
    super.note(id, line);
    this.upload(id, async () => `${line}\n`);
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

  /** Sends what `text` gives, after the uploads begun before it. The text is taken when its turn comes: the file has what the run wrote by then. */
  private upload(id: string, text: () => Promise<string>): void {
    this.uploading = this.uploading
      .then(async () => {
        const part = await text();
        if (part !== '') await this.store.appendLog(id, this.host, part);
      })
      .catch(() => undefined); // this host's file keeps it
  }

  /** The `log_limit` setting, read again when the last read is LIMIT_FRESH_MS old; the default when the database cannot say. */
  private async limitBytes(): Promise<number> {
    const now = Date.now();
    if (this.limit === undefined || now - this.limit.readAt >= LIMIT_FRESH_MS) {
      const bytes = await this.store.config().then(
        (config) => config.log_limit,
        () => this.limit?.bytes ?? DEFAULT_CONFIG.log_limit,
      );
      this.limit = { bytes, readAt: now };
    }
    return this.limit.bytes;
  }

  /**
   * This host's log of the job from `start` to `end`: the run's header line (which run, when,
   * where), then at most `limit` bytes (0: all), the last ones from a line's start, after a line
   * saying what was cut.
   */
  private runText(id: string, start: number, end: number, limit: number): string {
    let fd: number;
    try {
      fd = openSync(this.pathOf(id), 'r');
    } catch {
      return '';
    }
    try {
      const read = (from: number, to: number) => {
        const buffer = Buffer.alloc(Math.max(0, to - from));
        const got = readSync(fd, buffer, 0, buffer.length, from);
        return buffer.subarray(0, got);
      };
      const size = Math.min(end, fstatSync(fd).size);
      const head = read(start, Math.min(size, start + HEADER_MAX));
      const newline = head.indexOf(10);
      const header = newline === -1 ? Buffer.alloc(0) : head.subarray(0, newline + 1);
      const body = start + header.length;
      let from = limit === 0 ? body : Math.max(body, size - limit);
      if (from > body) {
        // From the first whole line of the tail, when it has one.
        const tail = read(from, size);
        const newline = tail.indexOf(10);
        if (newline !== -1 && newline < tail.length - 1) from += newline + 1;
      }
      const cut = from - body;
      const note = cut > 0 ? `--- queuectl: ${cut} bytes of this run's output cut (log_limit: the database keeps the last ${limit} bytes of each run; the log file on ${this.host} has all of it)\n` : '';
      return `${header.toString('utf8')}${note}${read(from, size).toString('utf8')}`;
    } finally {
      closeSync(fd);
    }
  }
}
