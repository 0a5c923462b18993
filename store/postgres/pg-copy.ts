/**
 * `store copy` in the PostgreSQL store (see core/ports/queue-copy.ts). The dump is one read-only
 * transaction at one snapshot (REPEATABLE READ): jobs, settings, logs, environments and completed
 * ids as they were at one instant, whatever other hosts do meanwhile. The load is one
 * transaction: all of it commits, or none.
 *
 * Looking for a queue, or for taken ids, creates nothing: a schema that is not there holds no
 * queue and no ids. The load creates the schema (as any command's first use does) in its own
 * step before its transaction, so a load refused there may leave an empty schema behind.
 */
import type pg from 'pg';
import type { LogPart, QueueCopy, QueueDump } from '../../core/ports/queue-copy.js';
import { QueuectlError } from '../../core/rules/errors.js';
import { dumpIds, logPartOf, queueSettings, refuseTaken } from '../../core/rules/copy.js';
import type { Config } from '../../core/rules/config.js';
import { envIdsOf, type Job } from '../../core/rules/job.js';
import { holdEnvsShared } from './envs.js';
import { hostName } from '../local/host.js';
import { databaseCause, insertJobs, isDuplicateJobId } from './job-rows.js';
import { databaseText, keptLog } from './log-rows.js';
import { SCHEMA_VERSION } from './schema.js';
import type { Transaction } from './transaction.js';

/** What the copy needs of its PgStore: given by PgStore.queueCopy(). */
export interface PgCopyAccess {
  location: string;
  /** The schema's name. */
  schema: string;
  /** The schema, quoted for SQL. */
  s: string;
  /** One statement on a connection, the schema neither created nor migrated. */
  probe<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]>;
  /** One transaction of the store (the schema created or migrated first); what it adds to `tx.changes` the others are told once it commits. */
  transaction<T>(body: (tx: Transaction) => Promise<T>): Promise<T>;
  /** The settings as they stand in the transaction, checked as the store reads them (a broken one throws). */
  readConfig(tx: Transaction): Promise<Config>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
/**
 * The most of a job's log file a copy puts in its row: a row is one string in this process (at
 * most 512 MiB), and `logs` reads a job's rows back as one.
 */
const ROW_MOST = 256 * MiB;
/** About how much log text goes in one INSERT. */
const LOG_BATCH = 16 * MiB;

export class PgQueueCopy implements QueueCopy {
  constructor(private readonly db: PgCopyAccess) {}

  get location(): string {
    return this.db.location;
  }

