/**
 * Captured environments in the PostgreSQL store: one row of `envs` per distinct environment,
 * named by a hash of its content, shared by every job enqueued in it. They hold what the
 * enqueuing shells held (tokens, passwords), so, as in the file store, one goes once no job in
 * the queue or the archive refers to it: `prune` looks every time, retention at most once a
 * minute (sweepUnusedEnvs).
 *
 * A sweep must not delete an environment an enqueue is saving: that enqueue found the row there
 * and wrote nothing (ON CONFLICT DO NOTHING), and its job, not committed yet, is invisible to the
 * sweep. Row locks do not close that gap in READ COMMITTED (a sweep that locks the row after the
 * enqueue committed still reads the jobs as its snapshot had them), so an advisory lock does:
 * each writer of environments holds it shared until it commits; a sweep takes it alone, or, when
 * a writer holds it, leaves the sweep to the next time. Once it has the lock, its DELETE, a
 * statement after, reads every committed job, and no writer is under way.
 */
import { text } from './sql.js';
import type { Transaction } from './transaction.js';

/** The advisory lock of the environments of one queue (`schema`), as SQL. */
export function envsLock(schema: string): string {
  return `hashtext(${text(`queuectl:${schema}:envs`)})`;
}

/** Held by an enqueue or a copy that writes environments, until it commits: see above. */
export function holdEnvsShared(schema: string): string {
  return `SELECT pg_advisory_xact_lock_shared(${envsLock(schema)})`;
}

/**
 * Deletes the environments no job and no archived job refers to, in a transaction of its own
 * (`tx`, newly begun): none when an enqueue is saving one (the next sweep does). Returns how many.
 */
export async function sweepUnusedEnvs(tx: Transaction, s: string, schema: string): Promise<number> {
  const [locked] = await tx.batch([`SELECT pg_try_advisory_xact_lock(${envsLock(schema)}) AS alone`]);
  if (locked![0]!.alone !== true) return 0;
  const [gone] = await tx.batch([
    `DELETE FROM ${s}.envs AS e
     WHERE NOT EXISTS (SELECT 1 FROM ${s}.jobs AS j WHERE j.doc->>'env_id' = e.id)
       AND NOT EXISTS (SELECT 1 FROM ${s}.archive AS a WHERE a.doc->>'env_id' = e.id)
     RETURNING e.id`,
  ]);
  return gone!.length;
}
