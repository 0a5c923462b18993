/**
 * Reading and writing data files. A write goes to a temp file next to the target that is
 * fsynced and renamed over it, then the directory is fsynced so the rename itself survives a
 * power loss. Readers therefore see the old or the new file, never a torn one.
 *
 * write-file-atomic did this until one step was needed that it has no room for: a writer under
 * the lock must check that it still holds the lock after its temp file is written and right
 * before the rename. Checked any earlier, a writer frozen (SIGSTOP, a paused VM) in the middle of
 * writing a large file resumes after another process took the stale lock over, and renames its
 * stale copy over the newer file. What it did besides is kept: symlinks are followed, and the
 * replaced file's permission bits (and, for root, its owner) carry over. Not kept: it deferred
 * SIGINT and SIGTERM until its temp file was removed; here a process killed mid-write leaves
 * `<file>.<digits>`, which the next writing command removes once it is a minute old.
 */
import {
  close,
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsync,
  fsyncSync,
  mkdirSync,
  open,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rename,
  renameSync,
  statSync,
  unlinkSync,
  writev,
  writeFileSync,
  type BigIntStats,
  type Stats,
} from 'node:fs';
import { randomInt } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { QueuectlError } from '../../core/rules/errors.js';
import { oneLine } from '../../core/rules/job.js';

/** The file's text, or `undefined` when it does not exist yet. */
export function readTextIfExists(path: string): string | undefined {
  return readBytesIfExists(path)?.toString('utf8');
}

/** The file's bytes, or `undefined` when it does not exist yet. */
export function readBytesIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileSystemError(error, 'read', path);
  }
}

/** Parsed JSON, or `undefined` when the file does not exist. Invalid JSON is reported with its path. */
export function readJsonIfExists(path: string): unknown {
  const text = readTextIfExists(path);
  return text === undefined ? undefined : parseJsonText(text, path);
}

/** `text`, the content of the file at `path`, parsed; invalid JSON is reported with the path. */
export function parseJsonText(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new QueuectlError(
      // JSON.parse quotes a short file whole, newlines too: the report stays one line.
      `${path} is not valid JSON (${oneLine((error as Error).message)}); queuectl will not overwrite it: fix it or move it away`,
      'ECORRUPT',
    );
  }
}

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `dir` and its missing parents (with `mode`, less the umask) so that they survive a power
 * loss: every directory that gained an entry is fsynced. Does nothing (no fsync) when `dir`
 * exists already.
 */
export function mkdirDurably(dir: string, mode?: number): void {
  const first = mkdirSync(dir, { recursive: true, ...(mode === undefined ? {} : { mode }) });
  if (first === undefined) return;
  for (let at = dir; ; at = dirname(at)) {
    fsyncDirectory(dirname(at));
    if (at === first || dirname(at) === at) break;
  }
}

/**
 * Creates `dir` unless it exists, inside a parent that must exist: a data dir deleted under a
 * running manager is not made again by its next log or registry write.
 */
