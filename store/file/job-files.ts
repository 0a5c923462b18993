/**
 * The file store's repository of queue.json and dlq.json. Changes happen in transactions: under the data
 * directory lock, load what is needed, change it in memory with the pure rules of `core/`,
 * write back what changed. Reads for display need no lock (every write is an atomic rename).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { resolveConfig, type Config, type ConfigKey } from '../../core/rules/config.js';
import { envIdsOf, type DeadJob, type Job } from '../../core/rules/job.js';
import { totalCounts, type JobsSummary } from '../../core/rules/summary.js';
import { buildClaimIndex, followClaimIndex, type ClaimIndex } from '../../core/rules/claim-index.js';
import { reconcile } from './reconcile.js';
import { expireArchive, writeArchiveBatch } from './archive.js';
import { recordCompletedIds } from './completed-ids.js';
import { fileVersion, versionOf } from './file-version.js';
import { dropUnusedEnvs, saveEnv } from './envs.js';
import { removeJobLogs } from '../local/job-logs.js';
import { readJsonIfExists, removeStaleTempFiles, writeFileDurably, writeFileDurablyAsync } from '../local/durable-file.js';
import { prepareDataDir } from '../local/data-dir.js';
import { JobFileEncoder, parseJobDocument } from './job-file.js';
import { QueueLog, summaryOf, type CheckpointPolicy, type LightQueue, type OutlineState, type QueueState, type QueueTailJobs } from './queue-log.js';
import { lookupIn, type QueueLookup } from './queue-lookup.js';
import { materialize, outlineOf, type JobOutline } from './outline.js';
import { LockLostError, withLock, type HeldLock } from '../local/lock.js';
import { dataPaths, type DataPaths } from './paths.js';
import { readStoredConfig } from './store-setting.js';

export interface Transaction {
  /** The jobs of queue.json, loaded on first use. Change them through `setQueue`. */
  queue(): readonly Job[];
  /**
   * Jobs of the queue by id, found without reading every job of a large queue (queue-lookup.ts):
   * enough to tell whether an id is taken and what became of a dependency.
   */
  queueLookup(): QueueLookup;
  /**
   * Stages jobs added at the end of the queue: one journal line, without reading the queue whole,
   * when only `queueLookup` read it. Not shown by `queue()`; not with other changes of the queue.
   */
  addToQueue(jobs: readonly Job[]): void;
  /**
   * What a dispatch cycle looks for in the jobs `queue()` gives now (core/rules/claim-index.ts),
   * brought up to date from the last cycle's at the cost of what changed since.
   */
  queueIndex(now: Date): ClaimIndex;
  /** The jobs of dlq.json, loaded on first use (duplicates left by a crashed move are repaired then). */
  dlq(): readonly DeadJob[];
  /**
   * Stages a new queue.json. Files are written in the order they were staged: when a job moves
   * between the files, stage the one that gains it first, so a crash between the two writes
   * leaves a duplicate that the next load repairs, never a loss. `changedAt`: when `jobs` is the
   * queue as `queue()` gave it with only the jobs at these positions replaced (none added,
   * removed or moved), the write looks at those alone.
   */
  setQueue(jobs: readonly Job[], changedAt?: readonly number[]): void;
  setDlq(jobs: readonly DeadJob[]): void;
  /** The effective settings. */
  config(): Config;
  /**
   * Stages one setting of config.json (which holds only what a person set), the others kept as
   * they are; `config()` gives the new effective settings at once. Written after the job files.
   */
  setConfigValue<K extends ConfigKey>(key: K, value: Config[K]): void;
  /**
   * Jobs leaving queue.json by retention, with their logs: to a new archive batch when the
   * `archive` setting is on (written at once, before the queue.json that no longer holds them,
   * so a crash in between duplicates rather than loses), else deleted. Batches past
   * `archive_days` go at the same time. The ids of completed ones are recorded in
   * `completed-ids`, for `--after`.
   */
  evict(jobs: readonly Job[]): void;
  /** The archive batch this transaction's `evict` wrote; null when none. */
  archived(): string | null;
  /**
   * Stores the environment of an enqueue (once, however many jobs share it) and returns its id,
   * for the jobs to refer to.
   */
  saveEnv(env: Readonly<Record<string, string>>): string;
  /**
   * Jobs left the queue and the DLQ: once this transaction's files are written, the stored
   * environments that no job refers to any more are deleted.
   */
  dropUnusedEnvs(): void;
  /** Runs `action` once this transaction's files are written, while the lock is still held. */
  afterWrites(action: () => void): void;
}

