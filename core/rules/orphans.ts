/**
 * Which runs on this host have lost their claim and must stop: on a store that many hosts share,
 * the manager that takes back a job whose lease ran out may be on another host, where it cannot
 * see, nor kill, what the lost run left running here. So each manager looks at the runs of its
 * store on its own host (see core/runtime/orphan-sweep.ts) and this decides which to kill.
 */
import type { Job } from './job.js';

/** A run found on this host: its claim, and whether the worker that started it is gone. */
export interface LocalRun {
  id: string;
  token: string;
  /**
   * Its `sh` was handed to another parent (init, a subreaper): the worker that started it died,
   * so no one is left to stop it or record it.
   */
  workerGone: boolean;
}

/**
 * How long a run whose claim is gone but whose worker may still live is left to that worker,
 * which stops it with SIGTERM and, after its grace of 5 s (KILL_GRACE_MS), SIGKILL: killed from
 * here first, its log would not say why it stopped.
 */
export const OWNER_GRACE_MS = 10_000;

/** Whether `token` is still the claim of job `job` (as the store has it now). */
export function holdsClaim(job: Job | undefined, token: string): boolean {
  return job?.state === 'processing' && job.lease.token === token;
}

/**
 * The runs to kill now: those whose claim is gone (taken back, the job canceled, restarted or
 * deleted) and whose worker is gone too, or that were seen without their claim for
 * OWNER_GRACE_MS. A run whose claim holds is never killed here: its lease decides, and whoever
 * takes it back. `lostSince`: when each run was first seen without its claim, as returned by the
 * previous call; the result carries it on for the runs still found.
 */
export function runsToKill(
  runs: readonly LocalRun[],
  current: ReadonlyMap<string, Job>,
  lostSince: ReadonlyMap<string, number>,
  now: number,
): { kill: LocalRun[]; lostSince: Map<string, number> } {
  const kill: LocalRun[] = [];
  const stillLost = new Map<string, number>();
  for (const run of runs) {
    if (holdsClaim(current.get(run.id), run.token)) continue;
    const since = lostSince.get(run.token) ?? now;
    if (run.workerGone || now - since >= OWNER_GRACE_MS) kill.push(run);
    else stillLost.set(run.token, since);
  }
  return { kill, lostSince: stillLost };
}
