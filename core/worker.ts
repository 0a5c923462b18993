/**
 * A worker child's side of the work: run the jobs the manager hands over, one at a time, with
 * `sh -c` in a process group of their own; capture their output to the job's log; report how
 * each ended. The manager may hand over the next job while one runs, so that the worker starts
 * it the moment the current one ends instead of waiting for a lock cycle. The manager claims
 * and records under the lock; a worker never touches the queue files, so a job that kills its
 * worker (`kill -9 $PPID`) cannot leave a file half-written.
 */
import type { ProcessingJob } from './job.js';
import { describeOutcome } from './outcome.js';
import { TOKEN_VARIABLE } from './run-processes.js';
import { runCommand, sendSignal, type RunningCommand } from './runner.js';
import type { ManagerMessage, WorkerMessage } from './worker-protocol.js';
import { appendToLog, closeRunLog, openRunLog } from '../store/job-logs.js';
import type { DataPaths } from '../store/paths.js';

export interface WorkerOptions {
  paths: DataPaths;
  /** Sends a message to the manager; `then` runs once it is handed to the channel. */
  send: (message: WorkerMessage, then?: () => void) => void;
  /** One line per event, for the manager's output. */
  log: (line: string) => void;
  /** Milliseconds between SIGTERM and SIGKILL when a run is stopped. */
  graceMs?: number;
}

interface CurrentRun {
  job: ProcessingJob;
  command: RunningCommand;
  /** Why the run was stopped from outside, for its log. */
  stoppedBecause?: string;
  ended: Promise<void>;
}

export class Worker {
  private current: CurrentRun | undefined;
  /** Jobs handed over to run after the current one. */
  private readonly next: ProcessingJob[] = [];
  private exitWhenIdle = false;
  /**
   * Process groups of runs stopped from outside (a timeout, a revoke, an abort): SIGTERM went
   * to the group and SIGKILL follows after a grace period, on a timer that dies with this
   * process. Anything left of them is killed before the worker exits.
   */
  private readonly stoppedGroups: number[] = [];

  constructor(
    private readonly options: WorkerOptions,
    /** Called once the worker has nothing running and was told to exit. */
    private readonly onExit: () => void,
  ) {}

  handle(message: ManagerMessage): void {
    switch (message.type) {
      case 'run':
        if (this.exitWhenIdle) this.giveBack(message.job);
        else if (this.current) this.next.push(message.job);
        else this.start(message.job);
        break;
      case 'revoke': {
        if (this.current?.job.lease.token === message.token) {
          this.stopRun(message.reason);
          break;
        }
        const queued = this.next.findIndex((job) => job.lease.token === message.token);
        if (queued !== -1) this.giveBack(this.next.splice(queued, 1)[0]!);
        break;
      }
      case 'abort':
        this.leave();
        this.stopRun('the worker was told to stop now');
        break;
      case 'exit':
        this.leave();
        if (!this.current) this.exit();
        break;
    }
  }

  /** The manager is gone, so no one can record this run: kill it at once, group and all. */
  async orphaned(): Promise<void> {
    this.next.length = 0; // their leases bring them back
    const run = this.current;
    if (run) {
      run.command.kill();
      await run.ended;
    }
  }

  /** From now on: no new job; the ones waiting go back to the manager. */
  private leave(): void {
    if (!this.exitWhenIdle) this.options.send({ type: 'exiting' });
    this.exitWhenIdle = true;
    for (const job of this.next.splice(0)) this.giveBack(job);
  }

  private exit(): void {
    for (const pgid of this.stoppedGroups) sendSignal(-pgid, 'SIGKILL');
    this.onExit();
  }

  private giveBack(job: ProcessingJob): void {
    this.options.send({ type: 'released', id: job.id, token: job.lease.token });
  }

  private start(job: ProcessingJob): void {
    const { paths, send, log } = this.options;
    const token = job.lease.token;
    const runs = `${job.attempts} of ${job.max_retries + 1}`;
    const startedAt = new Date().toISOString();
    log(`${job.id}: run ${runs} started: ${job.command}`);
    const logFd = openRunLog(
      paths,
      job.id,
      `--- queuectl: run ${runs} started ${startedAt} by worker ${process.pid} in ${job.cwd}: ${job.command}`,
    );
    let command: RunningCommand;
    try {
      command = runCommand({
        command: job.command,
        cwd: job.cwd,
        env: {
          ...process.env,
          QUEUECTL_JOB_ID: job.id,
          QUEUECTL_ATTEMPT: String(job.attempts),
          QUEUECTL_DATA_DIR: paths.root,
          [TOKEN_VARIABLE]: token,
        },
        timeout: job.timeout,
        logFd,
        ...(this.options.graceMs === undefined ? {} : { graceMs: this.options.graceMs }),
      });
    } finally {
      closeRunLog(logFd);
    }
    send({ type: 'started', token, pgid: command.pid });
    const started = Date.now();
    const run: CurrentRun = {
      job,
      command,
      ended: command.done.then((outcome) => {
        const seconds = (Date.now() - started) / 1000;
        const how = run.stoppedBecause ? `stopped (${run.stoppedBecause})` : describeOutcome(outcome);
        if ((run.stoppedBecause || outcome.kind === 'timed_out') && command.pid !== null) this.stoppedGroups.push(command.pid);
        appendToLog(paths, job.id, `--- queuectl: run ${runs} ${how} after ${seconds.toFixed(2)} s`);
        this.current = undefined;
        // Exit only once the outcome is on its way: a message sent right before exit is lost.
        send({ type: 'finished', id: job.id, token, outcome, startedAt, seconds }, () => {
          if (this.exitWhenIdle && !this.current) this.exit();
        });
        const following = this.exitWhenIdle ? undefined : this.next.shift();
        if (following) this.start(following);
      }),
    };
    this.current = run;
  }

  private stopRun(reason: string): void {
    const run = this.current;
    if (!run || run.stoppedBecause) return;
    run.stoppedBecause = reason;
    run.command.stop();
  }
}
