/**
 * Jobs crafted as the files of a data dir hold them, in every state and at any age, for tests
 * that need a queue as it would be after hours of work without waiting hours.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job, PendingJob } from '../core/rules/job.js';
import { allJobs } from './helpers.js';
import { pendingJob } from './sample-jobs.js';

export const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
export const SECOND = 1_000;
export const MINUTE = 60_000;
export const DAY = 86_400_000;

export function pending(id: string, fields: Partial<PendingJob> = {}): PendingJob {
  const at = ago(DAY * 60);
  return pendingJob(id, { command: `echo ${id}`, run_at: at, created_at: at, updated_at: at, ...fields });
}

/** A finished job that ran `runMs` and finished `finishedAgo` ms ago. */
export function finished(id: string, state: 'completed' | 'dead' | 'canceled', finishedAgo: number, runMs = SECOND): Job {
  const times = { started_at: ago(finishedAgo + runMs), finished_at: ago(finishedAgo), updated_at: ago(finishedAgo) };
  const base = { ...pending(id), attempts: 1, ...times, lease: null };
  if (state === 'completed') return { ...base, state, exit_code: 0, last_error: null };
  if (state === 'dead') return { ...base, state, exit_code: 1, last_error: 'command failed with exit code 1' };
  return { ...base, state, exit_code: null, last_error: 'canceled by user while running; run 1 was killed' };
}

export function failed(id: string): Job {
  return {
    ...pending(id),
    state: 'failed',
    attempts: 1,
    run_at: '2099-01-01T00:00:00.000Z', // its retry is far away
    started_at: ago(MINUTE),
    finished_at: ago(MINUTE),
    exit_code: 3,
    last_error: 'command failed with exit code 3',
  };
}

export function processing(id: string, startedAgo = SECOND): Job {
  return {
    ...pending(id),
    state: 'processing',
    attempts: 1,
    started_at: ago(startedAgo),
    // A lease far in the future and a worker that does not exist: nothing takes the job back.
    lease: { worker_pid: 2_000_000_000, token: 'token', expires_at: '2099-01-01T00:00:00.000Z' },
  };
}

export function writeJobs(dataDir: string, queue: readonly Job[], dlq: readonly Job[] = []): void {
  writeFileSync(join(dataDir, 'queue.json'), `${JSON.stringify({ version: 1, jobs: queue })}\n`);
  writeFileSync(join(dataDir, 'dlq.json'), `${JSON.stringify({ version: 1, jobs: dlq })}\n`);
}

export function writeLog(dataDir: string, id: string): string {
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const path = join(dataDir, 'logs', `${id}.log`);
  writeFileSync(path, `output of ${id}\n`);
  return path;
}

export const ids = (jobs: readonly Job[]) => jobs.map((job) => job.id);
export const stateOf = async (dataDir: string, id: string) => (await allJobs(dataDir)).get(id)?.state;
