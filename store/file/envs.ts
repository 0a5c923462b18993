/**
 * Captured environments: the environment of an `enqueue`, which its jobs run in, stored once in
 * `envs/<id>.json` however many jobs share it. The id is a hash of the content, so a batch of
 * 100,000 jobs, or the same shell enqueuing all day, writes one file. They hold whatever the
 * user's shell holds (tokens among it): the directory is 0700 and each file 0600. A file no job
 * of the queue or the DLQ refers to is deleted after the write that let its last job go; the
 * archive keeps a copy with each batch, for a restart (see archive.ts).
 */
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { QueuectlError } from '../../core/rules/errors.js';
import { mkdirInExisting, readJsonIfExists, writeFileDurably } from '../local/durable-file.js';
import type { DataPaths } from './paths.js';

const ENV_FILE = /^([0-9a-f]{32})\.json$/;

export function envPath(paths: DataPaths, id: string): string {
  return join(paths.envs, `${id}.json`);
}

/** Stores `env` (if it is not stored already) and returns its id. */
export function saveEnv(paths: DataPaths, env: Readonly<Record<string, string>>): string {
  const sorted = Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const text = `${JSON.stringify(sorted, null, 1)}\n`;
  const id = createHash('sha256').update(text).digest('hex').slice(0, 32);
  if (readJsonIfExists(envPath(paths, id)) === undefined) writeEnvFile(paths, id, text);
  return id;
}

/** Writes the text of environment `id` to envs/, readable by its owner alone. */
export function writeEnvFile(paths: DataPaths, id: string, text: string): void {
  writeEnvFiles(paths.envs, [[id, text]]);
}

/** Writes environments (id and text) to `dir` (envs/, or an archive batch's copy), readable by their owner alone. */
export function writeEnvFiles(dir: string, envs: readonly (readonly [string, string])[]): void {
  if (envs.length === 0) return;
  mkdirInExisting(dir);
  chmodSync(dir, 0o700);
  for (const [id, text] of envs) writeFileDurably(join(dir, `${id}.json`), text, { mode: 0o600 });
}

/** The stored environment `id`; a missing or broken one is reported as the job's failure to start. */
export function loadEnv(paths: DataPaths, id: string): Record<string, string> {
  const stored = readJsonIfExists(envPath(paths, id));
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    throw new QueuectlError(`its environment ${envPath(paths, id)} is ${stored === undefined ? 'missing' : 'not an object'}`, 'EFAIL');
  }
  return stored as Record<string, string>;
}

/** Deletes the stored environments no job in `used` refers to. Returns how many. */
export function dropUnusedEnvs(paths: DataPaths, used: ReadonlySet<string>): number {
  let names: string[];
  try {
    names = readdirSync(paths.envs);
  } catch {
    return 0;
  }
  let dropped = 0;
  for (const name of names) {
    const id = ENV_FILE.exec(name)?.[1];
    if (id === undefined || used.has(id)) continue;
    rmSync(join(paths.envs, name), { force: true });
    dropped++;
  }
  return dropped;
}
