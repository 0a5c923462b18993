/**
 * Archive of jobs that left queue.json by retention. Each batch is `archive/<time>-<pid>.json`,
 * in the queue.json format, so `jq -s '[.[].jobs[]]' archive/*.json` reads them all, and the
 * logs of its jobs go with it, to `archive/<time>-<pid>.logs/<id>.log`, and a copy of the
 * environments they ran in, to `archive/<time>-<pid>.envs/<env_id>.json` (0600, in a 0700
 * directory, as envs/): a restart runs a job as before. Batches older than `archive_days` are
 * deleted, logs and environments and all, when a new one is written; `prune --archive` deletes
 * them on demand. A job that a restart takes back leaves its batch.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CANCELED_FOR_DEPENDENCY } from '../../core/rules/dependencies.js';
import { envIdsOf, queueOf, type CanceledJob, type Job } from '../../core/rules/job.js';
import type { ArchivedCompletion } from '../../core/rules/stats.js';
import { mkdirDurably, mkdirInExisting, readTextIfExists, writeFileDurably } from '../local/durable-file.js';
import { appendOwnLine, jobLogPath, logFiles } from '../local/job-logs.js';
import { envPath, writeEnvFile, writeEnvFiles } from './envs.js';
import { parseJobDocument, serializeJobs } from './job-file.js';
import type { DataPaths } from './paths.js';

const DAY_MS = 86_400_000;
/** `2026-11-23T10-30-00-000Z-1234.json`: the time the batch was written, and its writer. */
const BATCH_NAME = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z-\d+(?:-\d+)?\.json$/;

/** One batch file of the archive. */
export interface ArchiveBatch {
  /** The file name, e.g. `2026-11-23T10-30-00-000Z-1234.json`. */
  name: string;
  /** When it was written (epoch ms). */
  writtenAt: number;
}

function batchTime(name: string): number | null {
  const match = BATCH_NAME.exec(name);
  return match ? Date.parse(`${match[1]}T${match[2]}:${match[3]}:${match[4]}.${match[5]}Z`) : null;
}

/** The batches of the archive, oldest first; files that are not batches are not listed. */
export function listArchive(paths: DataPaths): ArchiveBatch[] {
  let names: string[];
  try {
    names = readdirSync(paths.archive);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, writtenAt: batchTime(name) }))
    .filter((batch): batch is ArchiveBatch => batch.writtenAt !== null)
    .sort((a, b) => a.writtenAt - b.writtenAt || (a.name < b.name ? -1 : 1));
}

function logsDirOf(paths: DataPaths, batch: string): string {
  return join(paths.archive, batch.replace(/\.json$/, '.logs'));
}

function envsDirOf(paths: DataPaths, batch: string): string {
  return join(paths.archive, batch.replace(/\.json$/, '.envs'));
}

/**
 * Writes `jobs` as a new batch, durably, then moves their logs into it. Called under the lock,
 * before the queue.json that no longer holds the jobs is written: a crash in between leaves a
 * job in both places (and its log in the archive), never in neither.
 */
export function writeArchiveBatch(paths: DataPaths, jobs: readonly Job[], now: Date): string {
  mkdirDurably(paths.archive);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let name = `${stamp}-${process.pid}.json`;
  for (let n = 1; existsSync(join(paths.archive, name)); n++) name = `${stamp}-${process.pid}-${n}.json`;
  writeFileDurably(join(paths.archive, name), serializeJobs(jobs));
  const logs = logsDirOf(paths, name);
  let made = false;
  // One listing rather than a look per job: a batch may hold 50,000 jobs that never ran.
  const present = logFiles(paths);
  for (const job of jobs) {
    if (!present.has(`${job.id}.log`)) continue;
    const from = jobLogPath(paths, job.id);
    if (!made) mkdirInExisting(logs);
    made = true;
    renameSync(from, join(logs, `${job.id}.log`));
  }
  // A copy: jobs still queued may share an environment; envs/ lets go of its own once none does.
  const envs = [...envIdsOf(jobs)].flatMap((id) => {
    const text = readTextIfExists(envPath(paths, id));
    return text === undefined ? [] : [[id, text] as const];
  });
  writeEnvFiles(envsDirOf(paths, name), envs);
  return name;
}

