/**
 * Named queues, as pueue's groups: each job is in one (`default` unless `--queue` said
 * otherwise), and a queue may have a limit on how many of its jobs run at once across every
 * manager of the data dir (`queuectl parallel`), and may be paused on its own. Pure.
 */
import { DEFAULT_QUEUE, queueOf, zeroCounts, type Job, type JobState } from './job.js';

/** What a person set for one queue; what is left out is the default (no limit, not paused). */
export interface QueueSettings {
  /** At most this many of its jobs processing at once; absent = no limit. */
  parallel?: number;
  /** No job of it starts (`queuectl pause --queue`). */
  paused?: boolean;
}

export type QueueTable = Readonly<Record<string, QueueSettings>>;

/** The limit of a queue, or null when it has none. */
export function parallelOf(settings: QueueTable, queue: string): number | null {
  return settings[queue]?.parallel ?? null;
}

/** The table with one queue's settings changed; a queue left with only defaults drops out. */
export function withQueueSettings(table: QueueTable, queue: string, change: QueueSettings): Record<string, QueueSettings> {
  const merged: QueueSettings = { ...table[queue], ...change };
  const settings: QueueSettings = {};
  if (merged.parallel !== undefined) settings.parallel = merged.parallel;
  if (merged.paused === true) settings.paused = true;
  const next: Record<string, QueueSettings> = { ...table };
  if (Object.keys(settings).length === 0) delete next[queue];
  else next[queue] = settings;
  return next;
}

/**
 * Which queues a claim may take from, and how many more of each may start: built from the jobs
 * processing now, so that a limit holds across every manager, which all claim under the lock.
 */
export class QueueSlots {
  private readonly room = new Map<string, number>();
  /** No queue paused and every queue taken: `accepts` need not look. */
  private readonly acceptsAll: boolean;

  /** `only`: the queues this manager takes (`worker start --queue`), or null for every queue. */
  constructor(
    jobs: readonly Job[],
    private readonly settings: QueueTable,
    private readonly only: readonly string[] | null = null,
    /** Positions of `jobs` that hold every processing job, when the caller knows them. */
    processing?: readonly number[],
  ) {
    this.acceptsAll = only === null && Object.values(settings).every((queue) => queue.paused !== true);
    const limited = Object.entries(settings).filter(([, queue]) => queue.parallel !== undefined);
    if (limited.length === 0) return;
    for (const [name, queue] of limited) this.room.set(name, queue.parallel!);
    for (const i of processing ?? jobs.keys()) {
      const job = jobs[i]!;
      if (job.state !== 'processing') continue;
      const name = queueOf(job);
      const left = this.room.get(name);
      if (left !== undefined) this.room.set(name, left - 1);
    }
  }

  /** Whether jobs of `queue` may be claimed here at all: it is not paused, and this manager takes it. */
  accepts(queue: string): boolean {
    if (this.acceptsAll) return true;
    return this.settings[queue]?.paused !== true && (this.only === null || this.only.includes(queue));
  }

  /** Whether one more job of `queue` may start now. */
  hasRoom(queue: string): boolean {
    if (this.room.size === 0) return true;
    const left = this.room.get(queue);
    return left === undefined || left > 0;
  }

  /** One job of `queue` was claimed. */
  take(queue: string): void {
    const left = this.room.get(queue);
    if (left !== undefined) this.room.set(queue, left - 1);
  }
}

/** One queue as `status` and `parallel` show it. */
export interface QueueSummary {
  name: string;
  /** Its limit, or null for none. */
  parallel: number | null;
  paused: boolean;
  counts: Record<JobState, number>;
}

/**
 * Every queue that has jobs (`counts`: per queue and state, of the queue and the DLQ, as a
 * JobsSummary has them) or settings, by name, `default` first; `default` alone when there is neither.
 */
export function summarizeQueues(counts: Readonly<Record<string, Record<JobState, number>>>, settings: QueueTable): QueueSummary[] {
  const names = new Set([...Object.keys(counts), ...Object.keys(settings)]);
  if (names.size === 0) names.add(DEFAULT_QUEUE);
  return [...names]
    .sort((a, b) => (a === DEFAULT_QUEUE ? -1 : b === DEFAULT_QUEUE ? 1 : a < b ? -1 : 1))
    .map((name) => ({ name, parallel: parallelOf(settings, name), paused: settings[name]?.paused === true, counts: { ...(counts[name] ?? zeroCounts()) } }));
}