/**
 * What a file was when this process last read or wrote it. Every write is a rename of a new
 * file, so another writer's change shows as a new inode, size or mtime; when none changed,
 * the jobs parsed (or written) last time are the file's content and need no new parse.
 */
interface Cached<T> {
  identity: string;
  value: T;
}


export interface OutlineSnapshot {
  queue: OutlineState;
  dlq: DeadJob[];
}

export interface Snapshot {
  queue: Job[];
  dlq: DeadJob[];
}

/** What a transaction on a data directory that is not there does once it would write (see JobFiles.transact). */
class WouldWrite extends Error {}

/** The lock of a transaction on a data directory that is not there: whatever needs it would write, or read what is not there. */
const NO_DIRECTORY: HeldLock = {
  assertHeld() {
    throw new WouldWrite();
  },
};

export class JobFiles {
  readonly paths: DataPaths;
  private readonly cache: { queue?: QueueState; dlq?: Cached<Job[]>; config?: Cached<Config> } = {};
  private readonly dlqEncoder = new JobFileEncoder();
  /** queue.json and its journal (queue-log.ts). */
  private readonly log: QueueLog;
  private tidied = false;
  private prepared = false;
  /** A transaction of this store is writing its files: a change of them now is its own. */
  private writing = false;
  /** The claim index of the queue as the last cycle saw it (claim-index.ts). */
  private claimIndex: { jobs: readonly Job[]; index: ClaimIndex } | undefined;

  constructor(root: string, policy: CheckpointPolicy = {}) {
    this.paths = dataPaths(isAbsolute(root) ? root : resolve(root));
    this.log = new QueueLog(this.paths.queue, this.paths.journal, policy);
  }

  /**
   * Creates the data directory on first use (mode 0700, durably), or checks that it can be
   * written; once per store, so that a long-running manager never makes it again after someone
   * deleted it (see manager.ts).
   */
  ensureDir(): void {
    if (this.prepared) return;
    prepareDataDir(this.paths.root);
    this.prepared = true;
  }

  /**
   * Runs `body` under the lock and writes what it staged. `body` must be synchronous.
   * `create: false`: a data directory that is not there is not made for a transaction that finds
   * nothing to change in it (a cancel of an unknown id, a prune: a typo in `--data-dir` must not
   * leave a directory behind). `body` then runs on the empty queue, without the lock; one that
   * would write runs again, as any other, on the directory made for it. `signal`: an abort while
   * the lock is waited for ends the wait (see withLock).
   */
  async transact<T>(body: (tx: Transaction) => T, { create = true, signal }: { create?: boolean; signal?: AbortSignal } = {}): Promise<T> {
    if (!create && !this.prepared && !existsSync(this.paths.root)) {
      try {
        return await this.runTransaction(NO_DIRECTORY, body);
      } catch (error) {
        if (!(error instanceof WouldWrite)) throw error;
      }
    }
    this.ensureDir();
    const result = await withLock(this.paths.root, this.paths.lock, (lock) => this.runTransaction(lock, body), signal);
    this.tidyOnce();
    return result;
  }

  /**
   * The queue: queue.json with the journal applied, brought up to date from what this store read
   * or wrote last (only the journal lines written since are read, unless queue.json changed).
   */
  private loadQueue(locked: boolean): QueueState {
    const state = this.log.read(this.cache.queue, locked);
    this.cache.queue = state;
    return state;
  }

