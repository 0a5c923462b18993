/**
 * Per-job logs: `logs/<id>.log` holds the stdout and stderr of every run of the job, each run
 * under a header line, so `queuectl logs <id>` shows the whole history of its attempts.
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists } from './atomic-json.js';
import type { DataPaths } from './paths.js';

export function jobLogPath(paths: DataPaths, id: string): string {
  return join(paths.logs, `${id}.log`);
}

/** Opens the job's log for appending, writes the run's header and returns the descriptor. */
export function openRunLog(paths: DataPaths, id: string, header: string): number {
  mkdirSync(paths.logs, { recursive: true });
  const fd = openSync(jobLogPath(paths, id), 'a');
  writeSync(fd, `${header}\n`);
  return fd;
}

export function closeRunLog(fd: number): void {
  closeSync(fd);
}

export function appendToLog(paths: DataPaths, id: string, line: string): void {
  appendFileSync(jobLogPath(paths, id), `${line}\n`);
}

/** Appends a line to the job's log, creating it (and logs/) if the job never ran. */
export function noteInLog(paths: DataPaths, id: string, line: string): void {
  mkdirSync(paths.logs, { recursive: true });
  appendFileSync(jobLogPath(paths, id), `${line}\n`);
}

/** The log's text, or `undefined` when the job has not run yet. */
export function readJobLog(paths: DataPaths, id: string): string | undefined {
  return readTextIfExists(jobLogPath(paths, id));
}

/** New jobs must not inherit the logs of older jobs that had the same ids. */
export function removeJobLogs(paths: DataPaths, ids: readonly string[]): void {
  if (!existsSync(paths.logs)) return; // nothing has run yet: spare a batch of 500 the calls
  for (const id of ids) rmSync(jobLogPath(paths, id), { force: true });
}