/** The batches written before `cutoff` (epoch ms), oldest first. */
export function archiveBatchesBefore(paths: DataPaths, cutoff: number): ArchiveBatch[] {
  return listArchive(paths).filter((batch) => batch.writtenAt < cutoff);
}

/** Deletes one batch with its logs and environments. */
export function deleteArchiveBatch(paths: DataPaths, name: string): void {
  rmSync(logsDirOf(paths, name), { recursive: true, force: true });
  rmSync(envsDirOf(paths, name), { recursive: true, force: true });
  rmSync(join(paths.archive, name), { force: true });
}

/**
 * Jobs a restart took back leave their batch, as they leave the database's archive: the archive
 * holds finished jobs only, and `stats` and `prune --archive` count each job once. A batch left
 * with none goes whole. Called once the queue.json that holds them again is written: a crash in
 * between leaves a job in both, never in neither.
 */
export function dropFromArchiveBatch(paths: DataPaths, name: string, ids: ReadonlySet<string>): void {
  const jobs = readArchiveBatch(paths, name);
  const kept = jobs.filter((job) => !ids.has(job.id));
  if (kept.length === jobs.length) return;
  if (kept.length === 0) {
    deleteArchiveBatch(paths, name);
    return;
  }
  writeFileDurably(join(paths.archive, name), serializeJobs(kept));
  // The copies of environments no job left in the batch ran in go too: they may hold secrets.
  const used = envIdsOf(kept);
  for (const job of jobs) {
    if (job.env_id && !used.has(job.env_id)) rmSync(archivedEnvPath(paths, name, job.env_id), { force: true });
  }
}

/** The batches past their `archive_days` go (0 keeps them for ever). */
export function expireArchive(paths: DataPaths, archiveDays: number, now: Date): void {
  if (archiveDays <= 0) return;
  for (const batch of archiveBatchesBefore(paths, now.getTime() - archiveDays * DAY_MS)) deleteArchiveBatch(paths, batch.name);
}

/** The jobs of one batch (a foreign or broken file reads as none: it is not ours to judge here). */
export function readArchiveBatch(paths: DataPaths, name: string): Job[] {
  const path = join(paths.archive, name);
  try {
    return parseJobDocument(JSON.parse(readFileSync(path, 'utf8')), path);
  } catch {
    return [];
  }
}

/**
 * The completed jobs of the archive that finished at `since` or later. Only batches written
 * since then are read: a job is archived after it finished.
 */
export function archivedCompletions(paths: DataPaths, since: Date): ArchivedCompletion[] {
  const from = since.toISOString();
  const found: ArchivedCompletion[] = [];
  for (const { name, writtenAt } of listArchive(paths)) {
    if (writtenAt < since.getTime()) continue;
    for (const job of readArchiveBatch(paths, name)) {
      if (job.state === 'completed' && job.finished_at >= from) found.push({ id: job.id, queue: queueOf(job), finished_at: job.finished_at });
    }
  }
  return found;
}

export interface ArchivedJob {
  job: Job;
  /** The batch that holds it. */
  batch: string;
}

/**
 * The newest archived copy of each job named in `ids`. Batches are read newest first, and a
 * batch is parsed only if its text names one of them: a job's line starts with its id.
 */
export function findArchivedJobs(paths: DataPaths, ids: ReadonlySet<string>): Map<string, ArchivedJob> {
  const found = new Map<string, ArchivedJob>();
  if (ids.size === 0) return found;
  const keys = [...ids].map((id) => `{"id":${JSON.stringify(id)},`);
  for (const { name } of listArchive(paths).reverse()) {
    let text: string;
    try {
      text = readFileSync(join(paths.archive, name), 'utf8');
    } catch {
      continue;
    }
    if (!keys.some((key) => text.includes(key))) continue;
    for (const job of readArchiveBatch(paths, name)) {
      if (ids.has(job.id) && !found.has(job.id)) found.set(job.id, { job, batch: name });
    }
    if (found.size === ids.size) break;
  }
  return found;
}

/**
 * Canceled archived jobs that waited on any of `ids`, directly or through such jobs between
 * (see canceledDependents): batches are parsed only if their text names one of the ids after
 * `"after":`. Newest copy of each, in no particular order.
 */
