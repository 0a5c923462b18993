/**
 * What `core/` needs of a store, by operation rather than by file, so that a store keeps its
 * jobs however suits it (two JSON files under a lock, a database table) and `core/` never knows
 * which. Each change is one all-or-nothing step of the store: under its lock, in its
 * transaction. Reads take no lock and see a consistent view: a job moved between two places
 * (the queue and the dead letter queue) shows once.
 *
 * Rules that every store must keep are `core/rules/`, which stores call; what a store must do is
 * pinned by the contract suite (store/contract.ts), run against every store.
 */
import type { Config, ConfigKey } from '../rules/config.js';
import type { LogPiece } from './host.js';
import type {
  CancelableJob,
  CanceledJob,
  ClaimedJob,
  FinishedJob,
  Job,
  PendingJob,
  ProcessingJob,
} from '../rules/job.js';
import type { JobSpec } from '../rules/job-spec.js';
import type { JobFilter } from '../rules/list.js';
import type { RunOutcome } from '../rules/outcome.js';
import type { PruneRule } from '../rules/prune.js';
import type { ArchivedCompletion } from '../rules/stats.js';
import type { JobsSummary } from '../rules/summary.js';

export interface RunRef {
  id: string;
  /** The lease token the run was claimed with. */
  token: string;
}

/** Why a run's job is no longer its own. */
export type LostBecause = 'canceled' | 'taken back';

/** A run that a worker started: when, and on which worker. */
export interface RunStart extends RunRef {
  workerPid: number;
  /** The host of that worker. */
  host?: string;
  /** When the worker started the command (for a run lost before it said so: when it was handed over). */
  startedAt: string;
}

/** A run that ended. Its start is recorded with it if no earlier cycle did. */
export interface RunEnd extends RunStart {
  outcome: RunOutcome;
  /** When the worker saw the command end; null when no one did (the worker was lost). */
  endedAt: string | null;
  /**
   * The end of the run's log, not yet in the store (see RunLogs.endRun): written with the
   * outcome, in the same step, even when the run's claim was lost (its log is its log all the
   * same). Only a store that keeps logs gets one.
   */
  log?: LogPiece;
}

/** What a worker manager asks of one dispatch cycle. */
export interface CycleRequest {
  /** Runs that started, to record. */
  starts?: readonly RunStart[];
  /** Runs that ended, to record. */
  outcomes: readonly RunEnd[];
  /** Claims that never started (they waited too long, or their manager is stopping): they go back, nothing counted. */
  release?: readonly RunRef[];
  /** Claims and runs whose leases to extend (empty when no renewal is due). */
  renew: readonly RunRef[];
  /** Claims and runs to check without renewing: the ones lost must be stopped. */
  verify?: readonly RunRef[];
  /** How many ready jobs to claim for the manager's workers. */
  claim: number;
  /** The queues the manager takes jobs from (`worker start --queue`); every queue when absent or null. */
  queues?: readonly string[] | null;
  /**
   * Whether to take back the jobs whose lease ran out. false: leave them, as a manager does that
   * has just reached the store again after failing to: their managers may have been cut off by
   * the same outage, and may renew them yet. @default true
   */
  recoverExpired?: boolean;
}

export interface CycleResult {
  /** Per outcome, in request order: the job as recorded, or null when the run's claim was lost. */
  recorded: (Job | null)[];
  /** Per outcome, in request order: why its claim was lost (the outcome is not recorded), or null. */
  lostClaims: (LostBecause | null)[];
  /** Runs (of `renew` or `verify`) whose job is no longer theirs: canceled, or taken back. */
  lost: (RunRef & { because: LostBecause })[];
  /** Jobs claimed, in claim order (at most `claim`). */
  claimed: ClaimedJob[];
  /** Jobs taken back because their lease ran out, as they are now. */
  recovered: { job: Job; token: string }[];
  /** Jobs canceled because a job they run after ended dead (see rules/dependencies.ts). */
  canceled: CanceledJob[];
  /** When the soonest waiting job becomes ready, if fewer jobs than asked for were claimed. */
  nextReadyAt: string | null;
  /** The settings as the cycle read them. */
  config: Config;
}

