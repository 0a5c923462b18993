/**
 * `completed-ids`: the ids of completed jobs that left queue.json (for the archive, or deleted by
 * retention or `prune`), one per line, so that `enqueue --after ID` still takes a job that
 * completed long ago as completed once its archive batch expired or was pruned. Ids only, not
 * jobs: what a dependent needs to know. Bounded: past COMPLETED_IDS_MAX_BYTES the file moves to
 * `completed-ids.1` (replacing the one before), so the record remembers at least the last
 * ~1,000,000 ids of 16 characters and never takes more than twice that size.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import type { DataPaths } from './paths.js';

export const COMPLETED_IDS_MAX_BYTES = 16 * 1024 * 1024;

/** Appends `ids`, durably. Called under the lock, before the files that no longer hold the jobs are written. */
export function recordCompletedIds(paths: DataPaths, ids: readonly string[], maxBytes = COMPLETED_IDS_MAX_BYTES): void {
  if (ids.length === 0) return;
  if ((statSync(paths.completedIds, { throwIfNoEntry: false })?.size ?? 0) > maxBytes) {
    renameSync(paths.completedIds, `${paths.completedIds}.1`);
  }
  const fd = openSync(paths.completedIds, 'a', 0o600);
  try {
    writeSync(fd, `${ids.join('\n')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Which of `ids` the record names. The files are searched as bytes for `\n<id>\n`, not split
 * into lines: a full record is 32 MiB, looked in for every `--after` of a job gone from the queue.
 */
export function findCompletedIds(paths: DataPaths, ids: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  if (ids.size === 0) return found;
  for (const path of [paths.completedIds, `${paths.completedIds}.1`]) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      continue;
    }
    for (const id of ids) {
      if (bytes.subarray(0, id.length + 1).equals(Buffer.from(`${id}\n`)) || bytes.includes(`\n${id}\n`)) found.add(id);
    }
  }
  return found;
}

/** Every id the record names (its older part first), each once: for `store copy`. */
export function readCompletedIds(paths: DataPaths): string[] {
  const ids = new Set<string>();
  for (const path of [`${paths.completedIds}.1`, paths.completedIds]) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    for (const id of text.split('\n')) if (id !== '') ids.add(id);
  }
  return [...ids];
}
