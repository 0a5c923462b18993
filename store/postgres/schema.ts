/**
 * The PostgreSQL store's tables, created and migrated by queuectl itself. Each job is one row:
 * its document as the file store keeps it (`doc`), and beside it the fields the store selects
 * and orders by. Times are the documents' ISO-8601 UTC strings, which sort as the times they
 * name, so the database orders jobs exactly as the rules of core/ do.
 */
import type { PoolClient } from 'pg';
import { QueuectlError } from '../../core/rules/errors.js';

/** The schema version this code writes; a database at a newer one is refused. */
export const SCHEMA_VERSION = 6;

/** A schema name as SQL: queuectl makes its own names, but a quoted one cannot inject anything. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const MIGRATIONS: readonly ((schema: string) => string)[] = [
  (s) => `
    CREATE TABLE ${s}.jobs (
      seq bigint GENERATED ALWAYS AS IDENTITY,
      id text PRIMARY KEY,
      state text NOT NULL,
      queue text NOT NULL,
      priority integer NOT NULL,
      run_at text NOT NULL,
      created_at text NOT NULL,
      finished_at text,
      lease_expires_at text,
      after text[],
      doc jsonb NOT NULL
    );
    -- The claim: ready jobs in claim order.
    CREATE INDEX jobs_claim ON ${s}.jobs (priority DESC, run_at, seq) WHERE state IN ('pending', 'failed');
    -- Leases to take back.
    CREATE INDEX jobs_leases ON ${s}.jobs (lease_expires_at) WHERE state = 'processing';
    -- The dependents of a job.
    CREATE INDEX jobs_after ON ${s}.jobs USING gin (after) WHERE after IS NOT NULL;
    -- list: oldest first.
    CREATE INDEX jobs_created ON ${s}.jobs (created_at, seq);
    CREATE TABLE ${s}.settings (key text PRIMARY KEY, value jsonb NOT NULL);
    CREATE TABLE ${s}.envs (id text PRIMARY KEY, env jsonb NOT NULL);
    -- Completed jobs that were pruned, for --after.
    CREATE TABLE ${s}.completed_ids (id text PRIMARY KEY);
  `,
  // The worker managers of every host, each renewing its row while it runs; when the next delayed
  // job is due, found without a walk through every job of every priority; the change counter.
  (s) => `
    CREATE INDEX jobs_due ON ${s}.jobs (run_at) WHERE state IN ('pending', 'failed');
    -- Moves on after every committed change of the jobs: what \`version()\` reads. A sequence
    -- takes no row lock, so writers do not queue behind one another's counter.
    CREATE SEQUENCE IF NOT EXISTS ${s}.changes;
    CREATE TABLE ${s}.managers (
      host text NOT NULL,
      pid integer NOT NULL,
      record jsonb NOT NULL,
      seen_at timestamptz NOT NULL DEFAULT now(),
      stop_requested boolean NOT NULL DEFAULT false,
      PRIMARY KEY (host, pid)
    );
  `,
  // The output of each job's runs, per host that ran them, so that \`logs\` works from any host.
  (s) => `
    CREATE TABLE ${s}.logs (
      job_id text NOT NULL,
      host text NOT NULL,
      text text NOT NULL,
      first_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, host)
    );
  `,
  // Retention: finished jobs past the \`retention\` setting leave the jobs table, to the archive
  // (kept \`archive_days\`) or deleted. Their logs stay in \`logs\` while a copy of the job does.
  // Logs by run.
  (s) => `
    CREATE INDEX jobs_finished ON ${s}.jobs (finished_at, seq) WHERE state IN ('completed', 'canceled');
    CREATE TABLE ${s}.archive (
      batch text NOT NULL,
      archived_at timestamptz NOT NULL,
      id text NOT NULL,
      doc jsonb NOT NULL,
      PRIMARY KEY (batch, id)
    );
    CREATE INDEX archive_id ON ${s}.archive (id, archived_at DESC);
    CREATE INDEX archive_at ON ${s}.archive (archived_at);
    -- A row per run (and per line of queuectl's own), growing while the run goes on, in the
    -- order they began: \`logs -f\` follows a job's runs on every host.
    ALTER TABLE ${s}.logs ADD COLUMN run text NOT NULL DEFAULT '', ADD COLUMN cut bigint NOT NULL DEFAULT 0,
      ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
    ALTER TABLE ${s}.logs DROP CONSTRAINT logs_pkey, ADD PRIMARY KEY (job_id, host, run);
  `,
  // The jobs, in the queue and the archive, that run in each captured environment: an environment
  // none of them refers to is deleted (see envs.ts), found by these without a walk through either.
  (s) => `
    CREATE INDEX jobs_env ON ${s}.jobs ((doc->>'env_id')) WHERE doc->>'env_id' IS NOT NULL;
    CREATE INDEX archive_env ON ${s}.archive ((doc->>'env_id')) WHERE doc->>'env_id' IS NOT NULL;
  `,
  // \`worker stop --all --timeout\`: once the time passed, the managers of other hosts kill their running jobs.
  (s) => `
    ALTER TABLE ${s}.managers ADD COLUMN stop_now boolean NOT NULL DEFAULT false;
  `,
];

/**
 * Creates the schema or brings it to SCHEMA_VERSION, one migration at a time, under an advisory
 * lock so that two processes starting together do not both migrate. `create: false`: a schema
 * that is not there (or has no queuectl table) is left so, and null returned.
 */
export async function migrate(client: PoolClient, schema: string, { create = true }: { create?: boolean } = {}): Promise<number | null> {
  const s = quoteIdent(schema);
  // Most commands find the schema as it should be: one look, no lock, no transaction.
  try {
    const found = await client.query<{ value: number }>(`SELECT value FROM ${s}.meta WHERE key = 'schema_version'`);
    if (found.rows[0]?.value === SCHEMA_VERSION) return SCHEMA_VERSION;
  } catch (error) {
    if ((error as { code?: string }).code !== '42P01' && (error as { code?: string }).code !== '3F000') throw error; // no such table, no such schema
    if (!create) return null;
  }
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`queuectl:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.meta (key text PRIMARY KEY, value jsonb NOT NULL)`);
    const found = await client.query<{ value: number }>(`SELECT value FROM ${s}.meta WHERE key = 'schema_version'`);
    const current = found.rows[0]?.value ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new QueuectlError(`the database schema "${schema}" is at version ${current}, newer than this queuectl knows (${SCHEMA_VERSION}); upgrade queuectl`, 'EFAIL');
    }
    for (let version = current; version < SCHEMA_VERSION; version++) await client.query(MIGRATIONS[version]!(s));
    await client.query(
      `INSERT INTO ${s}.meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [JSON.stringify(SCHEMA_VERSION)],
    );
    await client.query('COMMIT');
    return SCHEMA_VERSION;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}
