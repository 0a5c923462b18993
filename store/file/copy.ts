/**
 * `store copy` in the file store (see core/ports/queue-copy.ts). The dump is read without the
 * lock, as every read is (each file is whole at every instant; queue.json and dlq.json are read
 * as one consistent pair), so copying from a data dir changes nothing in it.
 *
 * The load is one transaction under the data dir's lock. Before the job files, the things jobs
 * point to: stored environments (never replaced: an id is a hash of the content), the logs of the
 * copied ids, the completed ids. Then dlq.json, then queue.json, then config.json, each written
 * by atomic rename (the transaction's order). A crash can only leave part of a copy, never lose a
 * job (the source is not touched): before dlq.json, logs and environments that no job uses
 * (removed by the next enqueue of those ids, and the next prune); between the files, the DLQ's
 * jobs without the queue's, or the jobs without the settings. Copying again then names the ids
 * already there.
 */
import { existsSync, statSync } from 'node:fs';
import type { Config, ConfigKey } from '../../core/rules/config.js';
import { dumpIds, queueSettings, refuseTaken } from '../../core/rules/copy.js';
import { envIdsOf, type DeadJob } from '../../core/rules/job.js';
import { oldestFirst } from '../../core/rules/list.js';
import type { LogPart, QueueCopy, QueueDump } from '../../core/ports/queue-copy.js';
import { fileSystemError, mkdirInExisting, readJsonIfExists, writeFileDurably } from '../local/durable-file.js';
import { jobLogPath, logFiles, readLogBytes, removeJobLogs } from '../local/job-logs.js';
import { listArchive, readArchiveBatch } from './archive.js';
import { findCompletedIds, readCompletedIds, recordCompletedIds } from './completed-ids.js';
import { envPath, writeEnvFile } from './envs.js';
import { JobFiles } from './job-files.js';
import { readStoredConfig } from './store-setting.js';

export class FileQueueCopy implements QueueCopy {
  private readonly files: JobFiles;

  constructor(root: string) {
    this.files = new JobFiles(root);
  }

  get location(): string {
    return this.files.paths.root;
  }

  async exists(): Promise<boolean> {
    const { paths } = this.files;
    return this.files.queueFileExists() || existsSync(paths.journal) || existsSync(paths.dlq) || existsSync(paths.config);
  }

  async dump(): Promise<QueueDump> {
    const { paths } = this.files;
    const { queue, dlq } = this.files.snapshot();
    const stored = readStoredConfig(paths.config);
    const jobs = oldestFirst([...queue, ...dlq]);
    const present = logFiles(paths);
    const logs: LogPart[] = [];
    for (const job of jobs) {
      if (!present.has(`${job.id}.log`)) continue;
      const path = jobLogPath(paths, job.id);
      const size = sizeIfExists(path);
      if (size !== undefined) logs.push({ id: job.id, host: null, size, read: (from, to) => readLogBytes(path, from, to) });
    }
    const envs: QueueDump['envs'] = [];
    for (const id of envIdsOf(jobs)) {
      const env = readJsonIfExists(envPath(paths, id));
      // One missing here fails its jobs' start in the source as well; the copy does not make it worse.
      if (typeof env === 'object' && env !== null && !Array.isArray(env)) envs.push({ id, env: env as Record<string, string> });
    }
    return {
      jobs,
      settings: queueSettings(stored as Record<string, unknown>, paths.config),
      logs,
      envs,
      completedIds: readCompletedIds(paths),
      archived: listArchive(paths).reduce((sum, batch) => sum + readArchiveBatch(paths, batch.name).length, 0),
    };
  }

  async taken(ids: readonly string[]): Promise<string[]> {
    const { queue, dlq } = this.files.snapshot();
    const here = new Set([...queue, ...dlq].map((job) => job.id));
    return ids.filter((id) => here.has(id));
  }

  async load(dump: QueueDump): Promise<void> {
    const { paths } = this.files;
    await this.files.transact((tx) => {
      tx.config(); // a broken config.json is reported before anything is written, as by every command
      const dlq = tx.dlq(); // first: loading it may repair the queue
      const here = new Set([...tx.queue(), ...dlq].map((job) => job.id));
      const ids = dumpIds(dump);
      refuseTaken(ids.filter((id) => here.has(id)), this.location);
      for (const [key, value] of Object.entries(dump.settings)) tx.setConfigValue(key as ConfigKey, value as Config[ConfigKey]);
      for (const { id, env } of dump.envs) {
        if (!existsSync(envPath(paths, id))) writeEnvFile(paths, id, `${JSON.stringify(env, null, 1)}\n`);
      }
      // The log of an earlier job of a copied id is not the copied job's (as enqueue does).
      removeJobLogs(paths, ids);
      const parts = new Map<string, LogPart[]>();
      for (const part of dump.logs) {
        const ofJob = parts.get(part.id);
        if (ofJob === undefined) parts.set(part.id, [part]);
        else ofJob.push(part);
      }
      if (parts.size > 0) mkdirInExisting(paths.logs);
      for (const [id, ofJob] of parts) writeFileDurably(jobLogPath(paths, id), piecesOf(ofJob));
      const known = findCompletedIds(paths, new Set(dump.completedIds));
      recordCompletedIds(paths, dump.completedIds.filter((id) => !known.has(id)));
      // The file that gains dead jobs first: jobs that cannot run before jobs that can.
      const dead = dump.jobs.filter((job): job is DeadJob => job.state === 'dead');
      const queued = dump.jobs.filter((job) => job.state !== 'dead');
      if (dead.length > 0) tx.setDlq([...dlq, ...dead]);
      if (queued.length > 0) tx.setQueue([...tx.queue(), ...queued]);
    });
  }

  async close(): Promise<void> {
    // Nothing is held open.
  }
}

/** How much of a log a copy reads, and writes, at a time. */
const PIECE = 1 << 20;

/** The bytes of a job's log parts, in order, a piece at a time: a log of any size is copied as it is, never held whole. */
function* piecesOf(parts: readonly LogPart[]): Generator<Buffer> {
  for (const part of parts) {
    for (let at = 0; at < part.size; at += PIECE) yield part.read(at, Math.min(part.size, at + PIECE));
  }
}

/** The size of the file at `path`; undefined when there is none. */
function sizeIfExists(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileSystemError(error, 'read', path);
  }
}