export interface CycleHooks {
  /**
   * Whether the run of a claim did start though its start is not recorded: asked only for an
   * expired claim, to tell a run that started just before its manager died (a lost run, counted)
   * from a claim that never started (given back).
   */
  runStarted(job: ProcessingJob): boolean;
  /** A new lease token. */
  newToken(): string;
  now?: Date;
}

export interface EnqueueRequest {
  /** The working directory of jobs that do not name one. */
  cwd: string;
  /** How to name the n-th spec in an error, e.g. `line 3`. */
  label?: (index: number) => string;
  now?: Date;
  /** The environment of the enqueue, for the jobs to run in when `capture_env` is on. */
  env?: Readonly<Record<string, string>>;
}

/** The jobs to cancel: by id, or every job in one of `states` as the store finds them under its lock. */
export type CancelSelection = readonly string[] | { states: readonly CancelableJob['state'][] };

export interface CancelRequest {
  now: Date;
  /**
   * An interrupt (Ctrl-C): looked at last before anything is written. Once it is aborted, the
   * store writes nothing and rejects with its reason; aborted later, the cancel goes through.
   */
  signal?: AbortSignal;
  /**
   * Asked under the store's lock, before anything is written, with the processing jobs to be
   * canceled: which of them have a run going (processes found). Looked up before the write:
   * once it lands, the worker of a run may end its processes before anyone looks.
   */
  hasRun(jobs: readonly ProcessingJob[]): (id: string) => boolean;
  /**
   * Each job canceled by name, for its log, once the cancel is written (never for one that did
   * not land), while the store holds its lock where it has one: `archive` names the part of the
   * archive the job's log went to when the cancel's retention moved it out. Not called for a
   * job whose log that retention deleted (`archive` off).
   */
  noteCanceled(job: CanceledJob, archive?: string): void;
}

export interface CancelResult {
  /** The jobs canceled by name, and the state each was in, in the order given. */
  canceled: { job: CanceledJob; was: CancelableJob['state'] }[];
  /** Of those, the ones that were processing, as they were. */
  running: ProcessingJob[];
  /** Jobs not named, canceled because they waited on a canceled one (their `last_error` says which). */
  dependents: CanceledJob[];
}

export type RestartSelection = { restart: readonly string[] } | { retry: readonly string[] | 'all' };

export interface RestartRequest {
  now: Date;
  /** Each job restarted, before anything is written (`fromArchive`: it came back from the archive): for its log. */
  noteRestarted(job: PendingJob, fromArchive: boolean): void;
}

export interface Restarted {
  /** The jobs put back to pending, in the order their ids were given. */
  restarted: PendingJob[];
  /**
   * Jobs canceled because one of the restarted jobs had ended dead or canceled while they waited
   * on it, directly or down a chain: a restart does not bring them back.
   */
  stillCanceled: CanceledJob[];
}

export interface PruneRequest {
  /** Decide and report, write nothing. */
  dryRun?: boolean;
  now?: Date;
}

/** A part of the archive, as `prune --archive` deletes it. */
export interface ArchivePart {
  name: string;
  /** When it was archived (epoch ms). */
  writtenAt: number;
  /** How many jobs it holds. */
  jobs: number;
}

/** A job found, and where: `where` is for people (a file of the data directory, a part of the archive, a table). */
export interface Found {
  job: Job;
  where: string;
  /** The part of the archive that holds it, for a job retention moved out. */
  archive?: string;
}

/**
 * What changed in a store, as `watch` reports it. `claims`: another manager's dispatch cycle
 * recorded its own runs and claimed ready jobs, and took no job from anyone, so the claims of
 * the others stand (their managers need not check them); a store that cannot tell says `jobs`.
 */
export type StoreChange = 'jobs' | 'claims' | 'config';

/** How a change of a setting is written (see Store.setConfig). */
export interface ConfigWrite {
  ifChanged?: boolean;
}

/** What `prepare` found. */
export interface PreparedStore {
  /** The version of the layout the store keeps its data in, where it states one (a database's schema); null where it does not. */
  schemaVersion: number | null;
}

export interface Store {
  /** Where the jobs are, for messages (a data directory, a database). */
  readonly location: string;

  /**
   * Makes the store ready to be written (creates what it needs) and checks that what it holds
   * can be read, so that a broken store is reported before any worker starts.
   */
  prepare(): Promise<PreparedStore>;
  /** Clears what writers killed mid-write left behind; returns how many leftovers it removed. */
  clearLeftovers(): Promise<number>;
  /** Lets go of what the store holds open (connections); it is not used after. */
  close(): Promise<void>;

