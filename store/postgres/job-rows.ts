/**
 * Jobs as rows of the jobs table: the document as the file store keeps it (`doc`), and beside it
 * the fields the store selects and orders by, taken from the job here, once, for inserts and
 * updates alike. The rows are written in as literals (see sql.ts), so that writes go with other
 * statements in one round trip, and so that the planner sees how many rows an update names and
 * finds each by its key, where a parameter it cannot see into made it scan the whole table.
 */
import { QueuectlError } from '../../core/rules/errors.js';
import { queueOf, type Job } from '../../core/rules/job.js';
import { integer, jsonb, text, textArray } from './sql.js';

const COLUMNS = ['id', 'state', 'queue', 'priority', 'run_at', 'created_at', 'finished_at', 'lease_expires_at', 'after', 'doc'] as const;

/** Rows per INSERT statement: a statement's text stays well under a few megabytes. */
const INSERT_CHUNK = 1_000;

/** One job as the literal row `(id, state, …, doc)`. */
export function jobRow(job: Job): string {
  const after = job.after !== undefined && job.after.length > 0 ? textArray(job.after) : 'NULL::text[]';
  return `(${[
    text(job.id),
    text(job.state),
    text(queueOf(job)),
    integer(job.priority),
    text(job.run_at),
    text(job.created_at),
    text(job.finished_at ?? null),
    text(job.lease?.expires_at ?? null),
    after,
    jsonb(job),
  ].join(', ')})`;
}

/** INSERT statements for new jobs (several when there are many). */
export function insertJobs(schema: string, jobs: readonly Job[]): string[] {
  const statements: string[] = [];
  for (let at = 0; at < jobs.length; at += INSERT_CHUNK) {
    const rows = jobs.slice(at, at + INSERT_CHUNK).map(jobRow);
    statements.push(`INSERT INTO ${schema}.jobs (${COLUMNS.join(', ')}) VALUES\n${rows.join(',\n')}`);
  }
  return statements;
}

/** One UPDATE that writes the jobs over their rows, each found by its id. */
export function updateJobs(schema: string, jobs: readonly Job[]): string {
  const set = COLUMNS.filter((column) => column !== 'id').map((column) => `${column} = v.${column}`);
  return `UPDATE ${schema}.jobs AS j SET ${set.join(', ')}
    FROM (VALUES\n${jobs.map(jobRow).join(',\n')}) AS v (${COLUMNS.join(', ')})
    WHERE j.id = v.id`;
}

/** Whether a database error (itself, or as the cause of the store's error) is an insert of a job whose id another transaction committed first. */
export function isDuplicateJobId(error: unknown): boolean {
  const { code, constraint } = databaseCause(error) as { code?: string; constraint?: string };
  return code === '23505' && constraint === 'jobs_pkey';
}

/** The database's own error behind the store's (see databaseFailure), or `error` itself. */
export function databaseCause(error: unknown): unknown {
  return error instanceof QueuectlError && error.cause !== undefined ? error.cause : error;
}
