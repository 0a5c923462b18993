/**
 * Archive of jobs that left queue.json by retention: `archive/<time>-<pid>.json`, each in the
 * queue.json format, so `jq -s '[.[].jobs[]]' archive/*.json` reads them all.
 */
import { join } from 'node:path';
import type { Job } from '../core/job.js';
import { mkdirDurably, writeFileDurably } from './atomic-json.js';
import { serializeJobs } from './job-file.js';
import type { DataPaths } from './paths.js';

export function writeArchiveBatch(paths: DataPaths, jobs: readonly Job[], now: Date): string {
  mkdirDurably(paths.archive);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const file = join(paths.archive, `${stamp}-${process.pid}.json`);
  writeFileDurably(file, serializeJobs(jobs));
  return file;
}
