/**
 * Rows of the logs table (see schema.ts): one per run of a job on a host, made by its first
 * piece, each later piece appended to it. What goes in a row, from a log's bytes; the statements
 * that write it are in log-statements.ts. A worker uses this and not those: it loads no
 * node-postgres (see PgRunLogs).
 */
import { cutLine } from './log-follower.js';

/** The bytes of a log from `from` to `to` (fewer at its end). */
export type ReadBytes = (from: number, to: number) => Buffer;

/**
 * Output as the database's text column takes it: UTF-8, with what is not UTF-8 as U+FFFD, and a
 * NUL byte (which the column refuses: the upload failed, and every later one of the run with it)
 * as U+FFFD too. This host's file keeps the bytes as they were.
 */
export function databaseText(bytes: Buffer): string {
  return bytes.toString('utf8').replaceAll('\0', '\uFFFD');
}

/** A run's header line (which run, when, where), from `start`, with its line end; empty if it has none before `to`. */
export function headerOf(read: ReadBytes, start: number, to: number): Buffer {
  const head = read(start, Math.min(to, start + 8192));
  const newline = head.indexOf(10);
  return newline === -1 ? Buffer.alloc(0) : head.subarray(0, newline + 1);
}

/**
 * The row of a run (its header at `start`) whose output up to `to` is more than `keep` bytes: the
 * header, a line saying how many bytes were cut and why, and the last `keep` bytes from the
 * first whole line among them.
 */
export function cutRow(read: ReadBytes, start: number, header: Buffer, to: number, keep: number, why: string): { text: string; cut: number } {
  const tail = read(to - keep, to);
  const newline = tail.indexOf(10);
  const skip = newline !== -1 && newline < tail.length - 1 ? newline + 1 : 0;
  const cut = to - keep + skip - (start + header.length);
  return { text: `${databaseText(header)}${cutLine(cut, why)}${databaseText(tail.subarray(skip))}`, cut };
}

/**
 * The row of a run (its header at `start`) with its output up to `to`: whole while that is at
 * most `keep` bytes, else cut (cutRow).
 */
export function runRow(read: ReadBytes, start: number, header: Buffer, to: number, keep: number, why: string): { text: string; cut: number } {
  if (to - (start + header.length) <= keep) return { text: databaseText(read(start, to)), cut: 0 };
  return cutRow(read, start, header, to, keep, why);
}

/** How a run's header line begins in a log file (see Worker.start); its end line begins alike but does not say `started`. */
const RUN_HEADER_LINE = /^--- queuectl: run \d+ of \d+ started /;
const LINE_OF_RUN = Buffer.from('\n--- queuectl: run ');
/** How much of a log is looked through at a time for the runs' header lines. */
const SCAN_CHUNK = 1 << 20;

/** Where each run's header line starts in a log of `size` bytes that holds every run under its header (a log file). */
function runStarts(read: ReadBytes, size: number): number[] {
  const isHeader = (at: number) => RUN_HEADER_LINE.test(read(at, Math.min(size, at + 64)).toString('latin1'));
  const starts = size > 0 && isHeader(0) ? [0] : [];
  for (let from = 0; from < size; from += SCAN_CHUNK) {
    // Overlapping the next piece by a match less a byte: one across the border is found here, and only here.
    const chunk = read(from, Math.min(size, from + SCAN_CHUNK + LINE_OF_RUN.length - 1));
    for (let at = chunk.indexOf(LINE_OF_RUN); at !== -1 && at < SCAN_CHUNK; at = chunk.indexOf(LINE_OF_RUN, at + 1)) {
      if (isHeader(from + at + 1)) starts.push(from + at + 1);
    }
  }
  return starts;
}

/**
 * A job's log file (every run under its header line, as a host writes it) as the database keeps
 * runs: each one's header and at most `limit` bytes of its output (0: all of it), cut as a run's
 * row is (cutRow), what comes before the first run likewise. `bytes`: how much of the file that
 * keeps, known before anything but the headers is read; `text()` reads only that.
 */
export function keptLog(read: ReadBytes, size: number, limit: number, why: string): { bytes: number; text(): string } {
  const starts = runStarts(read, size);
  const runs = new Set(starts);
  const spans = (starts[0] === 0 ? starts : [0, ...starts]).map((start, i, all) => {
    const end = all[i + 1] ?? size;
    const header = runs.has(start) ? headerOf(read, start, end) : Buffer.alloc(0);
    return { start, end, header };
  });
  const keep = limit === 0 ? Infinity : limit;
  return {
    bytes: spans.reduce((sum, { start, end, header }) => sum + Math.min(end - start, header.length + keep), 0),
    text: () => spans.map(({ start, end, header }) => runRow(read, start, header, end, keep, why).text).join(''),
  };
}
