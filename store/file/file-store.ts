/**
 * The file store: the jobs in `queue.json` and `dlq.json` of a data directory, every change one
 * transaction under its lock (see job-files.ts), finished jobs moved out to `archive/` by
 * retention. Each operation of the Store port is one function of this folder, deciding with the
 * rules of `core/rules/`, loaded when first used: a command loads only what it does (`status`
 * starts as fast as a read can).
 */
import { existsSync, watch } from 'node:fs';
import type { Config, ConfigKey } from '../../core/rules/config.js';
import type { FinishedJob, Job, PendingJob } from '../../core/rules/job.js';
import { summarizeJobs, withDeadJobs, type JobsSummary, type SummedJob } from '../../core/rules/summary.js';
import type { JobSpec } from '../../core/rules/job-spec.js';
import type { ArchivedCompletion } from '../../core/rules/stats.js';
import { listJobs, type JobFilter } from '../../core/rules/list.js';
import type { PruneRule } from '../../core/rules/prune.js';
import type {
  ArchivePart,
  CancelRequest,
  CancelResult,
  CancelSelection,
  CycleHooks,
  CycleRequest,
  CycleResult,
  ConfigWrite,
  EnqueueRequest,
  Found,
  PreparedStore,
  PruneRequest,
  Restarted,
  RestartRequest,
  RestartSelection,
  Store,
  StoreChange,
} from '../../core/ports/store.js';
import { archivedCompletions, findArchivedJobs } from './archive.js';
import { loadEnv } from './envs.js';
import { dataSignature } from './file-version.js';
import { JobFiles } from './job-files.js';
import { outlineOf } from './outline.js';
import type { CheckpointPolicy } from './queue-log.js';

/** How long the queue stays unchanged before a manager folds the journal into queue.json. */
export const QUIET_CHECKPOINT_MS = 1_000;
/**
 * While jobs are processing, their leases are renewed every few seconds, and the queue is never
 * quiet for long: a manager then folds the journal in at most this often (each time a rewrite of
 * the whole queue.json, 41 MB at 100,000 jobs), not after every renewal.
 */
export const BUSY_CHECKPOINT_MS = 60_000;

/** How much longer a quiet queue waits to be folded into queue.json (see FileStore.armCheckpoint). */
export function foldWait(processing: boolean, lastCheckpoint: number, now: number): number {
  return processing ? Math.max(0, lastCheckpoint + BUSY_CHECKPOINT_MS - now) : 0;
}

export class FileStore implements Store {
  readonly files: JobFiles;
  /** The dispatch cycle, loaded by a manager's first cycle (a command that runs none never loads it). */
  private cycleModule: Promise<typeof import('./dispatch-cycle.js')> | undefined;
  /** Folds the journal into queue.json once the queue went quiet (see armCheckpoint). */
  private quiet: { timer: NodeJS.Timeout; seen: string } | undefined;
  /** When this store last folded the journal in (or started). */
  private lastCheckpoint = Date.now();

  /** `policy`: when queue.json is rewritten whole (queue-log.ts); the defaults but in tests. */
  constructor(root: string, policy: CheckpointPolicy = {}) {
    this.files = new JobFiles(root, policy);
  }

  get location(): string {
    return this.files.paths.root;
  }

  async prepare(): Promise<PreparedStore> {
    this.files.ensureDir();
    this.files.readQueue(); // a corrupt queue.json is reported now, not by every worker later
    return { schemaVersion: null }; // each file states its own format (DESIGN.md), read as it comes
  }

  async clearLeftovers(): Promise<number> {
    return this.files.removeStaleTempFiles();
  }

  /**
   * Nothing is held open between operations. A manager that stops with the journal unfolded and
   * no job processing folds it now: the queue is at rest, and no one else may be left to do it
   * (where jobs still run, their managers do).
   */
  async close(): Promise<void> {
    const due = this.quiet !== undefined;
    if (this.quiet) clearTimeout(this.quiet.timer);
    this.quiet = undefined;
    if (due && this.files.hasJournal() && !this.files.hasProcessingJobs()) await this.files.checkpoint().catch(() => undefined);
  }

