/**
 * The lines a worker writes into a job's log around each run: `--- queuectl: run 1 of 4 started …`
 * before it, and its end after it (`--- queuectl: run 1 of 4 exited with code 0 after 0.01 s`,
 * `… stopped (it was canceled) after 2.00 s`).
 */

/** A run's end line (any `run N of M` line but its start). */
export const RUN_END = /^--- queuectl: run \d+ of \d+ (?!started )/m;

const RUN_LINE = /^--- queuectl: run \d+ of \d+ (started )?/gm;

/**
 * Whether the last run in `text` (the end of a log) has no end line yet: it goes on, or its
 * worker has yet to write the end (a job canceled while it runs is finished before its run has
 * stopped).
 */
export function endsMidRun(text: string): boolean {
  let last: RegExpExecArray | null = null;
  for (const match of text.matchAll(RUN_LINE)) last = match;
  return last !== null && last[1] !== undefined;
}
