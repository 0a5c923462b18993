/**
 * Noticing that a manager's data directory was deleted, or replaced by another at the same path
 * (`rm -rf data`, `mv data data.old && mkdir data`): by change events on the directory, and by a
 * look every second where those do not come.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dataDirIdentity } from '../store/data-dir.js';

const CHECK_EVERY_MS = 1_000;

export interface DataDirWatch {
  stop(): void;
}

/** Calls `onLost('deleted' | 'replaced')` once, when `root` is no longer the directory it is now. */
export function watchDataDir(root: string, onLost: (what: 'deleted' | 'replaced') => void): DataDirWatch {
  const identity = dataDirIdentity(root);
  let lost = false;
  const check = () => {
    if (lost) return;
    const now = dataDirIdentity(root);
    if (now === identity) return;
    lost = true;
    stop();
    onLost(now === null ? 'deleted' : 'replaced');
  };
  const timer = setInterval(check, CHECK_EVERY_MS);
  timer.unref();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(root, { persistent: false }, check);
    watcher.on('error', check); // the watched directory went away
  } catch {
    // No change events here: the timer alone notices.
  }
  const stop = () => {
    clearInterval(timer);
    watcher?.close();
  };
  return { stop };
}
