/** Printing: tables for people on a terminal, exactly one JSON document with `--json`. */
import { styleText } from 'node:util';
import { inFieldOrder, oneLine, type Job } from '../core/rules/job.js';

let keepRunning = false;

/** For a worker manager: a closed stdout (its log piped into `head`) must not end it. */
export function keepRunningWithoutOutput(): void {
  keepRunning = true;
}

export function keepsRunningWithoutOutput(): boolean {
  return keepRunning;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * A job or jobs as every command prints them: their fields in one order (queue.json's), whichever
 * store they come from and whether they were just made or read back (see inFieldOrder).
 */
export function printJobsJson(jobs: Job | readonly Job[]): void {
  printJson(isJobList(jobs) ? jobs.map((job) => inFieldOrder(job)) : inFieldOrder(jobs));
}

function isJobList(jobs: Job | readonly Job[]): jobs is readonly Job[] {
  return Array.isArray(jobs);
}

const useColor = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR;

type Style = Parameters<typeof styleText>[0];

export function paint(style: Style, text: string): string {
  return useColor() ? styleText(style, text) : text;
}

const STATE_STYLE: Record<string, Style> = {
  pending: 'cyan',
  processing: 'yellow',
  failed: 'magenta',
  completed: 'green',
  dead: 'red',
  canceled: 'gray',
};

export function paintState(state: string): string {
  return paint(STATE_STYLE[state] ?? 'reset', state);
}

/** Visible width, ignoring colour escapes. */
function width(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header.map((title) => paint('bold', title)), ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => width(row[column] ?? ''))));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - width(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Cuts long text to fit a table cell, on one line: line breaks as `show` writes them (`\n`), tabs as spaces. */
export function truncate(text: string, max: number): string {
  const line = oneLine(text).replace(/[\t\v\f]/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * A time as the user reads a clock here, with the offset that says so: `2026-04-02 14:00:00
 * +02:00`, or `-` for null. The data files and `--json` keep ISO-8601 UTC; what a person reads
 * is in the zone they gave times in (`--run-at 14:00` is local).
 */
export function localTime(iso: string | null): string {
  if (iso === null) return '-';
  const at = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -at.getTimezoneOffset();
  const zone = `${offset >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())} ${zone}`;
}

/** A duration for people: `850 ms`, `12.3 s`, `3m 05s`, `2h 03m`, `4d 06h`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1_440) return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
  const hours = Math.round(ms / 3_600_000);
  return `${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
}

/** `text` as one word for sh: as it is when that is safe, else in single quotes. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
