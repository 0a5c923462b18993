/**
 * The loop of `queuectl wait`: it reads the jobs without the store's lock, and only when the
 * store's version says they changed. It looks every WAIT_POLL_MS, or sooner when the store
 * reports a change; so a wait costs a cheap look a few times per second while nothing happens.
 */
import type { Found, Store } from '../ports/store.js';
import type { Job } from '../rules/job.js';
import { observe, pace, tally, vanished, waitTargets, type Pace, type WaitTally, type Watched } from '../rules/wait.js';
import { OutageGrace } from './outage.js';

/** Longest time between two looks at the files. */
export const WAIT_POLL_MS = 250;
/** Shortest time between two looks, however often fs.watch fires. */
const MIN_GAP_MS = 50;

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
      if (counts.unfinished === 0 || report.timedOut) return report;
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
      const gap = MIN_GAP_MS - (Date.now() - lookedAt);
      if (gap > 0 && Date.now() + gap < deadline) await new Promise((resolve) => setTimeout(resolve, gap));

      try {
        const next = await store.version();
        if (next !== signature) {
          watched = await look(store, watched);
          signature = next;
        }
        grace.ok();
      } catch (error) {
        if (!grace.bear(error)) throw error;
      }
    }
  } finally {
    stopWatching();
  }
}

async function look(store: Store, watched: readonly Watched[]): Promise<Watched[]> {
  const found = await store.find(watched.map((entry) => entry.id), { archive: false });
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
