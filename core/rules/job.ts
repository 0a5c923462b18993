/**
 * The job model. Each state carries only the data that makes sense in it, so the compiler
 * rejects, say, a completed job without `finished_at` (pueue models its task status the same way).
 * The on-disk shape is flat JSON with `null` for what a state does not have, readable with jq.
 */

export const JOB_STATES = ['pending', 'processing', 'failed', 'completed', 'dead', 'canceled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** ISO-8601 UTC timestamp, e.g. `2026-11-23T10:30:00.000Z`. */
export type Timestamp = string;

/** Who holds a processing job, and until when that claim holds unless renewed. */
export interface Lease {
  /**
   * pid of the worker child that runs the job; `null` while the claim waits in its manager for
   * the next worker to come free (the job has not started).
   */
  worker_pid: number | null;
  /** Random per claim: a result is recorded only by the holder of the current token. */
  token: string;
  /** After this instant another worker may take the job back (the run then counts as failed). */
  expires_at: Timestamp;
  /**
   * The host whose worker runs it, once started (a pid alone is not enough on a store that many
   * hosts share). Absent from runs started before queuectl recorded it.
   */
  host?: string;
}

interface JobFields {
  /** Unique across queue and DLQ, safe as a file name: `[A-Za-z0-9._-]{1,128}`, not `.` or `..`. */
  id: string;
  /** Run with `sh -c`. */
  command: string;
  /** Directory the command runs in: where it was enqueued from, unless `--cwd` said otherwise. */
  cwd: string;
  /**
   * Variables the job sets itself (`--env`, `"env"`), over its environment; null when none.
   * (Absent from files written before queuectl captured environments.)
   */
  env?: Record<string, string> | null;
  /**
   * The environment of the `enqueue` that made the job, stored once in `envs/<env_id>.json`
   * however many jobs share it; null when none was captured (`capture_env false`): the job then
   * runs in the worker's environment.
   */
  env_id?: string | null;
  /** Higher runs first among ready jobs. @default 0 */
  priority: number;
  /**
   * The named queue it belongs to, whose limit (`queuectl parallel`) and pause apply to it.
   * Absent from files written before named queues: such a job is in `default`.
   */
  queue?: string;
  /**
   * Jobs that must complete before this one runs (`--after`); empty when none. Absent from files
   * written before dependencies.
   */
  after?: string[];
  /** Retries after the first run: the job runs at most `1 + max_retries` times. */
  max_retries: number;
  /** Seconds a run may take before its process group is killed; `null` = no limit. */
  timeout: number | null;
  /** Runs started so far (a lost run counts; a claim that never started does not). */
  attempts: number;
  /** Not claimed before this instant: the enqueue time, the scheduled time, or the next retry. */
  run_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PendingJob extends JobFields {
  state: 'pending';
  started_at: null;
  finished_at: null;
  exit_code: null;
  last_error: null;
  lease: null;
}

/**
 * Claimed by a worker manager and handed, or about to be handed, to its next free worker. Its
 * command has not started: no run is counted for it, and no worker is named in its lease. Its
 * run fields still describe the previous run, if there was one (a retry). A claim waits in its
 * manager only briefly (see the dispatcher); a manager that dies leaves it to its lease.
 */
export interface ClaimedJob extends JobFields {
  state: 'processing';
  /** When the previous run started; `null` for a first run. */
  started_at: Timestamp | null;
  /** When the previous run ended; `null` for a first run. */
  finished_at: Timestamp | null;
  /** The exit code of the previous run, when it had one. */
  exit_code: number | null;
  /** The error of the previous run, while this one is a retry. */
  last_error: string | null;
  lease: Lease & { worker_pid: null };
}

/** Its command runs now, on the worker the lease names; `attempts` counts this run. */
export interface RunningJob extends JobFields {
  state: 'processing';
  /** When the worker started the command. */
  started_at: Timestamp;
  finished_at: null;
  exit_code: null;
  /** The error of the previous run, while this one is a retry. */
  last_error: string | null;
  lease: Lease & { worker_pid: number };
}

/** A job under a lease: claimed and waiting for a worker, or running. */
export type ProcessingJob = ClaimedJob | RunningJob;

export interface FailedJob extends JobFields {
  state: 'failed';
  started_at: Timestamp;
  finished_at: Timestamp;
  /** `null` when the run did not exit by itself (signal, timeout, could not start, lost). */
  exit_code: number | null;
  last_error: string;
  lease: null;
}

export interface CompletedJob extends JobFields {
  state: 'completed';
  started_at: Timestamp;
  finished_at: Timestamp;
  exit_code: 0;
  last_error: null;
  lease: null;
}

export interface DeadJob extends JobFields {
  state: 'dead';
  started_at: Timestamp;
  finished_at: Timestamp;
  exit_code: number | null;
  last_error: string;
  lease: null;
}

/**
 * Stopped by `queuectl cancel` while pending, failed (waiting for a retry) or processing (its
 * run was killed), or because a job it runs after ended dead or canceled while it waited. Final:
 * it stays in the queue for inspection and is never claimed again.
 */
export interface CanceledJob extends JobFields {
  state: 'canceled';
  /** When its last run started; `null` when it never ran. */
  started_at: Timestamp | null;
  /** When it was canceled. */
  finished_at: Timestamp;
  /** The exit code of its last run, when that run exited by itself (a killed run has none). */
  exit_code: number | null;
  /** `canceled by user …`, with what it was doing then, or `canceled: its dependency … is dead`. */
  last_error: string;
  lease: null;
}

export type Job = PendingJob | ProcessingJob | FailedJob | CompletedJob | DeadJob | CanceledJob;
/** Jobs a worker may claim once `run_at` has come. */
export type ClaimableJob = PendingJob | FailedJob;
/** Jobs `queuectl cancel` may stop: they have not finished yet. */
export type CancelableJob = PendingJob | FailedJob | ProcessingJob;
/** Jobs that will not run again unless a person says so. */
export type FinishedJob = CompletedJob | DeadJob | CanceledJob;
/** The states of finished jobs: what `wait` waits for and `prune` may remove. */
export const FINISHED_STATES = ['completed', 'dead', 'canceled'] as const satisfies readonly FinishedJob['state'][];
/** The states a job can be canceled in: everything that may still run. */
export const CANCELABLE_STATES = ['pending', 'failed', 'processing'] as const satisfies readonly CancelableJob['state'][];

export function isFinished(job: Job): job is FinishedJob {
  return job.state === 'completed' || job.state === 'dead' || job.state === 'canceled';
}

export function isCancelable(job: Job): job is CancelableJob {
  return job.state === 'pending' || job.state === 'failed' || job.state === 'processing';
}

/** A processing job whose command has started (its start is recorded): its lease names its worker. */
export function isRunning(job: Job | JobHead): job is RunningJob {
  return job.state === 'processing' && (job as ProcessingJob).lease.worker_pid !== null;
}

/** A processing job claimed by a manager for its next free worker, not started. */
export function isClaimed(job: Job): job is ClaimedJob {
  return job.state === 'processing' && job.lease.worker_pid === null;
}

export function isClaimable(job: Job): job is ClaimableJob {
  return job.state === 'pending' || job.state === 'failed';
}

/** A count of 0 for every state, to count jobs into. */
export function zeroCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
}

/** How many of `jobs` are in each state. */
/**
 * What `status` and `enqueue` decide on of a job: a store may give these without the rest
 * (the file store reads them from the head of each line of a large queue.json). A processing
 * job is given whole, for its lease.
 */
export type JobHead = Pick<Job, 'id' | 'state' | 'queue' | 'after' | 'created_at'>;

export function countStates(jobs: Iterable<Pick<Job, 'state'>>): Record<JobState, number> {
  const counts = zeroCounts();
  for (const job of jobs) counts[job.state]++;
  return counts;
}

export function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}