  /** The jobs of a job file, parsed again only when another process changed it. */
  private loadJobs(file: 'queue' | 'dlq', locked = true): Job[] {
    if (file === 'queue') return this.loadQueue(locked).jobs;
    const path = this.paths[file];
    const identity = fileVersion(path);
    const cached = this.cache[file];
    if (cached?.identity === identity) return cached.value;
    const jobs = readJobFile(path);
    this.cache[file] = { identity, value: jobs };
    return jobs;
  }

  private loadConfig(): Config {
    const identity = fileVersion(this.paths.config);
    const cached = this.cache.config;
    if (cached?.identity === identity) return cached.value;
    const config = readConfig(this.paths.config);
    this.cache.config = { identity, value: config };
    return config;
  }

  private async runTransaction<T>(lock: HeldLock, body: (tx: Transaction) => T): Promise<T> {
    const { paths } = this;
    let queue: Job[] | undefined;
    let dlq: DeadJob[] | undefined;
    let config: Config | undefined;
    /** `add`: jobs to add at the end of a queue not read whole (addToQueue). */
    const staged: { file: 'queue' | 'dlq'; jobs: Job[]; add?: LightQueue; changed?: { base: readonly Job[]; at: readonly number[] } }[] = [];
    /** The queue read light (queue-log.ts readLight), or null when its files do not allow it. */
    let light: LightQueue | null | undefined;
    let dropEnvs = false;
    const afterWrites: (() => void)[] = [];
    /** config.json as it is to be written, when a setting changed. */
    let storedConfig: Record<string, unknown> | undefined;
    let archived: string | null = null;
    /** `jobs`: a copy of the caller's, which neither this transaction nor the write changes. */
    const stage = (file: 'queue' | 'dlq', jobs: Job[]) => {
      const at = staged.findIndex((entry) => entry.file === file);
      if (at !== -1) staged.splice(at, 1);
      staged.push({ file, jobs });
    };
    const loadQueue = () => (queue ??= this.loadQueue(true).jobs);
    const tx: Transaction = {
      queue: loadQueue,
      queueIndex: (now) => this.indexOf(loadQueue(), now),
      queueLookup: () => {
        if (queue === undefined && (light ??= this.log.readLight(lock)) !== null) return light.lookup;
        return lookupIn(new Map(loadQueue().map((job) => [job.id, outlineOf(job)])));
      },
      addToQueue: (jobs) => {
        if (!light || queue !== undefined) {
          tx.setQueue([...loadQueue(), ...jobs]);
          return;
        }
        const at = staged.findIndex((entry) => entry.file === 'queue');
        if (at !== -1) throw new Error('addToQueue after a change of the queue in one transaction');
        staged.push({ file: 'queue', jobs: [...jobs], add: light });
      },
      dlq: () => {
        if (dlq) return dlq;
        const dead = this.loadJobs('dlq') as DeadJob[];
        // The queue read light only: without a job in both files, there is no crashed move to repair.
        if (queue === undefined && light && !dead.some((job) => light!.lookup.has(job.id))) return (dlq = dead);
        const repaired = reconcile(loadQueue(), dead);
        queue = repaired.queue;
        dlq = repaired.dlq;
        if (repaired.repaired) {
          stage('queue', queue);
          stage('dlq', dlq);
        }
        return dlq;
      },
      setQueue: (jobs, changedAt) => {
        const base = queue;
        // One copy (100,000 jobs are 100,000 pointers) for what this transaction reads and what it writes.
        queue = [...jobs];
        stage('queue', queue);
        if (changedAt !== undefined && base !== undefined) staged.at(-1)!.changed = { base, at: changedAt };
      },
      setDlq: (jobs) => {
        dlq = [...jobs];
        stage('dlq', dlq);
      },
      config: () => (config ??= this.loadConfig()),
      setConfigValue: (key, value) => {
        tx.config(); // refuses to touch a corrupt file
        const stored = storedConfig ?? ((readJsonIfExists(paths.config) ?? {}) as Record<string, unknown>);
        // Drop a differently spelled duplicate (max-retries vs max_retries) so one value remains.
        for (const name of Object.keys(stored)) {
          if (name !== key && name.replaceAll('-', '_') === key) delete stored[name];
        }
        stored[key] = value;
        config = resolveConfig(stored, paths.config);
        storedConfig = stored;
      },
      evict: (jobs) => {
        lock.assertHeld();
        const config = tx.config();
        const now = new Date();
        // Before the queue.json without them: a dependency that completed stays known as such.
        recordCompletedIds(paths, jobs.filter((job) => job.state === 'completed').map((job) => job.id));
        if (config.archive) archived = writeArchiveBatch(paths, jobs, now);
        else removeJobLogs(paths, jobs.map((job) => job.id));
        expireArchive(paths, config.archive_days, now);
      },
      archived: () => archived,
      saveEnv: (env) => {
        lock.assertHeld();
        return saveEnv(paths, env);
      },
      dropUnusedEnvs: () => {
        dropEnvs = true;
      },
      afterWrites: (action) => {
        afterWrites.push(action);
      },
    };
    const result = body(tx);
    if (lock === NO_DIRECTORY) {
      // Nothing to write there but empty files (a cancel --all of no job stages the queue as it was).
      if (staged.some(({ jobs }) => jobs.length > 0) || storedConfig !== undefined || archived !== null) throw new WouldWrite();
      return result;
    }
    const written: string[] = [];
    this.writing = staged.length > 0;
    try {
      for (const { file, jobs, add, changed } of staged) {
        const path = paths[file];
        try {
          // One journal line, the queue not read whole; or else (a checkpoint is due) added to the queue read whole.
          if (add && this.log.add(add, jobs, lock) !== null) {
            written.push(basename(paths.journal));
            continue;
          }
        } catch (error) {
          if (error instanceof LockLostError && written.length === 0 && archived !== null) {
            throw new LockLostError(error.lockPath, error.reason, [], [], archived);
          }
          throw error;
        }
        // After a failed write the file may or may not have been replaced: parse it next time.
        const before = file === 'queue' ? this.loadQueue(true) : undefined;
        delete this.cache[file];
        try {
          if (before) {
            const changedAt = changed?.base === before.jobs ? changed.at : undefined;
            this.cache.queue = await this.log.write(before, add ? [...before.jobs, ...jobs] : jobs, lock, { changedAt });
          } else {
            // The identity of the file this write made, not of whatever is at the path by now.
            const stat = await writeFileDurablyAsync(path, this.dlqEncoder.encodeParts(jobs), { beforeRename: () => lock.assertHeld() });
            this.cache.dlq = { identity: versionOf(stat), value: jobs };
          }
        } catch (error) {
          if (error instanceof LockLostError && written.length === 0 && archived !== null) {
            throw new LockLostError(error.lockPath, error.reason, [], [], archived);
          }
          if (!(error instanceof LockLostError) || written.length === 0) throw error;
          const notWritten = staged.slice(written.length).map((entry) => basename(paths[entry.file]));
          throw new LockLostError(error.lockPath, error.reason, written, notWritten);
        }
        written.push(basename(path));
      }
    } finally {
      this.writing = false;
    }
    if (storedConfig !== undefined) {
      delete this.cache.config;
      writeFileDurably(paths.config, `${JSON.stringify(storedConfig, null, 2)}\n`, { secret: true, beforeRename: () => lock.assertHeld() });
    }
    if (dropEnvs) {
      // After the writes: a crash before them must not leave a job without its environment. And
      // only while the lock is ours: another enqueue may have just come to use one of them.
      lock.assertHeld();
      dropUnusedEnvs(paths, envIdsOf([...loadQueue(), ...(dlq ?? this.loadJobs('dlq'))]));
    }
    for (const action of afterWrites) {
      lock.assertHeld();
      action();
    }
    return result;
  }

