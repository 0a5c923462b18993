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
import type { QueueCopy, QueueDump } from '../../core/ports/queue-copy.js';
import { dumpIds, queueSettings, refuseTaken } from '../../core/rules/copy.js';
import { resolveConfig } from '../../core/rules/config.js';
import type { Job } from '../../core/rules/job.js';
import type { StoreChange } from '../../core/ports/store.js';
import { hostName } from '../local/host.js';

type Client = pg.PoolClient;

/** What the copy needs of its PgStore: given by PgStore.queueCopy(). */
export interface PgCopyAccess {
  location: string;
  /** The schema's name. */
  schema: string;
  /** The schema, quoted for SQL. */
  s: string;
  /** Inserts the jobs as new rows, in the order given, in the transaction of `client`. */
  insertJobs(client: Client, jobs: readonly Job[]): Promise<void>;
  /** One statement on a connection, the schema neither created nor migrated. */
  probe<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]>;
  /** One transaction of the store (the schema created or migrated first). */
  transaction<T>(body: (client: Client) => Promise<T>): Promise<T>;
  /** Tells the others of a change once the transaction commits. */
  changed(client: Client, change: StoreChange): Promise<void>;
  close(): Promise<void>;
}

/** PostgreSQL's error for a duplicate key. */
const UNIQUE_VIOLATION = '23505';

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
    return this.db.transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const jobs = (await client.query<{ doc: Job }>(`SELECT doc FROM ${s}.jobs ORDER BY created_at, seq`)).rows.map((row) => row.doc);
      const settings = (await client.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${s}.settings ORDER BY key`)).rows;
      const logs = await client.query<{ job_id: string; host: string; text: string }>(
        `SELECT job_id, host, text FROM ${s}.logs WHERE job_id IN (SELECT id FROM ${s}.jobs) ORDER BY job_id, first_at, host`,
      );
      const envIds = [...new Set(jobs.flatMap((job) => (job.env_id ? [job.env_id] : [])))];
      const envs = await client.query<{ id: string; env: Record<string, string> }>(`SELECT id, env FROM ${s}.envs WHERE id = ANY($1) ORDER BY id`, [envIds]);
      const completed = await client.query<{ id: string }>(`SELECT id FROM ${s}.completed_ids ORDER BY id`);
      return {
        jobs,
        settings: queueSettings(Object.fromEntries(settings.map((row) => [row.key, row.value])), `the settings of ${this.location}`),
        logs: logs.rows.map((row) => ({ id: row.job_id, host: row.host, text: row.text })),
        envs: envs.rows,
        completedIds: completed.rows.map((row) => row.id),
        archived: 0, // no archive here: finished jobs stay in the table until prune
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
        await this.checkSettings(client); // broken settings here are reported before anything is written, as by every command
        const taken = await client.query<{ id: string }>(`SELECT id FROM ${s}.jobs WHERE id = ANY($1) FOR UPDATE`, [ids]);
        refuseTaken(taken.rows.map((row) => row.id), this.location);
        await this.db.insertJobs(client, dump.jobs);
        if (Object.keys(dump.settings).length > 0) {
          // One change of the settings at a time, as updateConfig takes them.
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`queuectl:${schema}:settings`]);
          const entries = Object.entries(dump.settings);
          await client.query(
            `INSERT INTO ${s}.settings (key, value) SELECT * FROM unnest($1::text[], $2::jsonb[])
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
            [entries.map(([key]) => key), entries.map(([, value]) => JSON.stringify(value))],
          );
          await this.checkSettings(client);
          await this.db.changed(client, 'config');
        }
        await client.query(`INSERT INTO ${s}.envs (id, env) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (id) DO NOTHING`, [
          dump.envs.map((env) => env.id),
          dump.envs.map((env) => JSON.stringify(env.env)),
        ]);
        // The log of an earlier job of a copied id is not the copied job's (as enqueue does).
        await client.query(`DELETE FROM ${s}.logs WHERE job_id = ANY($1)`, [ids]);
        // One row per job and host, the parts in the order given (read back by first_at).
        const parts = new Map<string, { id: string; host: string; text: string }>();
        for (const part of dump.logs) {
          const key = JSON.stringify([part.id, part.host ?? host]);
          const row = parts.get(key) ?? { id: part.id, host: part.host ?? host, text: '' };
          row.text += part.text;
          parts.set(key, row);
        }
        const rows = [...parts.values()];
        await client.query(
          `INSERT INTO ${s}.logs (job_id, host, text, first_at)
           SELECT job_id, host, text, now() + n * interval '1 microsecond'
           FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS p (job_id, host, text, n)`,
          [rows.map((row) => row.id), rows.map((row) => row.host), rows.map((row) => row.text)],
        );
        await client.query(`INSERT INTO ${s}.completed_ids (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [dump.completedIds]);
        if (ids.length > 0) await this.db.changed(client, 'jobs');
      });
    } catch (error) {
      // An enqueue of one of the ids committed after the look above: the same refusal.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION && (error as { table?: string }).table === 'jobs') {
        const id = /\(id\)=\((.*)\)/.exec((error as { detail?: string }).detail ?? '')?.[1];
        refuseTaken([id ?? 'one of the copied ids'], this.location);
      }
      throw error;
    }
  }

  /** The settings of the target as they stand in this transaction, checked as the store reads them. */
  private async checkSettings(client: Client): Promise<void> {
    const rows = (await client.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${this.db.s}.settings`)).rows;
    resolveConfig(Object.fromEntries(rows.map((row) => [row.key, row.value])), `the settings of ${this.location}`);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
