/**
 * A worker child's side of the work: run the job the manager hands over, one at a time, with
 * `sh -c` in a process group of its own; capture its output to the job's log; report when it
 * started and how it ended. A worker is handed a job only when it is idle: the manager keeps the
 * next jobs itself and gives each to whichever worker frees first, so a short job never waits
 * behind a long one. The manager claims and records under the lock; a worker never touches the
 * queue files, so a job that kills its worker (`kill -9 $PPID`) cannot leave a file half-written.
 */
import { oneLine, type ClaimedJob } from '../rules/job.js';
import { describeOutcome, type RunOutcome } from '../rules/outcome.js';
import { TOKEN_VARIABLE } from '../os/run-processes.js';
import { sendSignal } from '../os/signals.js';
import { failedCommand, runCommand, type RunningCommand } from './runner.js';
import type { ManagerMessage, WorkerMessage } from './worker-protocol.js';
import type { LogPiece, RunLogs } from '../ports/host.js';

export interface WorkerOptions {
  /** The data directory, which the processes of each run carry (QUEUECTL_DATA_DIR) to be found by. */
  dataDir: string;
  /** queuectl's own variables for each run besides those of the job (QUEUECTL_STORE: the store the run's queuectl commands use). */
  runEnv?: Readonly<Record<string, string>>;
  logs: RunLogs;
  /** Sends a message to the manager; `then` runs once it is handed to the channel. */
  send: (message: WorkerMessage, then?: () => void) => void;
  /** One line per event, for the manager's output. */
  log: (line: string) => void;
  /** Milliseconds between SIGTERM and SIGKILL when a run is stopped. */
  graceMs?: number;
  /** This host's name, in each run's header, where a store many hosts share keeps the logs (absent: one host). */
  host?: string;
  /**
   * Resolves once what the logs of runs went to is in the store (a store many hosts share keeps
   * them; absent where the log file is all): a run's outcome is sent after it, so that whoever
   * sees the job finished finds its whole log, from any host. Where the logs end runs themselves
   * (RunLogs.endRun), that is what a run's outcome waits for instead, and the end of the log may
   * come with it, to go with the outcome.
   */
  flushLogs?: () => Promise<void>;
}

/** The longest a run's outcome waits for its log to reach the store (a database that hangs): the host's file has it anyway. */
const FLUSH_WAIT_MS = 2_000;

/** A job whose environment was asked of the manager, with what its start needs. */
interface Fetching {
  job: ClaimedJob;
  logLimit: number;
  revoked: boolean;
  abort: boolean;
}

interface CurrentRun {
  job: ClaimedJob;
  command: RunningCommand;
  /** Why the run was stopped from outside, for its log. */
  stoppedBecause?: string;
  ended: Promise<void>;
}