  private indexOf(jobs: readonly Job[], now: Date): ClaimIndex {
    const last = this.claimIndex;
    // The positions this store's last write changed, when it made `jobs` from the jobs the index is of.
    const change = this.cache.queue?.change;
    const changedAt = change !== undefined && change.after === jobs && change.before === last?.jobs ? change.changedAt : undefined;
    const index = last === undefined ? buildClaimIndex(jobs, now) : followClaimIndex(last.index, last.jobs, jobs, now, changedAt);
    this.claimIndex = { jobs, index };
    return index;
  }

  /**
   * Whether queue.json changed since this store last read or wrote it: another process wrote
   * it. A cheap stat, for telling a change event of one's own write from another's.
   */
  queueChangedElsewhere(): boolean {
    // Under the lock, no other process writes: a change seen while writing is this store's own.
    if (this.writing) return false;
    const cached = this.cache.queue;
    if (cached === undefined || fileVersion(this.paths.queue) !== cached.checkpoint) return true;
    const journal = statSync(this.paths.journal, { bigint: true, throwIfNoEntry: false });
    if (journal === undefined) return cached.journalInode !== null;
    return journal.ino !== cached.journalInode || journal.size !== BigInt(cached.journalBytes);
  }

  /**
   * Folds the journal into queue.json, under the lock, if it has any line: queue.json alone is
   * then complete. Returns whether it did.
   */
  async checkpoint(): Promise<boolean> {
    return withLock(this.paths.root, this.paths.lock, async (lock) => {
      const state = this.loadQueue(true);
      if (state.journalBytes === 0) return false;
      delete this.cache.queue;
      this.writing = true;
      try {
        this.cache.queue = await this.log.checkpoint(state, state.jobs, lock);
      } finally {
        this.writing = false;
      }
      return true;
    });
  }

