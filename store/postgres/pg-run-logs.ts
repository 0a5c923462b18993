/**
 * Job logs on a store that many hosts share. A run's output goes to this host's log file as it
 * comes, and from there to the database: whole lines about once a second while the run goes
 * on, the rest when it ends, so that `logs` and `logs -f` show every run of the job from any
 * host. Each run is a row of its own. The database keeps each run's header line and at most
 * `log_limit` bytes of its output: past that, the row is rewritten as the header, a line saying
 * how many bytes were cut, and the last bytes from a line's start (this host's file keeps all).
 * The end of a short run goes with its outcome rather than on its own (see endRun).
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { DEFAULT_CONFIG } from '../../core/rules/config.js';
import type { LogPiece, LogStream } from '../../core/ports/host.js';
import { LocalRunLogs } from '../local/run-logs.js';
import type { HostPaths } from '../local/paths.js';
import { lastLines, LogFollower } from './log-follower.js';
import { cutRow, databaseText, headerOf, runRow, type ReadBytes } from './log-rows.js';
import type { PgStore } from './pg-store.js';

/** How long the `log_limit` read last holds before it is read again (a change applies within this). */
const LIMIT_FRESH_MS = 10_000;
/** How often the output of running jobs goes to the database. */
const UPLOAD_EVERY_MS = 1_000;
/** Output without a line end is sent as it is once this much of it waits (a progress bar, a binary). */
const PARTIAL_LINE_MAX = 64 * 1024;
/** The most of a lost run (its worker died) that its manager reads from the file to send: the last bytes, past it. */
const LOST_RUN_MAX = 16 * 1024 * 1024;
/** How a run's header line begins (see Worker.start), and how far back from its claim mark its start is looked for. */
const RUN_HEADER = '--- queuectl: run ';
const HEADER_MAX = 8192;
/** How much of a log is read at a time when looking for a run's header from the end. */
const SEARCH_CHUNK = 64 * 1024;
/**
 * The most of a run's end that goes with its outcome (see endRun): the manager's dispatch cycle
 * carries it, for every run it records at once, and a larger one would slow the claims it makes.
 */
const PIECE_MAX = 64 * 1024;

/** A run going on here: where its part of the log file began, its row, and how far the database has it. */
interface OpenRun {
  start: number;
  key: string;
  /** The offset in the file up to which the database has the run. */
  sent: number;
  /** An upload of it is on its way. */
  busy: boolean;
  /** The `log_limit` it was claimed under, when its worker was told (else it is read from the database). */
  limit: number | undefined;
}

/** What the logs need of the store: its log rows, and its settings. */
export type LogDatabase = Pick<PgStore, 'appendLog' | 'replaceLog' | 'replaceRunLog' | 'readLog' | 'logRows' | 'config'>;

export class PgRunLogs extends LocalRunLogs {
  private readonly runs = new Map<string, OpenRun>();
  /** Uploads in order, one after the other. */
  private uploading: Promise<void> = Promise.resolve();
  private limit: { bytes: number; readAt: number } | undefined;
  private ticker: NodeJS.Timeout | undefined;

  /** How to reach the database; and the database, once reached. */
  private readonly reach: () => Promise<LogDatabase>;
  private database: Promise<LogDatabase> | undefined;

  /**
   * `database`: the store, or how to reach it when first needed. A worker passes the latter: its
   * short runs' ends go with their outcomes through its manager, so such a worker never loads
   * node-postgres or opens a connection (a quarter of a worker's start: 110 ms of CPU, not 150).
   */
  constructor(
    paths: HostPaths,
    database: LogDatabase | (() => Promise<LogDatabase>),
    private readonly host: string,
  ) {
    super(paths);
    this.reach = typeof database === 'function' ? database : async () => database;
  }

  /** The database, reached on first use; a reach that failed is tried again by the next use. */
  private db(): Promise<LogDatabase> {
    if (this.database === undefined) {
      const reaching = this.reach();
      this.database = reaching;
      reaching.catch(() => {
        if (this.database === reaching) this.database = undefined;
      });
    }
    return this.database;
  }

  override open(id: string, header: string, logLimit?: number): number {
    const start = this.sizeOf(id);
    const fd = super.open(id, header);
    this.runs.set(id, { start, key: randomUUID(), sent: start, busy: false, limit: logLimit });
    this.ticker ??= setInterval(() => this.tick(), UPLOAD_EVERY_MS).unref();
    return fd;
  }

  override appendToRun(id: string, line: string, lostRun?: string): void {
    super.appendToRun(id, line);
    const run = this.ended(id);
    if (run === undefined) {
      // Not a run of this process: one whose worker died (its manager says so), or a line alone.
      if (lostRun !== undefined) this.upload(() => this.syncLost(id, lostRun, line));
      else this.uploadLine(id, line);
      return;
    }
    // Where the run's part ends is taken now: by the time its upload's turn comes, a next run of the job may have begun after it.
    const end = this.sizeOf(id);
    this.upload(() => this.sync(id, run, end, true));
  }

