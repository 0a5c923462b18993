/**
 * Whether anything will run the jobs a command waits on (`wait`, `enqueue --wait`, `logs -f`):
 * the worker managers of the data dir, and whether the queue is paused; and the notes that say
 * why nothing starts.
 */
import type { CommandContext } from './context.js';

/** Off a terminal, how long no worker manager must be seen before `wait` says so. */
const NO_WORKER_NOTICE_MS = 2_000;

/**
 * Why jobs waited on do not start, said once each on stderr: the queue is paused; no worker
 * manager runs (not for one still starting up: only once none has been seen for a while). A
 * wait that cannot end on its own should not look like one that is slow.
 */
export class StallNotes {
  private toldPaused = false;
  private toldNoWorker = false;

  constructor(
    private readonly ctx: Pick<CommandContext, 'dataDir'>,
    private readonly workers: WorkerCheck,
  ) {}

  /** `noWorker`: whether to say that no manager runs; `before`: called before a note is written. */
  say({ noWorker = true, before }: { noWorker?: boolean; before?: () => void } = {}): void {
    if (!this.toldPaused && this.workers.paused()) {
      this.toldPaused = true;
      before?.();
      process.stderr.write(`queuectl: the queue is paused: no job starts until queuectl resume\n`);
    }
    if (noWorker && !this.toldNoWorker && this.workers.noneForMs() >= NO_WORKER_NOTICE_MS) {
      this.toldNoWorker = true;
      before?.();
      process.stderr.write(`queuectl: no worker manager is running on ${this.ctx.dataDir}; the jobs wait until one starts (queuectl worker start)\n`);
    }
  }
}

/**
 * After the store could not be read, how long it must answer again before a look that finds no
 * manager counts: in an outage the managers' records lapse, and come back with their next
 * renewal (every 2 s), not at once.
 */
const RECORDS_SETTLE_MS = 5_000;

/** Whether no worker manager runs on the data dir, looked up at most every second. */
export class WorkerCheck {
  private checkedAt = 0;
  /** When a look first found none, since the last look that found one. */
  private noneSince: number | null = null;
  private isPaused = false;
  /** Since when the store answers again after a look failed (-Infinity: no look failed; null: the last one failed). */
  private answeringSince: number | null = -Infinity;

  constructor(private readonly ctx: Pick<CommandContext, 'host' | 'store'>) {}

  none(): boolean {
    if (Date.now() - this.checkedAt >= 1_000) void this.look();
    return this.noneSince !== null;
  }

  /** Looks up the managers and whether the queue is paused; `none` looks again once a second. */
  async look(): Promise<void> {
    const now = Date.now();
    this.checkedAt = now;
    let none: boolean;
    try {
      none = (await this.ctx.host.managers.live()).length === 0;
    } catch {
      // An unreadable registry, a store out of reach: nothing is known of the managers meanwhile.
      this.answeringSince = null;
      this.noneSince = null;
      return;
    }
    this.answeringSince ??= now;
    const settled = now - this.answeringSince >= RECORDS_SETTLE_MS;
    this.noneSince = none && settled ? (this.noneSince ?? now) : null;
    try {
      this.isPaused = (await this.ctx.store.config()).paused;
    } catch {
      // A broken setting: the workers and `status` report it.
    }
  }

  /** Whether the queue is paused (`queuectl pause`), looked up with the managers. */
  paused(): boolean {
    this.none();
    return this.isPaused;
  }

  /** For how long no manager has been seen (0 while one runs). */
  noneForMs(): number {
    return this.none() ? Date.now() - this.noneSince! : 0;
  }
}
