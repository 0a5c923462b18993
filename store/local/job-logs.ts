/**
 * Per-job logs: `logs/<id>.log` holds the stdout and stderr of every run of the job, each run
 * under a header line, so `queuectl logs <id>` shows the whole history of its attempts.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileSystemError, mkdirInExisting } from './durable-file.js';
import { tailStart } from '../../core/os/tail.js';
import { QueuectlError } from '../../core/rules/errors.js';
import type { HostPaths } from './paths.js';

export function jobLogPath(paths: HostPaths, id: string): string {
  return join(paths.logs, `${id}.log`);
}

/** Opens the job's log for appending, writes the run's header and returns the descriptor. */
export function openRunLog(paths: HostPaths, id: string, header: string): number {
  mkdirInExisting(paths.logs);
  const fd = openSync(jobLogPath(paths, id), 'a');
  writeSync(fd, `${header}\n`);
  return fd;
}

export function closeRunLog(fd: number): void {
  closeSync(fd);
}

/**
 * Appends a line of queuectl's own to the log at `path`, on a line of its own: a command whose
 * output ends without a newline (`printf abc`) does not get the line glued to it. With `create`
 * false, a missing log is an ENOENT error rather than a new file.
 */
export function appendOwnLine(path: string, line: string, create: boolean): void {
  const fd = openSync(path, create ? 'a+' : constants.O_RDWR | constants.O_APPEND);
  try {
    writeSync(fd, `${endsOpen(fd) ? '\n' : ''}${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Whether the file's last byte is something other than a newline. */
function endsOpen(fd: number): boolean {
  const { size } = fstatSync(fd);
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

/** Appends a line to the job's log, creating it (and logs/) if the job never ran. */
export function noteInLog(paths: HostPaths, id: string, line: string): void {
  mkdirInExisting(paths.logs);
  appendOwnLine(jobLogPath(paths, id), line, true);
}

/** How much of a log is read, and written out, at a time. */
const CHUNK = 1 << 20;

/**
 * Writes the log at `path` (a job's, in logs/ or the archive), or only its last `lines` lines,
 * through `write`: its bytes as they are (output need not be UTF-8), a piece at a time, up to
 * its size when it was opened. False when there is no log (the job has not run).
 */
export async function writeLogOut(path: string, write: (chunk: Buffer) => Promise<void>, lines?: number): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fileSystemError(error, 'read', path);
  }
  try {
    const end = fstatSync(fd).size;
    for (let at = lines === undefined ? 0 : tailStart(fd, lines); at < end; ) {
      // A buffer of its own each time: `write` may still hold the last one.
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK, end - at));
      const read = readSync(fd, chunk, 0, chunk.length, at);
      if (read === 0) break; // cut short meanwhile (prune)
      await write(chunk.subarray(0, read));
      at += read;
    }
    return true;
  } catch (error) {
    throw fileSystemError(error, 'read', path);
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes of the log at `path` from `from` to `to`, for `store copy`, which read its size
 * before: a log cut short or gone since (a prune) stops the copy.
 */
export function readLogBytes(path: string, from: number, to: number): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const bytes = Buffer.allocUnsafe(to - from);
    let read = 0;
    for (let n = -1; read < bytes.length && n !== 0; read += n) n = readSync(fd, bytes, read, bytes.length - read, from + read);
    if (read < bytes.length) throw new QueuectlError(`${path} became shorter while it was being read (a prune?): try again`, 'EFAIL');
    return bytes;
  } catch (error) {
    throw fileSystemError(error, 'read', path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** New jobs must not inherit the logs of older jobs that had the same ids. */
export function removeJobLogs(paths: HostPaths, ids: readonly string[]): void {
  // One listing rather than a call per id: nothing has run yet, or a batch of 50,000 mostly never ran.
  const present = logFiles(paths);
  for (const id of ids) if (present.has(`${id}.log`)) rmSync(jobLogPath(paths, id), { force: true });
}

/** The file names in logs/ (none when it does not exist yet). */
export function logFiles(paths: HostPaths): Set<string> {
  try {
    return new Set(readdirSync(paths.logs));
  } catch {
    return new Set();
  }
}

/** How much of the end of a log is searched for a run's header. */
const HEADER_SEARCH_BYTES = 1 << 20;

/** The words of a run's header line that name the claim it ran under. */
export function claimMark(token: string): string {
  return `under lease ${token}`;
}

/**
 * Whether the job's log shows that the run of the claim `token` started: its worker writes the
 * run's header, which names the claim, before it spawns the command. Only the end of the log is
 * read: a run whose start was never recorded died within moments of it.
 */
export function logShowsRun(paths: HostPaths, id: string, token: string): boolean {
  let fd: number;
  try {
    fd = openSync(jobLogPath(paths, id), 'r');
  } catch {
    return false;
  }
  try {
    const { size } = fstatSync(fd);
    const length = Math.min(size, HEADER_SEARCH_BYTES);
    const tail = Buffer.alloc(length);
    readSync(fd, tail, 0, length, size - length);
    return tail.includes(claimMark(token));
  } finally {
    closeSync(fd);
  }
}
