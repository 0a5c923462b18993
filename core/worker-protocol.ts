/**
 * The messages between a worker manager and its worker children (over the fork IPC channel).
 * The manager alone talks to the store: it claims jobs for its workers and records their
 * outcomes in batched lock cycles. A worker runs what it is given and says how it went.
 */
import type { ProcessingJob } from './job.js';
import type { RunOutcome } from './outcome.js';

/** Manager → worker. */
export type ManagerMessage =
  /** Run this job, claimed for you under its lease: now, or after the one running now. */
  | { type: 'run'; job: ProcessingJob }
  /** The job is no longer yours (taken back after its lease, or canceled): kill the run. */
  | { type: 'revoke'; token: string; reason: string }
  /** Stop now: kill the current run; its outcome is recorded as a kill. */
  | { type: 'abort' }
  /** Nothing more to do: give back the jobs not started, finish the running one, exit. */
  | { type: 'exit' };

/** Worker → manager. */
export type WorkerMessage =
  /** Started and idle: give me a job. */
  | { type: 'ready' }
  /** Told to stop (by the manager or by a SIGTERM of its own): hand me nothing more. */
  | { type: 'exiting' }
  /** The run started; `pgid` is its process group, for the manager to kill if this worker dies. */
  | { type: 'started'; token: string; pgid: number | null }
  /** The run ended. */
  | { type: 'finished'; id: string; token: string; outcome: RunOutcome; startedAt: string; seconds: number }
  /** A job handed over that this worker will not start (stopping, or revoked). */
  | { type: 'released'; id: string; token: string };
