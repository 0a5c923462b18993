/**
 * `manager.log`, the output of managers started with `--detach`. It gets a line or two per job,
 * so it is kept to a bounded size: past MANAGER_LOG_MAX_BYTES it is copied to `manager.log.1`
 * (replacing the one before) and emptied in place. Emptied, not renamed: the manager and its
 * workers all write to it through one descriptor opened for appending, which then goes on
 * writing at the start of the emptied file (logrotate's copytruncate).
 */
import { copyFileSync, statSync, truncateSync } from 'node:fs';

export const MANAGER_LOG_MAX_BYTES = 10 * 1024 * 1024;

/** Whether the log has grown past `maxBytes` (a cheap look, before taking the lock to rotate it). */
export function needsRotation(path: string, maxBytes = MANAGER_LOG_MAX_BYTES): boolean {
  return (statSync(path, { throwIfNoEntry: false })?.size ?? 0) > maxBytes;
}

/** Rotates the log when it has grown past `maxBytes`. Returns whether it did. */
export function rotateManagerLog(path: string, maxBytes = MANAGER_LOG_MAX_BYTES): boolean {
  if (!needsRotation(path, maxBytes)) return false;
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  return true;
}