  /** Whether jobs are processing, as far as this store knows. */
  hasProcessingJobs(): boolean {
    const state = this.cache.queue;
    return state !== undefined && totalCounts(summaryOf(state)).processing > 0;
  }

  /** Whether the journal holds lines that queue.json does not, as far as this store knows. */
  hasJournal(): boolean {
    return (this.cache.queue?.journalBytes ?? 0) > 0;
  }

  /** Whether the data directory is there. */
  dataDirExists(): boolean {
    return existsSync(this.paths.root);
  }

  /** Whether queue.json exists (it does once anything was enqueued, unless the data dir was deleted). */
  queueFileExists(): boolean {
    return existsSync(this.paths.queue);
  }

  /** Both files as they are now, without the lock, with a crashed move's duplicate hidden. */
  snapshot(): Snapshot {
    const { paths } = this;
    const read = readConsistently({
      dlqIdentity: () => fileVersion(paths.dlq),
      queue: () => this.loadJobs('queue', false),
      dlq: () => readJobFile(paths.dlq) as DeadJob[],
    });
    return reconcile(read.queue, read.dlq);
  }

  /** A read of the queue (`queue`) and of the DLQ without the lock, consistent as `snapshot`'s (readConsistently). */
  private withDlq<Q>(queue: () => Q): { queue: Q; dlq: DeadJob[] } {
    return readConsistently({ dlqIdentity: () => fileVersion(this.paths.dlq), queue, dlq: () => this.loadJobs('dlq') as DeadJob[] });
  }

  /**
   * The queue in outline (outline.ts) and the DLQ, as they are now, without the lock, read as
   * `snapshot` reads them: a command that shows a few jobs, or counts them, parses no other job
   * of a large queue. null when a crashed move left a job in both files: `snapshot` repairs that.
   */
  outlineSnapshot(): OutlineSnapshot | null {
    const read = this.withDlq(() => this.log.readOutline(false));
    if (read.dlq.some((job) => read.queue.jobs.has(job.id))) return null;
    return read;
  }

  /**
   * The queue summed up (queue-log.ts readSummary) and the DLQ, as `snapshot` reads them, without
   * a read of queue.json's jobs; null where the files do not hold the summary. A job that a
   * crashed move left in both files counts in both until the next change repairs it.
   */
  summarySnapshot(): { queue: JobsSummary; dlq: DeadJob[] } | null {
    const read = this.withDlq(() => this.log.readSummary());
    return read.queue === null ? null : { queue: read.queue, dlq: read.dlq };
  }

