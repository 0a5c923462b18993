/**
 * Telling that the jobs changed without reading them (`Store.version`, and the parse cache of
 * job-files.ts): every write replaces a file by rename, so a new inode, size, mtime or ctime of
 * queue.json or dlq.json means there is something new to read.
 */
import { statSync, type BigIntStats } from 'node:fs';
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

/** Changes whenever queue.json, its journal or dlq.json is written. */
export function dataSignature(paths: DataPaths): string {
  return `${fileVersion(paths.queue)}|${fileVersion(paths.journal)}|${fileVersion(paths.dlq)}`;
}
