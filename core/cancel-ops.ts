/**
 * `queuectl cancel <id…>`: one transaction marks the jobs canceled (a processing job loses its
 * lease with it), then the processes of the runs that were going on are stopped. The worker of
 * such a run sees its command die, finds its token no longer current and records nothing, so the
 * job stays canceled and is never retried.
 */
import { planCancel } from './cancel.js';
import { cancelDependents, endings } from './dependencies.js';
import { isClaimed, type CancelableJob, type CanceledJob, type ProcessingJob } from './job.js';
import { evictFinished } from './retention-ops.js';
import { findRunProcessesOfJobs, stopRunProcesses, type RunProcess, type StopResult } from './run-processes.js';
import { KILL_GRACE_MS } from './runner.js';
import { noteInLog } from '../store/job-logs.js';
import type { QueueStore } from '../store/queue-store.js';

/**
 * How long after its claim a run may still be about to start its command: the worker spawns
 * right after the claim, so cancel keeps looking for its processes that long.
 */
const SPAWN_WINDOW_MS = 2_000;

export interface Canceled {
  job: CanceledJob;
  /** The state it was canceled in. */
  was: CancelableJob['state'];
  /** It was processing but had not started: claimed by a manager for its next free worker. */
  claimed: boolean;
  /** For a job that was running: the processes of its run that were stopped. */
  stopped: StopResult | null;
  /** It was not named: it was waiting on a job canceled here (its `last_error` says which). */
  dependent: boolean;
}

export interface CancelOptions {
  now?: Date;
  /** Milliseconds between SIGTERM and SIGKILL. @default KILL_GRACE_MS */
  graceMs?: number;
}

/** The jobs to cancel: by id, or every job in one of `states` as the lock finds them. */
export type CancelSelection = readonly string[] | { states: readonly CancelableJob['state'][] };

/** Cancels the jobs (all or none) and resolves once the processes of their runs are gone. */
export async function cancelJobs(store: QueueStore, selection: CancelSelection, options: CancelOptions = {}): Promise<Canceled[]> {
  const now = options.now ?? new Date();
  const graceMs = options.graceMs ?? KILL_GRACE_MS;
  const { plan, found, dependents } = await store.transact((tx) => {
    const dlq = tx.dlq(); // first: loading it may repair the queue
    const ids = 'states' in selection ? tx.queue().filter((job) => selection.states.includes(job.state as CancelableJob['state'])).map((job) => job.id) : selection;
    const wanted = new Set(ids);
    const processing = tx.queue().filter((job) => job.state === 'processing' && wanted.has(job.id));
    // Looked up before the write: once it lands, the worker of a run revokes it at once and may
    // end its processes before this command looks, which would then find none.
    const found = findRunProcessesOfJobs(store.paths.root, processing.map((job) => job.id));
    const plan = planCancel(tx.queue(), dlq, ids, now, (id) => (found.get(id)?.length ?? 0) > 0);
    const cascade = cancelDependents(plan.queue, endings(plan.canceled.map(({ job }) => job)), now);
    // Before retention may move the jobs, and their logs with them, to the archive. The jobs
    // canceled for a dependency get no line: most never ran, and their last_error says it (a
    // line each, for 50,000 of them, held the lock past its stale limit).
    for (const { job } of plan.canceled) note(store, job);
    tx.setQueue(evictFinished(tx, cascade.queue, now));
    return { plan, found, dependents: cascade.canceled };
  });
  const running = new Map(plan.running.map((job) => [job.id, job]));
  const named = await Promise.all(
    plan.canceled.map(async ({ job, was }): Promise<Canceled> => {
      const run = running.get(job.id);
      const claimed = run !== undefined && isClaimed(run) && (found.get(job.id)?.length ?? 0) === 0;
      return { job, was, claimed, stopped: run ? await stopRun(store, run, found.get(job.id) ?? [], graceMs) : null, dependent: false };
    }),
  );
  return [...named, ...dependents.map((job): Canceled => ({ job, was: 'pending', claimed: false, stopped: null, dependent: true }))];
}

function stopRun(store: QueueStore, job: ProcessingJob, found: readonly RunProcess[], graceMs: number): Promise<StopResult> {
  return stopRunProcesses(store.paths.root, job.id, {
    graceMs,
    found,
    watchUntil: Date.parse(isClaimed(job) ? job.updated_at : job.started_at) + SPAWN_WINDOW_MS,
  });
}

/** `queuectl logs <id>` shows when and how the job was canceled. */
function note(store: QueueStore, job: CanceledJob): void {
  try {
    noteInLog(store.paths, job.id, `--- queuectl: ${job.last_error} at ${job.finished_at}`);
  } catch {
    // The cancel is written; a log that cannot be appended to does not undo it.
  }
}
