/**
 * The loop of `queuectl wait`: it reads the jobs without the store's lock, and only when the
 * store's version says they changed. It looks every WAIT_POLL_MS, or sooner when the store
 * reports a change; so a wait costs a cheap look a few times per second while nothing happens.
 * A look reads the jobs not finished yet; the finished ones every FINISHED_LOOK_MS and before
 * the wait ends. And a look costly for its number of jobs comes less often (LOOK_SPACING): a
 * wait on 20,000 jobs once took more CPU than the workers running them.
 */
import type { Found, Store } from '../ports/store.js';
import { isFinished, type Job } from '../rules/job.js';
import { observe, pace, tally, vanished, waitTargets, type Pace, type WaitTally, type Watched } from '../rules/wait.js';
import { OutageGrace } from './outage.js';

/** Longest time between two looks at the files. */
export const WAIT_POLL_MS = 250;
/** Shortest time between two looks, however often fs.watch fires. */
const MIN_GAP_MS = 50;
/**
 * After a look, at least this many times its CPU time without one: a wait takes a tenth of a core
 * at most. Its CPU time, not its duration: on a loaded machine (or behind a slow server) a look
 * waits longer for its turn without costing more, and should not push the next one further off.
 */
const LOOK_SPACING = 9;
/** How often the finished jobs are read again too: `dlq retry` or `restart` may have revived one. */
export const FINISHED_LOOK_MS = 2_000;

export interface WaitReport {
  watched: Watched[];
  tally: WaitTally;
  pace: Pace;
  elapsedMs: number;
  /** The timeout passed before every job finished. */
  timedOut: boolean;
}

export interface WaitOptions {
  /** Jobs to wait for; none = every job not finished yet. */
  ids: readonly string[];
  /** Milliseconds; null = no limit, 0 = look once. */
  timeoutMs: number | null;
  /** Called after each look while jobs are unfinished, for a progress display. */
  onProgress?: (report: WaitReport) => void;
}

/** Resolves when every job waited for is finished, or the timeout passed. Unknown ids throw at once. */
export async function waitForJobs(store: Store, options: WaitOptions): Promise<WaitReport> {
  const start = Date.now();
  const deadline = options.timeoutMs === null ? Infinity : start + options.timeoutMs;
  let signature = await store.version(); // before the read, so no change slips between the two
  let watched: Watched[];
  if (options.ids.length === 0) {
    const jobs = await store.list();
    watched = waitTargets(jobs, [], []);
  } else {
    const found = await store.find(options.ids);
    watched = waitTargets(present(found), [], options.ids, archived(found));
  }
  const finishedAtStart = tally(watched).finished;

  let wake: (() => void) | undefined;
  const stopWatching = store.watch(() => wake?.());
  const grace = new OutageGrace();
  /** The finished jobs are as last read: no change since a look that read them. */
  let finishedCurrent = true;
  let finishedReadAt = Date.now();
  /** The CPU time of the last look (see LOOK_SPACING). */
  let lookCpuMs = 0;
  /** The last look failed (the store out of reach): the next waits its turn, whatever is left to read. */
  let failed = false;
  try {
    for (;;) {
      const now = Date.now();
      const counts = tally(watched);
      const report: WaitReport = {
        watched,
        tally: counts,
        pace: pace(finishedAtStart, counts, now - start),
        elapsedMs: now - start,
        timedOut: counts.unfinished > 0 && now >= deadline,
      };
      if ((counts.unfinished === 0 && finishedCurrent) || report.timedOut) return report;
      if (counts.unfinished > 0 || failed) {
        options.onProgress?.(report);
        const lookedAt = Date.now();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(WAIT_POLL_MS, Math.max(0, deadline - lookedAt)));
          function done() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
        const gap = Math.max(MIN_GAP_MS, LOOK_SPACING * lookCpuMs) - (Date.now() - lookedAt);
        // Up to the deadline at most, for one last look at it.
        if (gap > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(gap, Math.max(0, deadline - Date.now()))));
      }

      try {
        // All unfinished as far as the last look saw: once more with the finished ones, which one may have left.
        const withFinished = counts.unfinished === 0 || Date.now() - finishedReadAt >= FINISHED_LOOK_MS;
        const next = await store.version();
        if (next !== signature || (withFinished && !finishedCurrent)) {
          const began = Date.now();
          const cpu = process.cpuUsage();
          watched = await look(store, watched, withFinished);
          const used = process.cpuUsage(cpu);
          lookCpuMs = (used.user + used.system) / 1000;
          signature = next;
          if (withFinished) finishedReadAt = began;
          finishedCurrent = withFinished;
        }
        grace.ok();
        failed = false;
      } catch (error) {
        if (!grace.bear(error)) throw error;
        failed = true;
      }
    }
  } finally {
    stopWatching();
  }
}

/** A new view of `watched`: of every job, or of those not finished as last seen (`withFinished` false). */
async function look(store: Store, watched: readonly Watched[], withFinished: boolean): Promise<Watched[]> {
  const read = withFinished ? watched : watched.filter((entry) => !entry.gone && !isFinished(entry.job));
  const found = await store.find(read.map((entry) => entry.id), { archive: false });
  const current = new Map(present(found).map((job) => [job.id, job]));
  // The archive is searched only for jobs last seen unfinished that are no longer current.
  const missing = vanished(watched, current);
  if (missing.length === 0) return observe(watched, current);
  const again = await store.find(missing);
  // A job restarted from the archive between the two looks is current again.
  for (const job of present(again)) current.set(job.id, job);
  return observe(watched, current, archived(again));
}

/** The jobs found that are current (queued or dead). */
function present(found: ReadonlyMap<string, Found>): Job[] {
  return [...found.values()].filter((entry) => entry.archive === undefined).map((entry) => entry.job);
}

/** The archived copies found (of jobs that retention moved out). */
function archived(found: ReadonlyMap<string, Found>): Map<string, Job> {
  return new Map([...found].filter(([, entry]) => entry.archive !== undefined).map(([id, entry]) => [id, entry.job]));
}
