/**
 * The worker loop, run by each worker child: claim the next ready job under the lock, run it
 * outside the lock while renewing the claim, record the outcome if the claim still holds,
 * repeat. An idle worker sleeps until the poll interval passes or the soonest delayed job
 * becomes ready, whichever comes first.
 */
import type { Config } from './config.js';
import type { ProcessingJob } from './job.js';
import { describeOutcome, type RunOutcome } from './outcome.js';
import { claimNext, recordOutcome, renewClaim } from './queue-ops.js';
import { runCommand, type RunningCommand } from './runner.js';
import { appendToLog, closeRunLog, openRunLog } from '../store/job-logs.js';
import type { QueueStore } from '../store/queue-store.js';

/** What a worker child tells its manager about the run in progress. */
export type RunNotice = { type: 'run'; id: string; token: string; pgid: number } | { type: 'idle' };

export interface WorkerOptions {
  store: QueueStore;
  /** One line per event (claims, outcomes, errors), for the manager's output. */
  log: (line: string) => void;
  /** Milliseconds between SIGTERM and SIGKILL when a run is stopped. */
  graceMs?: number;
}

export class Worker {
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: RunningCommand | undefined;
  private lastError = '';

  constructor(private readonly options: WorkerOptions) {}

  /** Finish the current job, then stop. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** Stop now: the current run is killed and recorded as a failed attempt. */
  abort(): void {
    this.stop();
    this.running?.stop();
  }

  async run(): Promise<void> {
    const { store } = this.options;
    while (!this.stopping) {
      let config: Config;
      let claimed: Awaited<ReturnType<typeof claimNext>>;
      try {
        config = store.readConfig();
        claimed = await claimNext(store, process.pid);
      } catch (error) {
        this.reportError(error);
        await this.idle(1000);
        continue;
      }
      for (const job of claimed.recovered) this.options.log(`took back ${job.id}: ${job.last_error} -> ${job.state}`);
      if (claimed.job) {
        await this.execute(claimed.job, config);
      } else {
        const untilReady = claimed.nextReadyAt === null ? Infinity : Date.parse(claimed.nextReadyAt) - Date.now();
        await this.idle(Math.max(10, Math.min(config.poll_interval, untilReady)));
      }
    }
  }

  private async execute(job: ProcessingJob, config: Config): Promise<void> {
    const { store, log } = this.options;
    const token = job.lease.token;
    const runs = `${job.attempts} of ${job.max_retries + 1}`;
    log(`${job.id}: run ${runs} started: ${job.command}`);
    const logFd = openRunLog(
      store.paths,
      job.id,
      `--- queuectl: run ${runs} started ${job.started_at} by worker ${process.pid} in ${job.cwd}: ${job.command}`,
    );
    let run: RunningCommand;
    try {
      run = runCommand({
        command: job.command,
        cwd: job.cwd,
        env: {
          ...process.env,
          QUEUECTL_JOB_ID: job.id,
          QUEUECTL_ATTEMPT: String(job.attempts),
          QUEUECTL_DATA_DIR: store.paths.root,
        },
        timeout: job.timeout,
        logFd,
        ...(this.options.graceMs === undefined ? {} : { graceMs: this.options.graceMs }),
      });
    } finally {
      closeRunLog(logFd);
    }
    this.running = run;
    // The manager kills this run's process group and records it as lost if this process dies.
    if (run.pid !== null) process.send?.({ type: 'run', id: job.id, token, pgid: run.pid } satisfies RunNotice);

    let claimLost = false;
    let renewing: Promise<unknown> = Promise.resolve();
    const heartbeat = setInterval(() => {
      renewing = renewClaim(store, job.id, token).then(
        (held) => {
          if (!held && !claimLost) {
            claimLost = true;
            run.stop(); // another worker has the job now: do not run it twice at once
          }
        },
        (error) => this.reportError(error),
      );
    }, (config.lease * 1000) / 3);

    const started = Date.now();
    const outcome = await run.done;
    clearInterval(heartbeat);
    await renewing;
    this.running = undefined;
    process.send?.({ type: 'idle' } satisfies RunNotice);
    const seconds = ((Date.now() - started) / 1000).toFixed(2);

    if (claimLost) {
      appendToLog(store.paths, job.id, `--- queuectl: run ${runs} stopped: its claim expired and the job was taken back`);
      log(`${job.id}: claim lost (lease expired); this run's outcome is dropped`);
      return;
    }
    appendToLog(store.paths, job.id, `--- queuectl: run ${runs} ${describeOutcome(outcome)} after ${seconds} s`);
    const recorded = await this.recordWithRetry(job, token, outcome);
    if (!recorded) return;
    const next = recorded;
    const detail =
      next.state === 'completed'
        ? ''
        : next.state === 'failed'
          ? `: ${next.last_error}; retry at ${next.run_at}`
          : next.state === 'dead'
            ? `: ${next.last_error}; moved to the DLQ`
            : '';
    log(`${job.id}: ${next.state} after ${seconds} s${detail}`);
  }

  private async recordWithRetry(job: ProcessingJob, token: string, outcome: RunOutcome) {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await recordOutcome(this.options.store, job.id, token, outcome);
        if (result.recorded) return result.job;
        const why = result.current?.state === 'canceled' ? 'canceled' : 'claim lost (lease expired)';
        this.options.log(`${job.id}: ${why}; this run's outcome is dropped`);
        return undefined;
      } catch (error) {
        this.reportError(error);
        // The claim's lease brings the job back if the outcome never gets written.
        if (attempt >= 3) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  private idle(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Logs an error once until a different one occurs, so a broken file does not flood the log. */
  private reportError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message === this.lastError) return;
    this.lastError = message;
    this.options.log(`error: ${message}`);
  }
}
