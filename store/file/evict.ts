/**
 * Retention applied inside a transaction, for every writer that finishes jobs (the dispatch
 * cycle, cancel): the finished jobs past `retention` leave queue.json for the archive, or are
 * deleted when `archive` is off, and their logs go with them (see Transaction.evict).
 */
import type { Job } from '../../core/rules/job.js';
import { applyRetention, RETENTION_GRACE_MS } from '../../core/rules/retention.js';
import type { Transaction } from './job-files.js';

/** The queue as it stays once retention has moved out what it evicts. */
/** `finishedAtMost`: how many finished jobs `queue` holds at most, when the caller knows (see applyRetention). */
export function evictFinished(tx: Transaction, queue: readonly Job[], now: Date, finishedAtMost?: number): Job[] {
  const config = tx.config();
  const { keep, evicted } = applyRetention(queue, config.retention, now, config.archive ? 0 : RETENTION_GRACE_MS, finishedAtMost);
  if (evicted.length === 0) return keep;
  // A stale DLQ copy of a job leaving for the archive (a `dlq retry` cut in half by a crash)
  // would outlive it and bring it back as dead: load the DLQ, which repairs that, before the job
  // leaves. (A copy the repair finds newer stays, in the DLQ.)
  const before = tx.queue();
  tx.dlq();
  const stillQueued = new Set(tx.queue().map((job) => job.id));
  const takenByDlq = new Set(before.filter((job) => !stillQueued.has(job.id)).map((job) => job.id));
  tx.evict(evicted.filter((job) => !takenByDlq.has(job.id)));
  tx.dropUnusedEnvs();
  return keep.filter((job) => !takenByDlq.has(job.id));
}