  async cycle(request: CycleRequest, hooks: CycleHooks): Promise<CycleResult> {
    const { dispatchCycle } = await (this.cycleModule ??= import('./dispatch-cycle.js'));
    const result = await this.files.transact((tx) => ({
      ...dispatchCycle(tx, request, hooks.now ?? new Date(), hooks.newToken, hooks.runStarted),
      config: tx.config(),
    }));
    this.armCheckpoint();
    return result;
  }

  /**
   * A manager folds the journal into queue.json within QUIET_CHECKPOINT_MS of the queue's last
   * change (its own or another process's), so that at rest queue.json alone is complete and
   * current for `jq`; while jobs are processing, at most every BUSY_CHECKPOINT_MS. Every cycle
   * that finds the journal changed starts the wait again.
   */
  private armCheckpoint(): void {
    if (!this.files.hasJournal()) return;
    const seen = dataSignature(this.files.paths);
    if (this.quiet?.seen === seen) return;
    if (this.quiet) clearTimeout(this.quiet.timer);
    const fold = () => {
      const wait = foldWait(this.files.hasProcessingJobs(), this.lastCheckpoint, Date.now());
      if (wait > 0) {
        // Never what keeps a process that is done from exiting (close folds what is due).
        this.quiet = { timer: setTimeout(fold, wait).unref(), seen };
        return;
      }
      this.quiet = undefined;
      this.lastCheckpoint = Date.now();
      // A failure (the data dir gone, the lock busy) leaves the journal to the next writer.
      this.files.checkpoint().catch(() => undefined);
    };
    const timer = setTimeout(fold, QUIET_CHECKPOINT_MS).unref();
    this.quiet = { timer, seen };
  }

  async enqueue(specs: readonly JobSpec[], request: EnqueueRequest): Promise<PendingJob[]> {
    return (await import('./enqueue.js')).enqueueJobs(this.files, specs, request);
  }

  async cancel(selection: CancelSelection, request: CancelRequest): Promise<CancelResult> {
    return (await import('./cancel.js')).cancelJobs(this.files, selection, request);
  }

  async restart(selection: RestartSelection, request: RestartRequest): Promise<Restarted> {
    return (await import('./restart.js')).restartJobs(this.files, selection, request);
  }

  async prune(rule: PruneRule, request: PruneRequest = {}): Promise<FinishedJob[]> {
    return (await import('./prune.js')).pruneJobs(this.files, rule, request);
  }

  async pruneArchive(olderThanMs: number, dryRun: boolean, now?: Date): Promise<ArchivePart[]> {
    return (await import('./prune.js')).pruneArchive(this.files, olderThanMs, dryRun, now);
  }

  async env(id: string): Promise<Record<string, string>> {
    return loadEnv(this.files.paths, id);
  }

  async config(): Promise<Config> {
    return this.files.readConfig();
  }

  async setConfig<K extends ConfigKey>(key: K, value: Config[K], options: ConfigWrite = {}): Promise<Config> {
    return (await import('./config-file.js')).updateConfigValue(this.files, key, () => value, options);
  }

  async updateConfig<K extends ConfigKey>(key: K, change: (current: Config[K]) => Config[K], options: ConfigWrite = {}): Promise<Config> {
    return (await import('./config-file.js')).updateConfigValue(this.files, key, change, options);
  }

  async list(filter: JobFilter = {}): Promise<Job[]> {
    // The most recent of a large queue: from its tail, when they are all in it (queue-log.ts readTail).
    const tail = filter.limit !== undefined && filter.limit > 0 ? this.files.tailSnapshot() : null;
    if (tail !== null) {
      const picked = listJobs([...tail.queue.jobs, ...tail.dlq], filter);
      if (picked.length === filter.limit && picked[0]!.created_at >= tail.queue.bound) return picked;
    }
    // A few of a large queue: picked from its outline, only they parsed.
    const outline = filter.limit === undefined ? null : this.files.outlineSnapshot();
    if (outline !== null) {
      const picked = listJobs([...outline.queue.jobs.values(), ...outline.dlq.map(outlineOf)], filter);
      return picked.map((job) => this.files.materialize(job, outline));
    }
    const { queue, dlq } = this.files.snapshot();
    return listJobs([...queue, ...dlq], filter);
  }

