/**
 * Reading and writing data files. A write goes to a temp file next to the target that is
 * fsynced and renamed over it, then the directory is fsynced so the rename itself survives a
 * power loss. Readers therefore see the old or the new file, never a torn one.
 *
 * This is what write-file-atomic does, done here because of one step it has no room for: a
 * writer under the lock must check that it still holds the lock after its temp file is written
 * and right before the rename. Checked any earlier, a writer frozen (SIGSTOP, a paused VM) in
 * the middle of writing a large file resumes after another process took the stale lock over,
 * and renames its stale copy over the newer file.
 */
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { QueuectlError } from '../core/errors.js';

/** The file's text, or `undefined` when it does not exist yet. */
export function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Parsed JSON, or `undefined` when the file does not exist. Invalid JSON is reported with its path. */
export function readJsonIfExists(path: string): unknown {
  const text = readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new QueuectlError(
      `${path} is not valid JSON (${(error as Error).message}); queuectl will not overwrite it: fix it or move it away`,
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
 * Creates `dir` and its missing parents so that they survive a power loss: every directory that
 * gained an entry is fsynced. Does nothing (no fsync) when `dir` exists already.
 */
export function mkdirDurably(dir: string): void {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  for (let at = dir; ; at = dirname(at)) {
    fsyncDirectory(dirname(at));
    if (at === first || dirname(at) === at) break;
  }
}

export interface DurableWriteOptions {
  /**
   * Called after the temp file is written and fsynced, right before it is renamed over the
   * target; if it throws, the temp file is removed and the target is left as it was.
   */
  beforeRename?: () => void;
}

/** Replaces `path` with `data` atomically and durably. */
export function writeFileDurably(path: string, data: string | Buffer, options: DurableWriteOptions = {}): void {
  const { fd, temp } = createTempFile(path);
  try {
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    options.beforeRename?.();
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created or already renamed: nothing to clean up.
    }
    throw error;
  }
  fsyncDirectory(dirname(path));
}

/**
 * Creates `<path>.<digits>` exclusively (never another writer's temp file), with the mode of the
 * file it will replace, so that a `chmod` of a data file survives its next write.
 */
function createTempFile(path: string): { fd: number; temp: string } {
  const mode = statSync(path, { throwIfNoEntry: false })?.mode;
  for (;;) {
    const temp = `${path}.${randomInt(2 ** 47)}`;
    try {
      const fd = openSync(temp, 'wx', 0o666);
      try {
        if (mode !== undefined) fchmodSync(fd, mode & 0o7777);
      } catch (error) {
        closeSync(fd);
        unlinkSync(temp);
        throw error;
      }
      return { fd, temp };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * Removes temp files (`queue.json.123456789`) that a writer killed mid-write left behind.
 * Only old ones: a young one may belong to a write in progress in another process.
 */
export function removeStaleTempFiles(dir: string, targets: readonly string[], olderThanMs: number, now = Date.now()): number {
  const names = new Set(targets.map((target) => basename(target)));
  let removed = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const dot = entry.lastIndexOf('.');
    if (dot <= 0 || !names.has(entry.slice(0, dot)) || !/^\d+$/.test(entry.slice(dot + 1))) continue;
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