  /**
   * A worker's end of a run: as appendToRun, but the run's last piece (from where the database
   * has the run to its end line) is returned rather than uploaded, to go with the run's outcome,
   * which the manager's cycle writes with it in one transaction: one write a run less. It is
   * taken in its turn among the uploads, once those begun before it (the run's own among them)
   * have ended, so that it appends to the run's row after them. It is uploaded as before
   * instead, and this resolves once that is done, when it is larger than PIECE_MAX, when the
   * run's output passed `log_limit` (its row is rewritten), and when `waitMs` ran out before its
   * turn came. A manager that dies before it records the outcome never writes the piece: as when
   * an upload fails, this host's file has the run whole.
   */
  async endRun(id: string, line: string, waitMs: number): Promise<LogPiece | undefined> {
    super.appendToRun(id, line);
    const run = this.ended(id);
    let piece: LogPiece | undefined;
    /** The caller stopped waiting: a piece not taken by then is uploaded. */
    let waited = false;
    if (run === undefined) {
      this.uploadLine(id, line);
    } else {
      const end = this.sizeOf(id);
      this.upload(async () => {
        const limit = run.limit ?? (await this.limitBytes());
        piece = waited ? undefined : this.pieceOf(id, run, end, limit);
        if (piece === undefined) await this.sync(id, run, end, true);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.uploading, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    waited = true;
    return piece;
  }

  /**
   * A line of queuectl's own about the job (`cancel`, `restart`), to the database only. In this
   * host's file it would be part of a run that goes on here (a cancel of a running job), and the
   * run's upload would bring it to the database a second time; on another host it would be in a
   * file no one reads.
   */
  override note(id: string, line: string): void {
    this.uploadLine(id, line);
  }

  /** The log as the database holds it, every host's runs; this host's file where the database has none. */
  override async writeOut(id: string, write: (chunk: Buffer) => Promise<void>, options: { archive?: string; lines?: number } = {}): Promise<boolean> {
    const { lines } = options;
    const text = await (await this.db()).readLog(id);
    if (text === undefined) return super.writeOut(id, write, lines === undefined ? {} : { lines });
    const shown = lines === undefined ? text : lastLines(text, lines);
    if (shown !== '') await write(Buffer.from(shown));
    return true;
  }

  /** `logs -f`: the job's log as the database gets it, from any host's runs. */
  stream(id: string, tailLines?: number): LogStream {
    return new LogFollower(async (jobId) => (await this.db()).logRows(jobId), id, tailLines);
  }

  /** Resolves once every upload begun so far has ended. */
  uploaded(): Promise<void> {
    return this.uploading;
  }

  /** Resolves once every upload begun so far has ended, and sends no more on its own (for a worker about to exit). */
  flushed(): Promise<void> {
    this.stopTicker();
    return this.uploading;
  }

  /** The run of job `id` going on here, which ends now: no upload of it on its own from now on. */
  private ended(id: string): OpenRun | undefined {
    const run = this.runs.get(id);
    this.runs.delete(id);
    if (this.runs.size === 0) this.stopTicker();
    return run;
  }

  /** Uploads a line of queuectl's own that is not part of a run going on here, as a row of its own. */
  private uploadLine(id: string, line: string): void {
    this.upload(() => this.sendLine(id, line));
  }

  private async sendLine(id: string, line: string): Promise<void> {
    await (await this.db()).appendLog(id, this.host, `note-${randomUUID()}`, `${line}\n`);
  }

  /**
   * The run of claim `token`, whose worker died, from this host's file to the database: from its
   * header (which names the claim) to the end, which is `line`, the lost line just appended. It
   * replaces what the worker had sent of it (the row that begins with that header), else it is a
   * row of its own. A run that is not in this file (it ran on another host): `line` alone.
   */
  private async syncLost(id: string, token: string, line: string): Promise<void> {
    const file = this.openFile(id);
    if (file === null) return this.sendLine(id, line);
    try {
      const start = runStart(file, this.claimMark(token));
      if (start === -1) return await this.sendLine(id, line);
      const end = fstatSync(file).size;
      const header = headerOf(reader(file), start, end);
      const limit = await this.limitBytes();
      const keep = limit === 0 ? LOST_RUN_MAX : Math.min(limit, LOST_RUN_MAX);
      const why = keep === limit ? this.limitNote(limit) : `the database takes the last ${keep} bytes of a run whose worker died; the log file on ${this.host} has all of it`;
      const row = runRow(reader(file), start, header, end, keep, why);
      await (await this.db()).replaceRunLog(id, this.host, databaseText(header), `lost-${token}`, row.text, row.cut);
    } finally {
      closeSync(file);
    }
  }

  /** The line that says a run's row was cut to `log_limit`. */
  private limitNote(limit: number): string {
    return `log_limit: the database keeps the last ${limit} bytes of each run; the log file on ${this.host} has all of it`;
  }

  /** The run's part of the file from where the database has it to `end`, to go with its outcome; undefined where it must be uploaded (see endRun). */
  private pieceOf(id: string, run: OpenRun, end: number, limit: number): LogPiece | undefined {
    if (end <= run.sent || end - run.sent > PIECE_MAX) return undefined;
    const file = this.openFile(id);
    if (file === null) return undefined;
    try {
      const header = headerOf(reader(file), run.start, end);
      if (limit !== 0 && end - (run.start + header.length) > limit) return undefined;
      const bytes = readAt(file, run.sent, end);
      if (bytes.length < end - run.sent) return undefined;
      return { id, host: this.host, run: run.key, text: databaseText(bytes) };
    } catch {
      return undefined; // the upload tries, as before
    } finally {
      closeSync(file);
    }
  }

  private stopTicker(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Sends what the runs going on here wrote since their last upload. */
  private tick(): void {
    for (const [id, run] of this.runs) {
      if (run.busy || this.sizeOf(id) <= run.sent) continue;
      run.busy = true;
      this.upload(async () => {
        try {
          await this.sync(id, run, this.sizeOf(id), false);
        } finally {
          run.busy = false;
        }
      });
    }
  }

  /** Runs `send` after the uploads begun before it; a failed one is left to this host's file. */
  private upload(send: () => Promise<void>): void {
    this.uploading = this.uploading.then(send).catch(() => undefined);
  }

  /**
   * Brings the run's row up to `end` of the file: what is new, appended, while the run's output
   * is within `log_limit`; past it, the row rewritten. Before the run's end, only whole lines.
   */
  private async sync(id: string, run: OpenRun, end: number, final: boolean): Promise<void> {
    const limit = run.limit ?? (await this.limitBytes());
    const file = this.openFile(id);
    if (file === null) return;
    try {
      let to = end;
      if (!final) {
        const fresh = readAt(file, run.sent, end);
        const lineEnd = fresh.lastIndexOf(10);
        if (lineEnd === -1 && fresh.length < PARTIAL_LINE_MAX) return;
        if (lineEnd !== -1) to = run.sent + lineEnd + 1;
      }
      const header = headerOf(reader(file), run.start, to);
      const output = to - (run.start + header.length);
      if (limit === 0 || output <= limit) {
        if (to > run.sent) await (await this.db()).appendLog(id, this.host, run.key, databaseText(readAt(file, run.sent, to)));
      } else {
        const { text, cut } = cutRow(reader(file), run.start, header, to, limit, this.limitNote(limit));
        await (await this.db()).replaceLog(id, this.host, run.key, text, cut);
      }
      run.sent = to;
    } finally {
      closeSync(file);
    }
  }

  /**
   * The `log_limit` setting for a run whose worker was not told it: read again when the last
   * read is LIMIT_FRESH_MS old; the default when the database cannot say.
   */
  private async limitBytes(): Promise<number> {
    const now = Date.now();
    if (this.limit === undefined || now - this.limit.readAt >= LIMIT_FRESH_MS) {
      const bytes = await this.db()
        .then((db) => db.config())
        .then(
        (config) => config.log_limit,
        () => this.limit?.bytes ?? DEFAULT_CONFIG.log_limit,
      );
      this.limit = { bytes, readAt: now };
    }
    return this.limit.bytes;
  }

  /** The size of this host's log of the job; 0 when there is none yet. */
  private sizeOf(id: string): number {
    try {
      return statSync(this.pathOf(id)).size;
    } catch {
      return 0;
    }
  }

  private openFile(id: string): number | null {
    try {
      return openSync(this.pathOf(id), 'r');
    } catch {
      return null;
    }
  }
}

/**
 * Where the header line of the run that `mark` (its claim) names starts in the file, or -1: the
 * last line that begins as a run's header and holds the mark, looked for from the end back.
 */
function runStart(fd: number, mark: string): number {
  const needle = Buffer.from(mark);
  let end = fstatSync(fd).size;
  while (end > 0) {
    const from = Math.max(0, end - SEARCH_CHUNK);
    const at = readAt(fd, from, end).lastIndexOf(needle);
    if (at === -1) {
      if (from === 0) return -1;
      end = from + needle.length - 1; // a mark across the chunks' border is found in the next
      continue;
    }
    const position = from + at;
    const before = readAt(fd, Math.max(0, position - HEADER_MAX), position);
    const lineStart = position - before.length + before.lastIndexOf(10) + 1;
    if (readAt(fd, lineStart, lineStart + RUN_HEADER.length).toString('utf8') === RUN_HEADER) return lineStart;
    end = position + needle.length - 1; // the mark in a run's output: look before it
  }
  return -1;
}

/** The bytes of the file from `from` to `to`. */
function readAt(fd: number, from: number, to: number): Buffer {
  const buffer = Buffer.alloc(Math.max(0, to - from));
  const read = readSync(fd, buffer, 0, buffer.length, from);
  return buffer.subarray(0, read);
}

/** Reads the file `fd` from a byte to another, as log-rows.ts takes a log. */
function reader(fd: number): ReadBytes {
  return (from, to) => readAt(fd, from, to);
}