  async exists(): Promise<boolean> {
    const rows = await this.db.probe<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [`${this.db.s}.jobs`]);
    return rows[0]?.found != null;
  }

  async dump(): Promise<QueueDump> {
    const { s } = this.db;
    // The transaction below would bring an older schema up to date first, as every command's
    // first use does: a copy changes nothing in its source, so it asks for that to be done first.
    const version = (await this.db.probe<{ value: number }>(`SELECT value FROM ${s}.meta WHERE key = 'schema_version'`, []))[0]?.value;
    if (version !== undefined && version < SCHEMA_VERSION) {
      throw new QueuectlError(
        `${this.location} is at schema version ${version}, older than this queuectl's (${SCHEMA_VERSION}); a copy changes nothing in its source: bring it up to date first with queuectl --store URL store migrate`,
        'EFAIL',
      );
    }
    return this.db.transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY'); // the first statement after BEGIN
      const jobs = (await client.query<{ doc: Job }>(`SELECT doc FROM ${s}.jobs ORDER BY created_at, seq`)).rows.map((row) => row.doc);
      const settings = (await client.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${s}.settings ORDER BY key`)).rows;
      // The logs of the jobs copied; those of archived jobs stay with the archive.
      const logs = await client.query<{ job_id: string; host: string; run: string; text: string }>(
        `SELECT job_id, host, run, text FROM ${s}.logs WHERE job_id IN (SELECT id FROM ${s}.jobs) ORDER BY job_id, seq`,
      );
      const envIds = [...envIdsOf(jobs)];
      const envs = await client.query<{ id: string; env: Record<string, string> }>(`SELECT id, env FROM ${s}.envs WHERE id = ANY($1) ORDER BY id`, [envIds]);
      const completed = await client.query<{ id: string }>(`SELECT id FROM ${s}.completed_ids ORDER BY id`);
      const archived = await client.query<{ count: string }>(`SELECT count(*) FROM ${s}.archive`);
      return {
        jobs,
        settings: queueSettings(Object.fromEntries(settings.map((row) => [row.key, row.value])), `the settings of ${this.location}`),
        logs: logs.rows.map((row) => logPartOf({ id: row.job_id, host: row.host, run: row.run }, Buffer.from(row.text))),
        envs: envs.rows,
        completedIds: completed.rows.map((row) => row.id),
        archived: Number(archived.rows[0]?.count ?? 0),
      };
    });
  }

  async taken(ids: readonly string[]): Promise<string[]> {
    if (!(await this.exists())) return [];
    const rows = await this.db.probe<{ id: string }>(`SELECT id FROM ${this.db.s}.jobs WHERE id = ANY($1)`, [ids]);
    const here = new Set(rows.map((row) => row.id));
    return ids.filter((id) => here.has(id));
  }

  async load(dump: QueueDump): Promise<void> {
    const { s, schema } = this.db;
    const ids = dumpIds(dump);
    // Parts whose host is not known (from the file store) are this host's: it wrote them here.
    const host = hostName();
    try {
      await this.db.transaction(async (client) => {
        // Broken settings here are reported before anything is written, as by every command.
        let config = await this.db.readConfig(client);
        const taken = await client.query<{ id: string }>(`SELECT id FROM ${s}.jobs WHERE id = ANY($1) FOR UPDATE`, [ids]);
        refuseTaken(taken.rows.map((row) => row.id), this.location);
        // In the order given, which `seq` keeps (list, and the claim order of equal priorities).
        for (const statement of insertJobs(s, dump.jobs)) await client.query(statement);
        if (Object.keys(dump.settings).length > 0) {
          // One change of the settings at a time, as updateConfig takes them.
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`queuectl:${schema}:settings`]);
          const entries = Object.entries(dump.settings);
          await client.query(
            `INSERT INTO ${s}.settings (key, value) SELECT * FROM unnest($1::text[], $2::jsonb[])
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
            [entries.map(([key]) => key), entries.map(([, value]) => JSON.stringify(value))],
          );
          config = await this.db.readConfig(client); // the copied ones checked, and in force for what follows
          client.changes.add('config');
        }
        await client.query(holdEnvsShared(schema)); // see envs.ts
        await client.query(`INSERT INTO ${s}.envs (id, env) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (id) DO NOTHING`, [
          dump.envs.map((env) => env.id),
          dump.envs.map((env) => JSON.stringify(env.env)),
        ]);
        // The log of an earlier job of a copied id is not the copied job's (as enqueue does).
        await client.query(`DELETE FROM ${s}.logs WHERE job_id = ANY($1)`, [ids]);
        // One row per job, host and run, in the order given (read back in the order of `seq`).
        const limit = config.log_limit; // the target's, with the copied settings
        const parts = new Map<string, { id: string; host: string; run: string; text: string }>();
        for (const part of dump.logs) {
          const row = { id: part.id, host: part.host ?? host, run: part.run ?? '', text: '' };
          const key = JSON.stringify([row.id, row.host, row.run]);
          const kept = parts.get(key) ?? row;
          kept.text += this.keptText(part, limit, host);
          parts.set(key, kept);
        }
        // In statements of a few MiB: the rows of a large queue are not sent, and held, as one.
        let batch: { id: string; host: string; run: string; text: string }[] = [];
        let batchLength = 0;
        const insertBatch = async (): Promise<void> => {
          await client.query(
            `INSERT INTO ${s}.logs (job_id, host, run, text)
             SELECT job_id, host, run, text FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS p (job_id, host, run, text, n) ORDER BY n`,
            [batch.map((row) => row.id), batch.map((row) => row.host), batch.map((row) => row.run), batch.map((row) => row.text)],
          );
          batch = [];
          batchLength = 0;
        };
        for (const row of parts.values()) {
          batch.push(row);
          batchLength += row.text.length;
          if (batchLength >= LOG_BATCH) await insertBatch();
        }
        if (batch.length > 0) await insertBatch();
        await client.query(`INSERT INTO ${s}.completed_ids (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [dump.completedIds]);
        if (ids.length > 0) client.changes.add('jobs');
      });
    } catch (error) {
      // An enqueue of one of the ids committed after the look above: the same refusal.
      if (isDuplicateJobId(error)) {
        const id = /\(id\)=\((.*)\)/.exec((databaseCause(error) as { detail?: string }).detail ?? '')?.[1];
        refuseTaken([id ?? 'one of the copied ids'], this.location);
      }
      throw error;
    }
  }

  /**
   * The text a log part becomes in the logs table. A row of a store that keeps runs as rows
   * (PostgreSQL's) comes as that store kept it. A log file (the file store's, `run` absent) is
   * kept as runs on this store keep theirs: each run within `limit` (log_limit), a NUL byte and
   * bytes that are not UTF-8 as U+FFFD; only what is kept is read. Refused, so nothing is
   * written, when that is more than one row takes (see ROW_MOST).
   */
  private keptText(part: LogPart, limit: number, host: string): string {
    if (part.run !== undefined) return databaseText(part.read(0, part.size));
    const why = `log_limit: the database keeps the last ${limit} bytes of each run; the log file store copy read on ${host} has all of it`;
    const kept = keptLog((from, to) => part.read(from, to), part.size, limit, why);
    if (kept.bytes > ROW_MOST) {
      const keeps = limit === 0 ? 'log_limit 0 keeps all of it' : `log_limit ${limit} keeps ${kept.bytes} bytes of it`;
      throw new QueuectlError(
        `the log of job "${part.id}" is ${part.size} bytes, and on ${this.location} ${keeps}: more than store copy puts in one row ` +
          `(${ROW_MOST / MiB} MiB); set a smaller log_limit there or in the source (queuectl config set log_limit 1M) and copy again; nothing was copied`,
        'EFAIL',
      );
    }
    return kept.text();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
