/**
 * The loop of `queuectl wait`: it reads queue.json and dlq.json without the lock (every write
 * is an atomic rename, so a read never sees half a file) and only when they changed, which a
 * stat of both tells. It looks every WAIT_POLL_MS, or sooner when fs.watch reports a change in
 * the data dir; so a wait costs a few stats per second while nothing happens.
 */
import { findArchivedJobs } from '../store/archive.js';
import { dataSignature, watchDataDir } from '../store/data-watch.js';
import type { QueueStore } from '../store/queue-store.js';
import type { Job } from './job.js';
import { observe, pace, tally, vanished, waitTargets, type Pace, type WaitTally, type Watched } from './wait.js';

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
export async function waitForJobs(store: QueueStore, options: WaitOptions): Promise<WaitReport> {
  const start = Date.now();
  const deadline = options.timeoutMs === null ? Infinity : start + options.timeoutMs;
  let signature = dataSignature(store.paths); // before the read, so no change slips between the two
  const first = store.snapshot();
  const listed = new Set([...first.queue, ...first.dlq].map((job) => job.id));
  let watched = waitTargets(first.queue, first.dlq, options.ids, archivedCopies(store, options.ids.filter((id) => !listed.has(id))));
  const finishedAtStart = tally(watched).finished;

  let wake: (() => void) | undefined;
  const stopWatching = watchDataDir(store.paths, () => wake?.());
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

      const next = dataSignature(store.paths);
      if (next === signature) continue;
      signature = next;
      watched = look(store, watched);
    }
  } finally {
    stopWatching();
  }
}

function look(store: QueueStore, watched: readonly Watched[]): Watched[] {
  const { queue, dlq } = store.snapshot();
  const present = new Map<string, Job>();
  for (const job of queue) present.set(job.id, job);
  for (const job of dlq) present.set(job.id, job);
  const missing = vanished(watched, present);
  return observe(watched, present, archivedCopies(store, missing));
}

/** The archived copies of the jobs named (those that retention moved out of queue.json). */
function archivedCopies(store: QueueStore, ids: readonly string[]): Map<string, Job> {
  const archived = new Map<string, Job>();
  if (ids.length > 0) for (const [id, { job }] of findArchivedJobs(store.paths, new Set(ids))) archived.set(id, job);
  return archived;
}
