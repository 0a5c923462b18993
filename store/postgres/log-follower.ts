/**
 * `logs -f` on a store many hosts share: the job's log as the database has it, each run a row
 * that grows while the run goes on (see pg-run-logs.ts), written out as it grows. A row past
 * `log_limit` is rewritten with its first bytes cut: what this follower had not shown yet of
 * those is said in one line, and it goes on from the bytes kept.
 */
import type { LogStream } from '../../core/ports/host.js';
import { RUN_END } from '../../core/rules/run-log.js';

/** One row of a job's log: a run of one host (or a line of queuectl's own), in the order they began. */
export interface LogRow {
  seq: number;
  /** The run's key; `note-…` for a line of queuectl's own, empty for a row written before runs had keys. */
  run: string;
  /** Bytes of the run's output cut from the row's beginning (after its header line). */
  cut: number;
  text: string;
}

/** The line that stands for `cut` bytes of a run's output left out. */
export function cutLine(cut: number, why: string): string {
  return `--- queuectl: ${cut} bytes of this run's output cut (${why})\n`;
}


/** How much of a row this follower wrote out. */
interface Shown {
  header: boolean;
  /** Of a run: bytes of its output, counted from the output's start. Of a line: bytes of the row. */
  upTo: number;
}

export class LogFollower implements LogStream {
  private readonly shown = new Map<number, Shown>();
  private rows: LogRow[] = [];
  private started = false;

  constructor(
    private readonly read: (id: string) => Promise<LogRow[]>,
    private readonly id: string,
    /** Start with the last lines of the log, not its beginning. */
    private readonly tailLines?: number,
  ) {}

  async copy(write: (chunk: Buffer) => Promise<void>, last = false): Promise<void> {
    this.rows = await this.read(this.id);
    if (!this.started && this.tailLines !== undefined) {
      this.started = true;
      const tail = lastLines(this.rows.map((row) => row.text).join(''), this.tailLines);
      for (const row of this.rows) this.shown.set(row.seq, { header: true, upTo: shownWhole(row) });
      if (tail !== '') await write(Buffer.from(tail));
      return;
    }
    this.started = true;
    // A line of queuectl's own that came while a run before it goes on (a cancel of that run) is
    // held until the run has its end line, as `logs` shows it: after the run. The last copy
    // writes out all (a run whose host died never gets its end line).
    let runGoesOn = false;
    for (const row of this.rows) {
      if (!isRun(row) && runGoesOn && !last) continue;
      const part = this.newPart(row);
      if (part.length > 0) await write(part);
      if (isRun(row) && !hasEnded(row)) runGoesOn = true;
    }
  }

  /** Whether every run in the log so far has its end line (asked once the job finished: the last upload may lag). */
  complete(): boolean {
    return this.rows.every((row) => !isRun(row) || hasEnded(row));
  }

  private newPart(row: LogRow): Buffer {
    const shown = this.shown.get(row.seq) ?? { header: false, upTo: 0 };
    this.shown.set(row.seq, shown);
    if (!isRun(row)) {
      const bytes = Buffer.from(row.text);
      const part = bytes.subarray(shown.upTo);
      shown.upTo = bytes.length;
      return part;
    }
    const { header, keptFrom, kept } = layout(row);
    const parts: Buffer[] = [];
    if (!shown.header) parts.push(header);
    shown.header = true;
    if (shown.upTo < keptFrom) {
      parts.push(Buffer.from(cutLine(keptFrom - shown.upTo, 'log_limit')));
      shown.upTo = keptFrom;
    }
    parts.push(kept.subarray(shown.upTo - keptFrom));
    shown.upTo = keptFrom + kept.length;
    return Buffer.concat(parts);
  }
}

/** How far a row is shown once all of it is. */
function shownWhole(row: LogRow): number {
  if (!isRun(row)) return Buffer.byteLength(row.text);
  const { keptFrom, kept } = layout(row);
  return keptFrom + kept.length;
}

function hasEnded(row: LogRow): boolean {
  return RUN_END.test(row.text.slice(row.text.indexOf('\n') + 1));
}

function isRun(row: LogRow): boolean {
  return row.run !== '' && !row.run.startsWith('note-');
}

/** A run's row: its header line, and the bytes of its output it keeps, from `keptFrom` on (after the cut line, if cut). */
function layout(row: LogRow): { header: Buffer; keptFrom: number; kept: Buffer } {
  const bytes = Buffer.from(row.text);
  const headerEnd = bytes.indexOf(10) + 1;
  let body = headerEnd;
  if (row.cut > 0) {
    const noteEnd = bytes.indexOf(10, headerEnd);
    body = noteEnd === -1 ? bytes.length : noteEnd + 1;
  }
  return { header: bytes.subarray(0, headerEnd), keptFrom: row.cut, kept: bytes.subarray(body) };
}

/** The last `lines` lines of a log's text, each with its line end. */
export function lastLines(text: string, lines: number): string {
  if (text === '' || lines <= 0) return '';
  const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return `${all.slice(-lines).join('\n')}\n`;
}
