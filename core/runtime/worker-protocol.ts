/**
 * The messages between a worker manager and its worker children (over the fork IPC channel).
 * The manager alone talks to the store: it claims jobs for its workers and records their starts
 * and outcomes in batched lock cycles, and reads the stored environments they run in. A worker
 * runs what it is given and says how it went.
 */
import type { ClaimedJob } from '../rules/job.js';
import type { RunOutcome } from '../rules/outcome.js';
import type { LogPiece } from '../ports/host.js';

/** Manager → worker. */
export type ManagerMessage =
  /**
   * Run this job, claimed for you under its lease, now (you are idle). `logLimit`: the store's
   * `log_limit` as of the claim, for a store many hosts share that keeps the runs' logs.
   */
  | { type: 'run'; job: ClaimedJob; logLimit: number }
  /** The stored environment you asked for, or why it cannot be had. */
  | { type: 'env'; id: string; env: Record<string, string> }
  | { type: 'env'; id: string; error: string }
  /** The job is no longer yours (taken back after its lease, or canceled): kill the run. */
  | { type: 'revoke'; token: string; reason: string }
  /** Stop now: kill the current run; its outcome is recorded as a kill. */
  | { type: 'abort' }
  /** Nothing more to do: finish the running job, then exit. */
  | { type: 'exit' };

/** Worker → manager. */
export type WorkerMessage =
  /** Started and idle: give me a job. */
  | { type: 'ready' }
  /** Told to stop (by the manager or by a SIGTERM of its own): hand me nothing more. */
  | { type: 'exiting' }
  /**
   * The command started at `startedAt`; `pgid` is its process group, for the manager to kill if
   * this worker dies.
   */
  | { type: 'started'; token: string; pgid: number | null; startedAt: string }
  /**
   * The run ended, as this worker saw it: started at `startedAt`, ended at `endedAt`. `log`: the
   * end of its log, for the manager to write with the outcome (see RunLogs.endRun).
   */
  | { type: 'finished'; id: string; token: string; outcome: RunOutcome; startedAt: string; endedAt: string; log?: LogPiece }
  /**
   * The stored environment `id` (a job's env_id), read by the manager from the store: a worker
   * of short runs then needs no connection to a store of its own.
   */
  | { type: 'env'; id: string }
  /** A job handed over that this worker will not start (it is stopping, or busy). */
  | { type: 'released'; id: string; token: string };
