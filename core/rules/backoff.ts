/**
 * Seconds to wait before the next run after the `failedRuns`-th failed run:
 *
 *     delay = min(base ^ failedRuns, maxBackoff)
 *
 * With the defaults (base 2, cap 3600) the retries wait 2 s, 4 s, 8 s, … up to an hour.
 */
export function retryDelaySeconds(failedRuns: number, base: number, maxBackoff: number): number {
  if (failedRuns < 1) return 0;
  return Math.min(base ** failedRuns, maxBackoff);
}

/** The instant of the next run, `now` plus the backoff delay, as an ISO timestamp. */
export function nextRunAt(now: Date, failedRuns: number, base: number, maxBackoff: number): string {
  return new Date(now.getTime() + retryDelaySeconds(failedRuns, base, maxBackoff) * 1000).toISOString();
}

/**
 * Milliseconds before queuectl tries again what failed `failures` times in a row already (a
 * dispatch cycle, a database connection): 1 s, doubling with each failure, up to 10 s, so that
 * every manager is back within 10 s of its store (see RECOVER_AFTER_OUTAGE_MS).
 */
export function reconnectDelayMs(failures: number): number {
  return Math.min(10_000, 1_000 * 2 ** Math.max(0, failures));
}
