/**
 * Noticing that the queue changed without reading it: for `wait`, which polls the files
 * without the lock. Every write replaces a file by rename, so a new inode, size or mtime of
 * queue.json or dlq.json means there is something new to read; `fs.watch` on the data dir
 * wakes the poller early (where it works; polling alone is enough where it does not).
 */
import { statSync, watch } from 'node:fs';
import type { DataPaths } from './paths.js';

function fileSignature(path: string): string {
  try {
    const stat = statSync(path, { bigint: true });
    return `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
  } catch {
    return '-';
  }
}

/** Changes whenever queue.json or dlq.json is written. */
export function dataSignature(paths: DataPaths): string {
  return `${fileSignature(paths.queue)}|${fileSignature(paths.dlq)}`;
}

/** Calls `onChange` when an entry of the data dir changes. Returns the function that stops watching. */
export function watchDataDir(paths: DataPaths, onChange: () => void): () => void {
  try {
    const watcher = watch(paths.root, { persistent: false }, () => onChange());
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  } catch {
    return () => undefined; // no inotify watches left, or no such dir yet: polling still works
  }
}