  async summary(): Promise<JobsSummary> {
    // Kept with each change of a large queue: read from the two ends of the queue's files.
    const kept = this.files.summarySnapshot();
    if (kept !== null) return withDeadJobs(kept.queue, kept.dlq);
    const outline = this.files.outlineSnapshot();
    if (outline === null) return summarizeJobs(await this.list());
    // Each job but the processing ones in outline: a large queue.json is not parsed.
    const heads: SummedJob[] = [];
    for (const job of outline.queue.jobs.values()) heads.push(job.state === 'processing' ? this.files.materialize(job, outline) : job);
    return summarizeJobs([...heads, ...outline.dlq]);
  }

  async archivedCompletions(since: Date): Promise<ArchivedCompletion[]> {
    return archivedCompletions(this.files.paths, since);
  }

  async find(ids: readonly string[], options: { archive?: boolean } = {}): Promise<Map<string, Found>> {
    const wanted = new Set(ids);
    const found = new Map<string, Found>();
    // A few of a large queue: looked up by id (queue-lookup.ts), else picked from its outline.
    const looked = this.files.findSnapshot([...wanted]);
    const outline = looked === null ? this.files.outlineSnapshot() : null;
    if (looked !== null) {
      for (const [id, job] of looked.queue) found.set(id, { job, where: 'queue.json' });
      for (const job of looked.dlq) if (wanted.has(job.id)) found.set(job.id, { job, where: 'dlq.json' });
    } else if (outline !== null) {
      for (const id of wanted) {
        const job = outline.queue.jobs.get(id);
        if (job !== undefined) found.set(id, { job: this.files.materialize(job, outline), where: 'queue.json' });
      }
      for (const job of outline.dlq) if (wanted.has(job.id)) found.set(job.id, { job, where: 'dlq.json' });
    } else {
      const { queue, dlq } = this.files.snapshot();
      for (const job of queue) if (wanted.has(job.id)) found.set(job.id, { job, where: 'queue.json' });
      for (const job of dlq) if (wanted.has(job.id)) found.set(job.id, { job, where: 'dlq.json' });
    }
    if (options.archive === false) return found;
    const missing = new Set([...wanted].filter((id) => !found.has(id)));
    for (const [id, { job, batch }] of findArchivedJobs(this.files.paths, missing)) found.set(id, { job, where: `archive/${batch}`, archive: batch });
    return found;
  }

  async current(ids: readonly string[]): Promise<ReadonlyMap<string, Job> | null> {
    // Read without the lock (every write is an atomic rename); a claim only ever goes away, so a
    // file that no longer holds it is proof enough. Processing jobs are in queue.json.
    const jobs = this.files.readQueue();
    // No queue.json at all: the data dir was deleted, which is its manager's to handle.
    if (jobs.length === 0 && !this.files.queueFileExists()) return null;
    const wanted = new Set(ids);
    const current = new Map<string, Job>();
    for (const job of jobs) if (wanted.has(job.id)) current.set(job.id, job);
    return current;
  }

  async version(): Promise<string> {
    return dataSignature(this.files.paths);
  }

  /**
   * A change of queue.json by another process, once its writer released the lock (a reader now
   * would only wait out the lock's retries): the rename of queue.json and the release of .lock
   * are two events. Every write is a rename of a new file, so a stat tells another's write from
   * this store's own.
   */
  watch(onChange: (change: StoreChange) => void): () => void {
    const { paths } = this.files;
    let changeSeen = false;
    try {
      const watcher = watch(paths.root, { persistent: false }, (_event, filename) => {
        if (filename === 'config.json') {
          onChange('config');
          return;
        }
        if (filename === 'queue.json' || filename === 'queue.journal') {
          if (!this.files.queueChangedElsewhere()) return;
          changeSeen = true;
        } else if (filename !== '.lock' || !changeSeen) {
          return;
        }
        if (existsSync(paths.lock)) return;
        changeSeen = false;
        onChange('jobs');
      });
      watcher.on('error', () => watcher.close());
      return () => watcher.close();
    } catch {
      return () => undefined; // no change events here: polling alone finds changes
    }
  }
}