export function mkdirInExisting(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export interface DurableWriteOptions {
  /** Permission bits of a file made anew (one replaced keeps its own). @default 0o666 less the umask */
  mode?: number;
  /**
   * The file may hold a secret (config.json: the store's URL, password and all): made 0600, and
   * one it replaces loses the bits that let its group and others read it. The data dir queuectl
   * makes is 0700, but one a user made with `mkdir` lets others in.
   */
  secret?: boolean;
  /**
   * Called after the temp file is written and fsynced, right before it is renamed over the
   * target; if it throws, the temp file is removed and the target is left as it was.
   */
  beforeRename?: () => void;
}

/**
 * Replaces `path` with `data` atomically and durably (given in pieces, it is never held whole).
 * A symlink is followed: the file it points to is replaced, and the link stays. Returns the new file's stat, taken from the file itself
 * after the rename, so that it is this write's file even if another process has replaced it since.
 * A failure of the file system is reported as one line naming the file.
 */
export function writeFileDurably(path: string, data: string | Buffer | Iterable<Buffer>, options: DurableWriteOptions = {}): BigIntStats {
  const target = resolveLink(path);
  const { fd, temp } = createTempFile(target, options.secret ? 0o600 : options.mode, options.secret);
  try {
    if (typeof data === 'string' || Buffer.isBuffer(data)) writeFileSync(fd, data);
    else for (const piece of data) writeFileSync(fd, piece);
    fsyncSync(fd);
    const stat = checkAndRename(fd, temp, target, options);
    fsyncDirectory(dirname(target));
    return stat;
  } catch (error) {
    throw writeFailed(error, temp, path);
  } finally {
    closeSync(fd);
  }
}

/** The lock check (if any) and the rename, back to back; the stat of the file renamed. */
function checkAndRename(fd: number, temp: string, target: string, options: DurableWriteOptions): BigIntStats {
  options.beforeRename?.();
  renameSync(temp, target);
  return fstatSync(fd, { bigint: true });
}

/** A write that failed: its temp file goes, and the error becomes one line naming the file. */
function writeFailed(error: unknown, temp: string, path: string): unknown {
  try {
    unlinkSync(temp);
  } catch {
    // Renamed already, or never created: nothing to clean up.
  }
  return fileSystemError(error, 'write', path);
}

const writevAsync = promisify(writev);
const fsyncAsync = promisify(fsync);
const openAsync = promisify(open);
const closeAsync = promisify(close);
const renameAsync = promisify(rename);

/**
 * writeFileDurably without holding up the event loop through the write and the two fsyncs, the
 * slow part of a large file: a worker manager goes on handing held jobs to its workers meanwhile.
 * The same steps in the same order; the lock check and the rename stay back to back.
 */
export async function writeFileDurablyAsync(path: string, parts: readonly Buffer[], options: DurableWriteOptions = {}): Promise<BigIntStats> {
  const target = resolveLink(path);
  const { fd, temp } = createTempFile(target, options.secret ? 0o600 : options.mode, options.secret);
  try {
    await writeAllAsync(fd, parts);
    await fsyncAsync(fd);
    // The rename of a large file over another frees the old one's blocks, which takes a while:
    // off the event loop too. Nothing in this process writes the file meanwhile (transactions
    // take turns), and the lock check still comes right before it.
    options.beforeRename?.();
    await renameAsync(temp, target);
    const stat = fstatSync(fd, { bigint: true });
    const dir = await openAsync(dirname(target), 'r');
    try {
      await fsyncAsync(dir);
    } finally {
      await closeAsync(dir);
    }
    return stat;
  } catch (error) {
    throw writeFailed(error, temp, path);
  } finally {
    closeSync(fd);
  }
}

/** Writes every part, in order, in as few writev calls as the system allows. */
async function writeAllAsync(fd: number, parts: readonly Buffer[]): Promise<void> {
  let left = parts.filter((part) => part.length > 0);
  while (left.length > 0) {
    // IOV_MAX is 1024 on Linux: more parts than that go in several calls.
    let written = (await writevAsync(fd, left.slice(0, 1024))).bytesWritten;
    const rest: Buffer[] = [];
    for (const part of left) {
      if (written >= part.length) written -= part.length;
      else {
        rest.push(written > 0 ? part.subarray(written) : part);
        written = 0;
      }
    }
    left = rest;
  }
}

/** The file a symlink at `path` points to (the link's own target when it dangles), else `path`. */
function resolveLink(path: string): string {
  try {
    return realpathSync.native(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileSystemError(error, 'write', path);
    try {
      return resolve(dirname(path), readlinkSync(path));
    } catch {
      return path; // no file yet
    }
  }
}

/**
 * Creates `<path>.<digits>` exclusively (never another writer's temp file) with the permission
 * bits of the file it will replace, so that a `chmod` of a data file survives its next write.
 * Run as root, it also keeps the file's owner, so that `sudo queuectl …` does not leave the
 * user a file they cannot write.
 */
function createTempFile(path: string, mode = 0o666, secret = false): { fd: number; temp: string } {
  let old: Stats | undefined;
  try {
    old = statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    throw fileSystemError(error, 'write', path);
  }
  for (;;) {
    const temp = `${path}.${randomInt(2 ** 47)}`;
    let fd: number;
    try {
      fd = openSync(temp, 'wx', mode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw fileSystemError(error, 'write', path);
    }
    try {
      if (old !== undefined) {
        if (process.getuid?.() === 0) fchownSync(fd, old.uid, old.gid);
        fchmodSync(fd, old.mode & (secret ? 0o700 : 0o777));
      }
    } catch (error) {
      closeSync(fd);
      unlinkSync(temp);
      throw fileSystemError(error, 'write', path);
    }
    return { fd, temp };
  }
}

/**
 * One line for the user: the file, and what the system said (ENOSPC, EACCES, EISDIR…), e.g.
 * `could not write /data/config.json: ENOSPC (write): no space left on device`. Anything else,
 * a QueuectlError among it, is returned as it is.
 */
export function fileSystemError(error: unknown, action: 'read' | 'write', path: string): unknown {
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (error instanceof QueuectlError || !(error instanceof Error) || typeof code !== 'string') return error;
  // Node's message without its own `CODE: ` prefix and `, syscall 'path'` suffix.
  const text = error.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '[^']*'( -> '[^']*')?$/, '');
  // A write is several steps (open, write, fsync, rename): say which one failed.
  const step = action === 'write' && syscall ? ` (${syscall})` : '';
  return new QueuectlError(`could not ${action} ${path}: ${code}${step}: ${text}`, 'EFAIL');
}

/**
 * Removes the temp files (`<file>.123456789`, `archive/….json.123…`) that writers killed
 * mid-write left in `dir`. Only old ones: a young one may belong to a write in progress in
 * another process.
 */
export function removeStaleTempFiles(dir: string, olderThanMs: number, now = Date.now()): number {
  let removed = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^.+\.(json|journal)\.\d+$/.test(entry)) continue;
    const path = join(dir, entry);
    try {
      if (now - statSync(path).mtimeMs > olderThanMs) {
        unlinkSync(path);
        removed++;
      }
    } catch {
      // Gone already: another process cleaned it up.
    }
  }
  return removed;
}
