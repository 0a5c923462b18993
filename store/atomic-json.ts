/**
 * Reading and writing data files. A write goes to a temp file that is fsynced and renamed over
 * the target (write-file-atomic), then the directory is fsynced so the rename itself survives a
 * power loss. Readers therefore see the old or the new file, never a torn one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type WriteFileAtomic from 'write-file-atomic';
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

const require = createRequire(import.meta.url);
let writeFileAtomic: typeof WriteFileAtomic | undefined;

/** Replaces `path` with `text` atomically and durably. */
export function writeFileDurably(path: string, text: string | Buffer): void {
  // Loaded on the first write, not at start-up: commands that only read (status, list, show)
  // start measurably faster without it.
  writeFileAtomic ??= require('write-file-atomic') as typeof WriteFileAtomic;
  writeFileAtomic.sync(path, text, { fsync: true });
  fsyncDirectory(dirname(path));
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