export function findArchivedDependents(paths: DataPaths, ids: readonly string[]): CanceledJob[] {
  const reached = new Set(ids);
  const found = new Map<string, CanceledJob>();
  const batches = listArchive(paths).reverse();
  if (batches.length === 0 || ids.length === 0) return [];
  const texts = new Map<string, string>();
  for (const { name } of batches) {
    try {
      const text = readFileSync(join(paths.archive, name), 'utf8');
      if (text.includes(`"last_error":"${CANCELED_FOR_DEPENDENCY}`)) texts.set(name, text);
    } catch {
      // Deleted meanwhile: nothing in it.
    }
  }
  const foundIn = new Map<string, string>();
  // Parsed once each, however many rounds the chain takes.
  const parsed = new Map<string, Job[]>();
  const jobsOf = (name: string) => parsed.get(name) ?? parsed.set(name, readArchiveBatch(paths, name)).get(name)!;
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, text] of texts) {
      if (![...reached].some((id) => text.includes(JSON.stringify(id)))) continue;
      for (const job of jobsOf(name)) {
        if (job.state !== 'canceled' || reached.has(job.id) || !job.last_error.startsWith(CANCELED_FOR_DEPENDENCY)) continue;
        if ((job.after ?? []).some((id) => reached.has(id))) {
          reached.add(job.id);
          found.set(job.id, job);
          foundIn.set(job.id, name);
          grew = true;
        }
      }
    }
  }
  // Only a job's newest archived copy counts: one restarted since, and archived again completed,
  // is not still canceled. A newer batch that names it holds a newer copy.
  const order = batches.map(({ name }) => name); // newest first
  const textOf = (name: string) => texts.get(name) ?? readTextIfExists(join(paths.archive, name)) ?? '';
  for (const [id, name] of foundIn) {
    const key = `{"id":${JSON.stringify(id)},`;
    if (order.slice(0, order.indexOf(name)).some((newer) => textOf(newer).includes(key))) found.delete(id);
  }
  return [...found.values()];
}

/** An archived job's log goes back to logs/, for the job to run again with it (restart). */
export function takeBackLog(paths: DataPaths, batch: string, id: string): void {
  const from = archivedLogPath(paths, batch, id);
  if (!existsSync(from)) return;
  mkdirInExisting(paths.logs);
  renameSync(from, jobLogPath(paths, id));
}

/** Whether environment `id` of a job of `batch` is in envs/ or kept with the batch (not in one written before the archive kept them). */
export function hasArchivedEnv(paths: DataPaths, batch: string, id: string): boolean {
  return existsSync(envPath(paths, id)) || existsSync(archivedEnvPath(paths, batch, id));
}

/** The environment `id` of an archived job back in envs/, for the job to run again in it (restart). */
export function takeBackEnv(paths: DataPaths, batch: string, id: string): void {
  if (existsSync(envPath(paths, id))) return;
  const text = readTextIfExists(archivedEnvPath(paths, batch, id));
  if (text !== undefined) writeEnvFile(paths, id, text);
}

function archivedEnvPath(paths: DataPaths, batch: string, id: string): string {
  return join(envsDirOf(paths, batch), `${id}.json`);
}

/** Where the log of an archived job is, in its batch. */
export function archivedLogPath(paths: DataPaths, batch: string, id: string): string {
  return join(logsDirOf(paths, batch), `${id}.log`);
}

/**
 * The log of job `id`: in logs/, or in its archive batch once retention moved it out (`batch`
 * when known). A retention batch cut short after the archive was written leaves the job in
 * queue.json and its log in the archive: that is looked for too.
 */
export function findLogPath(paths: DataPaths, id: string, batch?: string): string {
  if (batch !== undefined) return archivedLogPath(paths, batch, id);
  const live = jobLogPath(paths, id);
  if (existsSync(live)) return live;
  const archived = findArchivedJobs(paths, new Set([id])).get(id);
  return archived ? archivedLogPath(paths, archived.batch, id) : live;
}

/**
 * Appends a line of queuectl's own to the log of a job that ran, where the log may have left
 * logs/ meanwhile (the job finished and retention moved it to the archive): to wherever it went,
 * never to a new file in logs/.
 */
export function appendToRunLog(paths: DataPaths, id: string, line: string): void {
  try {
    appendOwnLine(jobLogPath(paths, id), line, false);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    appendOwnLine(findLogPath(paths, id), line, false);
  }
}
