/**
 * How a run ended. Turning a process exit into an outcome follows pueue's `finish.rs`:
 * code 0 is success, another code a failure, no code (a signal) a kill.
 */
export type RunOutcome =
  | { kind: 'exited'; code: number }
  | { kind: 'killed'; signal: string }
  | { kind: 'timed_out'; seconds: number }
  | { kind: 'spawn_failed'; message: string }
  | { kind: 'lost'; reason: string };

export function outcomeFromExit(code: number | null, signal: string | null): RunOutcome {
  if (code !== null) return { kind: 'exited', code };
  return { kind: 'killed', signal: signal ?? 'unknown signal' };
}

export function isSuccess(outcome: RunOutcome): boolean {
  return outcome.kind === 'exited' && outcome.code === 0;
}

/** The exit code to record: only a process that exited by itself has one. */
export function exitCodeOf(outcome: RunOutcome): number | null {
  return outcome.kind === 'exited' ? outcome.code : null;
}

/** One line for `last_error`, in the manner of execa's failure messages. */
export function describeOutcome(outcome: RunOutcome): string {
  switch (outcome.kind) {
    case 'exited':
      return outcome.code === 0 ? 'exited with code 0' : `command failed with exit code ${outcome.code}`;
    case 'killed':
      return `command was killed by ${outcome.signal}`;
    case 'timed_out':
      return `command timed out after ${outcome.seconds} s and was killed`;
    case 'spawn_failed':
      return `command could not start: ${outcome.message}`;
    case 'lost':
      return `worker lost: ${outcome.reason}`;
  }
}
