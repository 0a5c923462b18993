/**
 * Noticing that the queue changed without reading it: for `wait`, which polls the files
 * without the lock. Every write replaces a file by rename, so a new inode, size or mtime of
 * queue.json or dlq.json means there is something new to read; `fs.watch` on the data dir
 * wakes the poller early (where it works; polling alone is enough where it does not).
 */
import { statSync, type BigIntStats } from 'node:fs';
import { watchPath } from '../../core/os/watch-path.js';
import { identityOfStat } from '../local/stat-identity.js';
import type { DataPaths } from './paths.js';

/**
 * What a data file is now: every write is a rename of a new file, so another writer's change
 * shows as a new inode, size, mtime or ctime. `absent` when there is none.
 */
export function fileVersion(path: string): string {
  try {
    return versionOf(statSync(path, { bigint: true, throwIfNoEntry: false }));
  } catch {
    return 'unreadable';
  }
}

/** The version of a file from its stat (see fileVersion). */
export function versionOf(stat: BigIntStats | undefined): string {
  return identityOfStat(stat, VERSION_PARTS) ?? 'absent';
}

const VERSION_PARTS = ['ino', 'size', 'mtime', 'ctime'] as const;

/** Changes whenever queue.json or dlq.json is written. */
export function dataSignature(paths: DataPaths): string {
  return `${fileVersion(paths.queue)}|${fileVersion(paths.dlq)}`;
}

/** Calls `onChange` when an entry of the data dir changes. Returns the function that stops watching. */
export function watchDataDir(paths: DataPaths, onChange: () => void): () => void {
  return watchPath(paths.root, onChange);
}
