/**
 * `queuectl cancel <id…>`: one transaction marks the jobs canceled (a processing job loses its
 * lease with it), then the processes of the runs that were going on are stopped. The worker of
 * such a run sees its command die, finds its token no longer current and records nothing, so the
 * job stays canceled and is never retried.
 */
import { cancelLogLine } from '../rules/cancel.js';
import { isClaimed, type CancelableJob, type CanceledJob, type ProcessingJob } from '../rules/job.js';
import type { Host, RunLogs } from '../ports/host.js';
import type { CancelSelection, Store } from '../ports/store.js';
import { findRunProcessesOfJobs, runDataDirsByToken, stopRunProcesses, type RunProcess, type StopResult } from '../os/run-processes.js';
import { KILL_GRACE_MS } from '../runtime/runner.js';

/**
 * How long after its claim a run may still be about to start its command: the worker spawns
 * right after the claim, so cancel keeps looking for its processes that long.
 */
const SPAWN_WINDOW_MS = 2_000;

/**
 * How long cancel leaves a run to its own manager, which sees the cancel at once and has the
 * worker stop the run: the worker then ends the run's log with why. Killed from here first, the
 * run's end reads as a death by SIGTERM. What is still there after this is stopped from here
 * (a manager that is gone or hangs).
 */
const OWNER_FIRST_MS = 1_000;

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
  /**
   * It ran elsewhere, where its manager stops the run: on another host (a store many hosts
   * share), or under another data dir of this host that shares the store.
   */
  elsewhere: { host: string } | { dataDir: string } | null;
}

export interface CancelOptions {
  now?: Date;
  /** Milliseconds between SIGTERM and SIGKILL. @default KILL_GRACE_MS */
  graceMs?: number;
  /** An interrupt: before the cancel is written, it cancels nothing and rejects with the reason (see CancelRequest). */
  signal?: AbortSignal;
}

/** Cancels the jobs (all or none) and resolves once the processes of their runs are gone. */
export async function cancelJobs(store: Store, host: Host, selection: CancelSelection, options: CancelOptions = {}): Promise<Canceled[]> {
  const now = options.now ?? new Date();
  const graceMs = options.graceMs ?? KILL_GRACE_MS;
  let found = new Map<string, RunProcess[]>();
  /** Runs of this host going on under another data dir that shares the store, by job: that data dir. */
  let underOther = new Map<string, string>();
  const result = await store.cancel(selection, {
    now,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    hasRun: (processing) => {
      found = findRunProcessesOfJobs(host.root, processing.map((job) => job.id));
      // Looked for now, as the processes here are: once the cancel is written, their manager stops them.
      underOther = runsUnderOtherDataDirs(processing.filter((job) => isHere(job, host) && (found.get(job.id)?.length ?? 0) === 0), host);
      return (id) => (found.get(id)?.length ?? 0) > 0 || underOther.has(id);
    },
    // The jobs canceled for a dependency get no line: most never ran, and their last_error says
    // it (a line each, for 50,000 of them, held the lock past its stale limit).
    noteCanceled: (job, archive) => note(host.logs, job, archive),
  });
  const running = new Map(result.running.map((job) => [job.id, job]));
  const named = await Promise.all(
    result.canceled.map(async ({ job, was }): Promise<Canceled> => {
      const run = running.get(job.id);
      const claimed = run !== undefined && isClaimed(run) && (found.get(job.id)?.length ?? 0) === 0;
      const other = underOther.get(job.id);
      const elsewhere = run !== undefined && !isHere(run, host) ? { host: run.lease.host! } : other !== undefined ? { dataDir: other } : null;
      if (elsewhere !== null) return { job, was, claimed, stopped: null, dependent: false, elsewhere };
      return { job, was, claimed, stopped: run ? await stopRun(host.root, run, found.get(job.id) ?? [], graceMs) : null, dependent: false, elsewhere };
    }),
  );
  return [...named, ...result.dependents.map((job): Canceled => ({ job, was: 'pending', claimed: false, stopped: null, dependent: true, elsewhere: null }))];
}

/** Whether the job's lease is of this host (or of a store only one host uses). */
function isHere(job: ProcessingJob, host: Host): boolean {
  return job.lease.host === undefined || job.lease.host === host.name;
}

/** Of these runs, those going on under another data dir of this host, by job: that data dir. */
function runsUnderOtherDataDirs(runs: readonly ProcessingJob[], host: Host): Map<string, string> {
  const dataDirs = runDataDirsByToken(runs.map((job) => job.lease.token));
  const under = new Map<string, string>();
  for (const job of runs) {
    const dataDir = dataDirs.get(job.lease.token);
    if (dataDir !== undefined && dataDir !== '' && dataDir !== host.root) under.set(job.id, dataDir);
  }
  return under;
}

function stopRun(dataDir: string, job: ProcessingJob, found: readonly RunProcess[], graceMs: number): Promise<StopResult> {
  return stopRunProcesses(dataDir, job.id, {
    graceMs,
    found,
    ownerFirstMs: OWNER_FIRST_MS,
    watchUntil: Date.parse(isClaimed(job) ? job.updated_at : job.started_at) + SPAWN_WINDOW_MS,
  });
}

/** `queuectl logs <id>` of a job that ran shows when and how it was canceled. */
function note(logs: RunLogs, job: CanceledJob, archive: string | undefined): void {
  const line = cancelLogLine(job);
  if (line === null) return;
  try {
    logs.note(job.id, line, archive);
  } catch {
    // The cancel is written; a log that cannot be appended to does not undo it.
  }
}
