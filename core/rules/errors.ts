/**
 * One error class with a code, as proper-lockfile and cac do. The CLI prints `message` as one
 * line on stderr and exits with `exitCode`: 2 when the user's input is wrong (nothing on disk
 * has changed), 1 when something failed at run time.
 */
import { constants } from 'node:os';

export type ErrorCode =
  /** Malformed or invalid input: a value, a JSON document, an unknown key, state or command. */
  | 'EINPUT'
  /** The input names something that does not exist (a job id, a DLQ entry). */
  | 'ENOTFOUND'
  /** A data file is not what queuectl writes; it is reported and never overwritten. */
  | 'ECORRUPT'
  /** The data directory lock could not be taken in time, or was lost. */
  | 'ELOCK'
  /** A signal (Ctrl-C) stopped the command before it changed anything. */
  | 'EINTERRUPTED'
  /** Any other failure at run time. */
  | 'EFAIL';

export class QueuectlError extends Error {
  override name = 'QueuectlError';
  constructor(
    message: string,
    readonly code: ErrorCode,
    /** What it comes from, when it stands for an error of a library (a database's). */
    options?: { cause: unknown },
  ) {
    super(message, options);
  }

  get exitCode(): number {
    return this.code === 'EINPUT' || this.code === 'ENOTFOUND' ? 2 : 1;
  }
}

/**
 * A signal stopped the command before it changed anything: it exits as a shell reports a command
 * that signal ended, 128 + its number (130 for Ctrl-C), so a script knows it did not run through.
 */
export class InterruptedError extends QueuectlError {
  constructor(
    message: string,
    readonly signal: NodeJS.Signals,
  ) {
    super(message, 'EINTERRUPTED');
  }

  override get exitCode(): number {
    return 128 + (constants.signals[this.signal] ?? 0);
  }
}

export function inputError(message: string): QueuectlError {
  return new QueuectlError(message, 'EINPUT');
}

/** How a value looks in an error message: `"abc" (string)`, `-1 (number)`. */
export function showValue(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const text = JSON.stringify(value) ?? String(value);
  const short = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `${short} (${type})`;
}

/** A write to a pipe or terminal whose reader went away (`queuectl logs x | head -1`). */
export function isClosedPipe(error: NodeJS.ErrnoException): boolean {
  return error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED';
}
