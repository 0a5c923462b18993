/**
 * The data directory itself: created private to its user on first use, and refused with one
 * line that names it when it cannot serve (a file, a directory this user cannot write, a
 * read-only file system), so that the user learns where queuectl looked and how to choose
 * another place, instead of a system error about a file in it.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { statIdentity } from './stat-identity.js';
import { QueuectlError } from '../../core/rules/errors.js';
import { mkdirDurably } from './durable-file.js';

/** The data directory cannot be used; the message says which one, why, and what to do. */
export class DataDirError extends QueuectlError {
  constructor(
    readonly root: string,
    why: string,
  ) {
    super(`cannot use the data directory ${root}: ${why}; choose another with --data-dir DIR or QUEUECTL_DATA_DIR`, 'EFAIL');
  }
}

const REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'it is on a read-only file system',
  ENOTDIR: 'a part of its path is a file',
  EEXIST: 'it is a file, not a directory',
  ENOSPC: 'no space left on the device',
};

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ?? `${code} ${(error as Error).message}`.trim();
}

/** For a command that only reads: a path that exists must be a directory (a missing one reads as empty). */
export function checkDataDir(root: string): void {
  let isDirectory: boolean | undefined;
  try {
    isDirectory = statSync(root, { throwIfNoEntry: false })?.isDirectory();
  } catch (error) {
    throw new DataDirError(root, reason(error));
  }
  if (isDirectory === false) throw new DataDirError(root, 'it is a file, not a directory');
}

/**
 * For a command that writes: the directory exists (created now with mode 0700, and its missing
 * parents too, durably) and this user may create files in it.
 */
export function prepareDataDir(root: string): void {
  checkDataDir(root);
  try {
    mkdirDurably(root, 0o700);
    accessSync(root, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new DataDirError(root, reason(error));
  }
}

/** The directory's device and inode (null when there is none): a renamed-away one has another. */
export function dataDirIdentity(root: string): string | null {
  return statIdentity(root, ['dev', 'ino']);
}
