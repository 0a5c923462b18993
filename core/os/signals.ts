/** Signals to processes and process groups. */

/** Sends `signal` to a process (or, with a negative number, a process group), if it is still there. */
export function sendSignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // Gone already.
  }
}