export class Worker {
  private current: CurrentRun | undefined;
  private exitWhenIdle = false;
  private lastEnv: { id: string; env: Record<string, string> } | undefined;
  /**
   * A job handed over whose environment was asked of the manager: the worker is busy with it.
   * `revoked`: the manager took it back meanwhile; `abort`: the worker was told to stop now.
   */
  private fetching: Fetching | undefined;
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
        if (this.exitWhenIdle || this.current || this.fetching) this.giveBack(message.job);
        else this.begin(message.job, message.logLimit);
        break;
      case 'env':
        if (this.fetching !== undefined && this.fetching.job.env_id === message.id) {
          const env = 'env' in message ? message.env : new Error(message.error);
          if (!(env instanceof Error)) this.lastEnv = { id: message.id, env };
          this.fetched(this.fetching, env);
        }
        break;
      case 'revoke':
        if (this.current?.job.lease.token === message.token) this.stopRun(message.reason);
        if (this.fetching?.job.lease.token === message.token) this.fetching.revoked = true;
        break;
      case 'abort':
        this.leave();
        if (this.current) this.stopRun('the worker was told to stop now');
        else if (this.fetching) this.fetching.abort = true;
        else this.exit();
        break;
      case 'exit':
        this.leave();
        if (!this.current && !this.fetching) this.exit();
        break;
    }
  }

  /** The manager is gone, so no one can record this run: kill it at once, group and all. */
  async orphaned(): Promise<void> {
    const run = this.current;
    if (run) {
      run.command.kill();
      await run.ended;
    }
  }

  /** From now on: no new job. */
  private leave(): void {
    if (!this.exitWhenIdle) this.options.send({ type: 'exiting' });
    this.exitWhenIdle = true;
  }

  private exit(): void {
    for (const pgid of this.stoppedGroups) sendSignal(-pgid, 'SIGKILL');
    this.onExit();
  }

  /**
   * Starts the job, once its stored environment is at hand: asked of the manager, which reads
   * it from the store. That environment's name is its content's hash, so it never changes: the
   * last one had is kept, and a stream of jobs enqueued from one shell does not ask every run.
   */
  private begin(job: ClaimedJob, logLimit: number): void {
    const id = job.env_id;
    if (!id || this.lastEnv?.id === id) return this.start(job, logLimit, id ? this.lastEnv!.env : process.env);
    this.fetching = { job, logLimit, revoked: false, abort: false };
    this.options.send({ type: 'env', id });
  }

  private fetched(fetching: Fetching, env: Record<string, string> | Error): void {
    this.fetching = undefined;
    if (fetching.revoked || fetching.abort) {
      // Never started: a job taken back is the manager's already; one of a worker told to stop now goes back.
      if (!fetching.revoked) this.giveBack(fetching.job);
      if (this.exitWhenIdle) this.exit();
      return;
    }
    this.start(fetching.job, fetching.logLimit, env);
  }

  private giveBack(job: ClaimedJob): void {
    this.options.send({ type: 'released', id: job.id, token: job.lease.token });
  }

  /**
   * `environment`: the environment to run in (captured, or this worker's), or why it could not be
   * had. `logLimit`: the store's log_limit, for the logs (RunLogs.open).
   */
  private start(job: ClaimedJob, logLimit: number, environment: NodeJS.ProcessEnv | Error): void {
    const { dataDir, logs, log } = this.options;
    const token = job.lease.token;
    const attempt = job.attempts + 1; // the claim did not count this run; its start does
    const runs = `${attempt} of ${job.max_retries + 1}`;
    const startedMs = Date.now();
    const startedAt = new Date(startedMs).toISOString();
    const shown = oneLine(job.command);
    log(`${job.id}: run ${runs} started: ${shown}`);
    let logFd: number;
    try {
      // The header names the claim: it is what shows the run started if the manager dies first.
      const where = this.options.host === undefined ? '' : ` on ${this.options.host}`;
      logFd = logs.open(job.id, `--- queuectl: run ${runs} started ${startedAt} by worker ${process.pid}${where} ${logs.claimMark(token)} in ${job.cwd}: ${shown}`, logLimit);
    } catch (error) {
      // No log, no run: output with nowhere to go would be lost (the data dir may be gone).
      this.track(job, failedCommand(`its log could not be opened: ${(error as Error).message}`), runs, startedMs);
      return;
    }
    if (environment instanceof Error) {
      logs.close(logFd);
      this.track(job, failedCommand(environment.message), runs, startedMs);
      return;
    }
    let command: RunningCommand;
    try {
      command = runCommand({
        command: job.command,
        cwd: job.cwd,
        env: {
          ...environment,
          ...job.env,
          ...this.options.runEnv,
          QUEUECTL_JOB_ID: job.id,
          QUEUECTL_ATTEMPT: String(attempt),
          QUEUECTL_DATA_DIR: dataDir,
          [TOKEN_VARIABLE]: token,
        },
        timeout: job.timeout,
        logFd,
        ...(this.options.graceMs === undefined ? {} : { graceMs: this.options.graceMs }),
      });
    } finally {
      logs.close(logFd);
    }
    this.track(job, command, runs, startedMs);
  }

  /** Reports the run's start, then its end: to the job's log and to the manager. */
  private track(job: ClaimedJob, command: RunningCommand, runs: string, startedMs: number): void {
    const { logs, send } = this.options;
    const token = job.lease.token;
    const startedAt = new Date(startedMs).toISOString();
    send({ type: 'started', token, pgid: command.pid, startedAt });
    const run: CurrentRun = {
      job,
      command,
      ended: command.done.then(async (outcome) => {
        const ended = Date.now();
        const seconds = (ended - startedMs) / 1000;
        if ((run.stoppedBecause || outcome.kind === 'timed_out') && command.pid !== null) this.stoppedGroups.push(command.pid);
        let ending: Promise<LogPiece | undefined> | undefined;
        try {
          // A canceled job may have left for the archive with its log by now.
          const line = `--- queuectl: run ${runs} ${runEnding(outcome, run.stoppedBecause, seconds)}`;
          if (logs.endRun !== undefined) ending = logs.endRun(job.id, line, FLUSH_WAIT_MS);
          else logs.appendToRun(job.id, line);
        } catch {
          // The outcome matters more than its line in the log.
        }
        this.current = undefined;
        const endedAt = new Date(ended).toISOString();
        // The end of the run's log, when it is to go with the outcome rather than on its own.
        let piece: LogPiece | undefined;
        /** The logs ended the run: what they had sent is in the store (or gave up waiting), the rest is `piece`. */
        let logsEnded = false;
        if (ending !== undefined) {
          piece = await ending.then(
            (given) => ((logsEnded = true), given),
            () => undefined,
          );
        }
        const { flushLogs } = this.options;
        if (!logsEnded && flushLogs !== undefined) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([flushLogs(), new Promise((resolve) => (timer = setTimeout(resolve, FLUSH_WAIT_MS)))]);
          clearTimeout(timer);
        }
        // Exit only once the outcome is on its way: a message sent right before exit is lost.
        send({ type: 'finished', id: job.id, token, outcome, startedAt, endedAt, ...(piece === undefined ? {} : { log: piece }) }, () => {
          if (this.exitWhenIdle && !this.current) this.exit();
        });
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

/** How a run ended, for the line after its output in the job's log. */
function runEnding(outcome: RunOutcome, stoppedBecause: string | undefined, seconds: number): string {
  if (outcome.kind === 'spawn_failed') return describeOutcome(outcome); // it never ran: no duration
  // Stopped from outside, only its `sh` is this worker's to see: the rest of its process group
  // may have outlived SIGTERM (`cancel` says what stopped them), so no signal is named here.
  const how = stoppedBecause ? `stopped (${stoppedBecause})` : describeOutcome(outcome);
  return `${how} after ${seconds.toFixed(2)} s`;
}