  /**
   * The jobs `list --limit` may show of the queue (queue-log.ts readTail) and the DLQ, as
   * `snapshot` reads them; null where queue.json does not say where its tail is, or a crashed
   * move left a job of the tail in both files (`snapshot` repairs that).
   */
  tailSnapshot(): { queue: QueueTailJobs; dlq: DeadJob[] } | null {
    const { queue, dlq } = this.withDlq(() => this.log.readTail());
    if (queue === null) return null;
    const ids = new Set(queue.jobs.map((job) => job.id));
    return dlq.some((job) => ids.has(job.id)) ? null : { queue, dlq };
  }

  /**
   * The jobs of `ids` in the queue (queue-log.ts findLight) and the DLQ, as `snapshot` reads
   * them; null where queue.json's head does not allow a lookup, or a crashed move left one of them
   * in both files (`snapshot` repairs that).
   */
  findSnapshot(ids: readonly string[]): { queue: Map<string, Job>; dlq: DeadJob[] } | null {
    const { queue, dlq } = this.withDlq(() => this.log.findLight(ids));
    if (queue === null || dlq.some((job) => queue.has(job.id))) return null;
    return { queue, dlq };
  }

  /** The whole job of an outline of `snapshot`. */
  materialize(outline: JobOutline, snapshot: OutlineSnapshot): Job {
    return materialize(outline, snapshot.queue.bytes, this.paths.queue);
  }

  /**
   * queue.json as it is now, without the lock (every write is an atomic rename, so it is whole),
   * parsed only if it changed since this store last saw it. Shared with the cache: do not change it.
   */
  readQueue(): readonly Job[] {
    return this.loadJobs('queue', false);
  }

  readConfig(): Config {
    return readConfig(this.paths.config);
  }

  /** Clears the temp files, a minute old or older, that writers killed mid-write left behind. */
  removeStaleTempFiles(): number {
    this.tidied = true;
    const { paths } = this;
    // envs/ too: a killed enqueue's temp file there holds a whole environment, tokens and all.
    return [paths.root, paths.archive, paths.managers, paths.envs].reduce((sum, dir) => sum + removeStaleTempFiles(dir, 60_000), 0);
  }

  /**
   * Once per process, after its first successful change (so that a command refused for bad
   * input changes nothing on disk): a killed writer's temp file goes with the next command.
   */
  tidyOnce(): void {
    if (this.tidied) return;
    try {
      this.removeStaleTempFiles();
    } catch {
      // Leftovers are harmless; the next writer tries again.
    }
  }
}

/** How often a lock-free read of both files starts again because dlq.json changed under it. */
const CONSISTENT_READ_TRIES = 10;

/**
 * Reads queue.json, then dlq.json, and checks that dlq.json is the same file before and after;
 * if not, reads both again (up to CONSISTENT_READ_TRIES times, then keeps the last pair). A move
 * between the files is two renames in one lock cycle, the file that gains the job first. Read
 * between the two writes of a `dlq retry` (queue.json, then dlq.json), the old queue.json and the
 * new dlq.json would both lack the job; but then dlq.json was replaced after the read began, and
 * the pair is read again. Every other interleaving shows the job once, or in both files, which
 * `reconcile` resolves. dlq.json is the file watched because it changes only when a job moves,
 * while queue.json changes with every claim and outcome.
 */
export function readConsistently<Q, D>(read: { dlqIdentity(): string; queue(): Q; dlq(): D }): { queue: Q; dlq: D } {
  for (let tries = 1; ; tries++) {
    const identity = read.dlqIdentity();
    const queue = read.queue();
    const dlq = read.dlq();
    if (read.dlqIdentity() === identity || tries === CONSISTENT_READ_TRIES) return { queue, dlq };
  }
}

export function readJobFile(path: string): Job[] {
  return parseJobDocument(readJsonIfExists(path), path);
}

export function readConfig(path: string): Config {
  return resolveConfig(readStoredConfig(path), path);
}
