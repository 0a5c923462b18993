/**
 * Archive of jobs that left queue.json by retention: `archive/<time>-<pid>.json`, each in the
 * queue.json format, so `jq -s '[.[].jobs[]]' archive/*.json` reads them all.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from '../core/job.js';
import { mkdirDurably, readJsonIfExists, writeFileDurably } from './atomic-json.js';
import { parseJobDocument, serializeJobs } from './job-file.js';
import type { DataPaths } from './paths.js';

export function writeArchiveBatch(paths: DataPaths, jobs: readonly Job[], now: Date): string {
  mkdirDurably(paths.archive);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const file = join(paths.archive, `${stamp}-${process.pid}.json`);
  writeFileDurably(file, serializeJobs(jobs));
  return file;
}

/**
 * The archived copies of the jobs named in `ids` (jobs that left queue.json by retention).
 * Reads every archive file: only for the rare job that vanished while someone waited on it.
 */
export function findArchivedJobs(paths: DataPaths, ids: ReadonlySet<string>): Map<string, Job> {
  const found = new Map<string, Job>();
  let names: string[];
  try {
    names = readdirSync(paths.archive).filter((name) => name.endsWith('.json'));
  } catch {
    return found;
  }
  for (const name of names.sort()) {
    const path = join(paths.archive, name);
    try {
      for (const job of parseJobDocument(readJsonIfExists(path), path)) if (ids.has(job.id)) found.set(job.id, job);
    } catch {
      // A foreign file in archive/ is not ours to judge here.
    }
  }
  return found;
}
