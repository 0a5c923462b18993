/** Change events of the file system (inotify on Linux), where they can be had. */
import { watch, type FSWatcher } from 'node:fs';

/**
 * Calls `onChange` when the file or directory at `path` changes, and once more if the watch
 * breaks (the path went away). Returns the function that stops watching. Where no watch can be
 * had (no inotify watches left, no such path yet) nothing is called: the caller's polling is the fallback.
 */
export function watchPath(path: string, onChange: () => void): () => void {
  let watcher: FSWatcher;
  try {
    watcher = watch(path, { persistent: false }, () => onChange());
  } catch {
    return () => undefined;
  }
  watcher.on('error', () => {
    watcher.close();
    onChange();
  });
  return () => watcher.close();
}