  /**
   * One dispatch cycle of a worker manager, in one step: record starts and outcomes (checked
   * against each run's lease token), give back releases, renew and verify leases, take back jobs
   * whose lease ran out, cancel the dependents of jobs that ended dead, and claim ready jobs.
   */
  cycle(request: CycleRequest, hooks: CycleHooks): Promise<CycleResult>;

  /**
   * Adds the jobs as one batch, all or nothing. Ids must be new across the store and within the
   * batch; a dependency must be a job that can still complete (or one earlier in the batch).
   */
  enqueue(specs: readonly JobSpec[], request: EnqueueRequest): Promise<PendingJob[]>;

  /** Cancels the jobs (all or none), and the jobs waiting on them down the chain. */
  cancel(selection: CancelSelection, request: CancelRequest): Promise<CancelResult>;

  /** `restart` (finished jobs, wherever they are) and `dlq retry` (dead jobs): back to pending, attempts reset. */
  restart(selection: RestartSelection, request: RestartRequest): Promise<Restarted>;

  /** Deletes the finished jobs the rule picks (or, with `dryRun`, says which it would). */
  prune(rule: PruneRule, request?: PruneRequest): Promise<FinishedJob[]>;

  /** Deletes the parts of the archive older than `olderThanMs` (or says which it would). */
  pruneArchive(olderThanMs: number, dryRun: boolean, now?: Date): Promise<ArchivePart[]>;

  /**
   * The environment an enqueue captured (`capture_env`), by the id its jobs carry (`env_id`), for
   * a worker to run them in. Rejects with one line when it is gone. The worker asks its manager,
   * which reads it here: a worker of a short run then needs no way to the store of its own.
   */
  env(id: string): Promise<Record<string, string>>;

  /** The effective settings. A broken stored setting is an error. */
  config(): Promise<Config>;
  /**
   * Sets one setting, the others kept; returns the new effective settings. `ifChanged`: writes
   * only a change of the effective value (a `resume` of a queue not paused writes nothing, and
   * makes no data dir or schema where there is none); without it, the value is stored as given.
   */
  setConfig<K extends ConfigKey>(key: K, value: Config[K], options?: ConfigWrite): Promise<Config>;
  /** Changes one setting from its current value, in one step (`ifChanged`: see setConfig). */
  updateConfig<K extends ConfigKey>(key: K, change: (current: Config[K]) => Config[K], options?: ConfigWrite): Promise<Config>;

  /** The jobs not archived (queued and dead), oldest first (by enqueue), as the filter picks them. */
  list(filter?: JobFilter): Promise<Job[]>;
  /**
   * The jobs not archived (queued and dead) summed up for `status` (rules/summary.ts): what
   * `summarizeJobs(await list())` gives, however the store comes to it (a store of a large queue
   * keeps it up to date with each change rather than read every job).
   */
  summary(): Promise<JobsSummary>;
  /**
   * The completed jobs that retention moved to the archive and that finished at `since` or
   * later, for `stats`: on a busy queue a job leaves the queue minutes after it ends. Those it
   * deleted (`archive` off) are gone.
   */
  archivedCompletions(since: Date): Promise<ArchivedCompletion[]>;
  /**
   * Each of `ids` wherever it is: current (queued or dead), else its newest archived copy (not
   * searched for with `archive: false`). Unknown ids are left out.
   */
  find(ids: readonly string[], options?: { archive?: boolean }): Promise<Map<string, Found>>;
  /**
   * For a manager checking its claims after another process changed the jobs: the current copy
   * of each of `ids` that is queued or dead; null when the store holds nothing at all any more
   * (it was deleted), which is not proof that the jobs were taken back.
   */
  current(ids: readonly string[]): Promise<ReadonlyMap<string, Job> | null>;
  /** Changes whenever a job changes: compared with an earlier value, it says whether to read again. */
  version(): Promise<string>;
  /**
   * Calls `onChange` when another writer changed the jobs (once it is done writing) or the
   * settings; maybe late or never where the store cannot tell, so callers poll as well.
   * Returns the function that stops watching.
   */
  watch(onChange: (change: StoreChange) => void): () => void;
}
