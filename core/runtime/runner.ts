/**
 * Runs one command with `sh -c` in its own process group, so that a timeout or a cancel reaches
 * everything the command started (pipelines, background children), and so that Ctrl-C in the
 * worker's terminal does not reach it: stopping is the worker's decision. Termination is
 * SIGTERM to the group, then SIGKILL after a grace period, as execa does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { outcomeFromExit, type RunOutcome } from '../rules/outcome.js';
import { sendSignal } from '../os/signals.js';

/** Time between SIGTERM and SIGKILL when a run is stopped. */
export const KILL_GRACE_MS = 5_000;

export interface RunRequest {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Seconds; null = no limit. */
  timeout: number | null;
  /** File descriptor that receives both stdout and stderr. */
  logFd: number;
  graceMs?: number;
}

export interface RunningCommand {
  /** pid of `sh`, which is also the process group id; null when it could not start. */
  pid: number | null;
  done: Promise<RunOutcome>;
  /** Stops the whole group: SIGTERM, then SIGKILL after the grace period. */
  stop(): void;
  /** SIGKILLs the whole group now. */
  kill(): void;
}

/** A run that could not start, for `message`. */
export function failedCommand(message: string): RunningCommand {
  return { pid: null, done: Promise.resolve({ kind: 'spawn_failed', message }), stop() {}, kill() {} };
}

export function runCommand(request: RunRequest): RunningCommand {
  const missing = missingDirectory(request.cwd);
  if (missing) return failedCommand(missing);
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', request.command], {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: ['ignore', request.logFd, request.logFd],
    });
  } catch (error) {
    // Node throws, rather than emits, what it does not count as a failure of the program: E2BIG
    // (a command or variable over the system's limits, from an environment captured whole), a
    // variable holding NUL. It is this run's failure, not the worker's.
    return failedCommand((error as Error).message + (/E2BIG/.test((error as Error).message) ? ' (the command or a variable of its environment is longer than the system allows: 128 KiB each on Linux)' : ''));
  }
  const pid = child.pid ?? null;
  const graceMs = request.graceMs ?? KILL_GRACE_MS;
  let timedOut = false;
  let stopping = false;

  const signalGroup = (signal: NodeJS.Signals) => {
    if (pid !== null) sendSignal(-pid, signal);
  };
  const stop = () => {
    if (stopping) return;
    stopping = true;
    signalGroup('SIGTERM');
    // Not cleared when sh exits: a background child that ignores SIGTERM must still die.
    setTimeout(() => signalGroup('SIGKILL'), graceMs).unref();
  };

  const timer =
    request.timeout === null
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop();
        }, request.timeout * 1000);

  const done = new Promise<RunOutcome>((resolve) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ kind: 'spawn_failed', message: error.message });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut && request.timeout !== null) resolve({ kind: 'timed_out', seconds: request.timeout });
      else resolve(outcomeFromExit(code, signal));
    });
  });
  return { pid, done, stop, kill: () => signalGroup('SIGKILL') };
}

function missingDirectory(cwd: string): string | null {
  try {
    return statSync(cwd).isDirectory() ? null : `working directory ${cwd} is not a directory`;
  } catch {
    return `working directory ${cwd} does not exist`;
  }
}
