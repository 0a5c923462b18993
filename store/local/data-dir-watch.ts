/**
 * Noticing that a manager's data directory was deleted, or replaced by another at the same path
 * (`rm -rf data`, `mv data data.old && mkdir data`): by change events on the directory, and by a
 * look every second where those do not come. The directory is the same while it has the same
 * device and inode and still holds `marker` (the manager's own registry file): a directory made
 * anew may get the old inode number, and a birth time is not to be had everywhere.
 */
import { existsSync } from 'node:fs';
import { dataDirIdentity } from './data-dir.js';
import type { DataDirLoss } from '../../core/ports/host.js';
import { watchPath } from '../../core/os/watch-path.js';

const CHECK_EVERY_MS = 1_000;

export interface DataDirWatch {
  stop(): void;
}

/** Calls `onLost` once, when `root` is no longer the directory it is now. */
export function watchDataDir(root: string, marker: string, onLost: (what: DataDirLoss) => void): DataDirWatch {
  const identity = dataDirIdentity(root);
  let lost = false;
  const check = () => {
    if (lost) return;
    const now = dataDirIdentity(root);
    if (now === identity && existsSync(marker)) return;
    lost = true;
    stop();
    onLost(now === null ? 'deleted or moved away' : now !== identity ? 'replaced' : 'emptied');
  };
  const timer = setInterval(check, CHECK_EVERY_MS);
  timer.unref();
  // Where no change events come, the timer alone notices.
  const stopWatching = watchPath(root, check);
  const stop = () => {
    clearInterval(timer);
    stopWatching();
  };
  return { stop };
}