/** The queue of jobs enqueued without `--queue`. */
export const DEFAULT_QUEUE = 'default';

export function queueOf(job: Pick<Job, 'queue'>): string {
  return job.queue ?? DEFAULT_QUEUE;
}

/** The stored environments the jobs run in (their `env_id`s), each once. */
export function envIdsOf(jobs: Iterable<Pick<Job, 'env_id'>>): Set<string> {
  const ids = new Set<string>();
  for (const job of jobs) if (job.env_id) ids.add(job.env_id);
  return ids;
}

/** The jobs this one runs after (`--after`). */
export function dependenciesOf(job: Pick<Job, 'after'>): readonly string[] {
  return job.after ?? NO_DEPENDENCIES;
}
const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Whether `id` may name a job: it becomes a log file name, so it must be safe as one. */
export function isSafeId(id: string): boolean {
  return SAFE_ID.test(id) && id !== '.' && id !== '..';
}

/** A command as one line for a log or a table: a newline in it would look like the start of its output. */
export function oneLine(command: string): string {
  return command.replaceAll('\n', '\\n').replaceAll('\r', '\\r');
}

/**
 * The order of a job's fields in every command's JSON, as queue.json has a job the rules made:
 * the fields of its outline first (store/file/job-file.ts), then the others as the rules make them.
 */
const FIELD_ORDER = ['id', 'state', 'queue', 'after', 'created_at', 'updated_at', 'command', 'attempts', 'max_retries', 'priority', 'run_at', 'timeout', 'cwd', 'env', 'env_id', 'started_at', 'finished_at', 'exit_code', 'last_error', 'lease'];
const LEASE_ORDER = ['token', 'expires_at', 'worker_pid', 'host'];

/**
 * `job` with its fields (and its lease's) in the order queuectl makes them, whatever order a store
 * read them in: PostgreSQL's jsonb keeps its own (shortest keys first), and `show` and every
 * `--json` would differ from one store to the other. A field unknown here keeps its place after.
 */
export function inFieldOrder<J extends Job>(job: J): J {
  const ordered = inOrder(job as unknown as Record<string, unknown>, FIELD_ORDER);
  const lease = ordered.lease;
  if (lease !== null && typeof lease === 'object') ordered.lease = inOrder(lease as Record<string, unknown>, LEASE_ORDER);
  return ordered as unknown as J;
}

function inOrder(object: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const ordered: Record<string, unknown> = {};
  for (const key of order) if (Object.hasOwn(object, key)) ordered[key] = object[key];
  for (const key of Object.keys(object)) if (!Object.hasOwn(ordered, key)) ordered[key] = object[key];
  return ordered;
}
