/**
 * For the commands that follow the store for a while (`wait`, `logs -f`): a look that fails as a
 * store out of reach fails (a database restarting, a failover, a lock held too long) is tried
 * again at the next poll, for up to OUTAGE_GRACE_MS in a row. A script waiting on a job is not
 * told the job failed because the database restarted under it. Any other error, and one that
 * lasts past the grace, is the command's.
 */
import { QueuectlError } from '../rules/errors.js';

/** How long a following command keeps trying through failed looks in a row. */
export const OUTAGE_GRACE_MS = 60_000;

export class OutageGrace {
  /** When the looks began to fail, in a row; null while they succeed. */
  private failingSince: number | null = null;

  constructor(private readonly graceMs = OUTAGE_GRACE_MS) {}

  /** Whether to try again after this failed look (else the caller throws `error`). */
  bear(error: unknown, now = Date.now()): boolean {
    if (!(error instanceof QueuectlError) || (error.code !== 'EFAIL' && error.code !== 'ELOCK')) return false;
    this.failingSince ??= now;
    return now - this.failingSince < this.graceMs;
  }

  /** A look succeeded. */
  ok(): void {
    this.failingSince = null;
  }
}
