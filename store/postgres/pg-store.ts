/**
 * The PostgreSQL store: the jobs of many hosts in one database, each operation of the Store port
 * one transaction. Rows are locked as the rules of core/ need them (`FOR UPDATE`), and a dispatch
 * cycle claims with `FOR UPDATE SKIP LOCKED`, the pattern of graphile-worker and pg-boss: managers
 * on different hosts never wait for each other's claims, and never claim the same job.
 *
 * What the file store keeps in files the database keeps in tables (see schema.ts): there is no
 * archive (finished jobs stay until `prune`), and the queue and the DLQ are one table, a dead
 * job being a row in state `dead`.
 */
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { planCancel } from '../../core/rules/cancel.js';
import { resolveConfig, type Config, type ConfigKey } from '../../core/rules/config.js';
import { settleRuns } from '../../core/rules/cycle.js';
import { cancelDependents, canceledDependents, endings, type FoundDependency } from '../../core/rules/dependencies.js';
import { assignIds, batchLabels, checkDependencies, outsideDependencies } from '../../core/rules/enqueue.js';
import { QueuectlError } from '../../core/rules/errors.js';
import { queueOf, type CanceledJob, type ClaimableJob, type ClaimedJob, type DeadJob, type FinishedJob, type Job, type PendingJob, type ProcessingJob } from '../../core/rules/job.js';
import { newJob, type JobSpec } from '../../core/rules/job-spec.js';
import { listJobs, type JobFilter } from '../../core/rules/list.js';
import { planPrune, type PruneRule } from '../../core/rules/prune.js';
import { parallelOf } from '../../core/rules/queues.js';
import { planRestart, planRetry, refuseBrokenDependencies } from '../../core/rules/restart.js';
import { claim } from '../../core/rules/transitions.js';
import type {
  ArchivePart,
  CancelRequest,
  CancelResult,
  CancelSelection,
  CycleHooks,
  CycleRequest,
  CycleResult,
  EnqueueRequest,
  Found,
  PruneRequest,
  Restarted,
  RestartRequest,
  RestartSelection,
  Store,
  StoreChange,
} from '../../core/ports/store.js';
import type { ManagerRegistry } from '../../core/ports/host.js';
import type { ManagerFiles } from '../local/manager-registry.js';
import { PgManagers } from './pg-managers.js';
import { PgQueueCopy } from './pg-copy.js';
import { migrate, quoteIdent } from './schema.js';

type Client = pg.PoolClient;

/** How often a store looks for leases that ran out, at most. */
const EXPIRED_CHECK_MS = 1_000;

/** The channel every queuectl store of a database notifies on; the payload names the schema. */
const CHANNEL = 'queuectl_changes';

/** The columns of a job row, from its document `d` (a jsonb value). */
const COLUMNS_FROM_DOC = `d->>'id', d->>'state', coalesce(d->>'queue', 'default'), (d->>'priority')::int, d->>'run_at', d->>'created_at',
  d->>'finished_at', d->'lease'->>'expires_at', NULLIF(ARRAY(SELECT jsonb_array_elements_text(coalesce(d->'after', '[]'::jsonb))), '{}'), d`;

export interface PgStoreOptions {
  /** A `postgres://` connection string. */
  url: string;
  /** The database schema that holds this queue's tables. @default "queuectl" */
  schema?: string;
  /** Connections at most. @default 4 */
  connections?: number;
}

export class PgStore implements Store {
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly schema: string;
  /** The schema, quoted for SQL. */
  private readonly s: string;
  /** Tells this store's own notifications from others'. */
  private readonly instance = randomUUID();
  private readonly url: string;
  private ready: Promise<void> | undefined;
  /** What the transaction of each connection changed: the others are told, and the version moves on, once it commits. */
  private readonly changedIn = new Map<Client, Set<StoreChange>>();
  /** When this store last looked for leases that ran out (epoch ms of the cycle's `now`). */
  private expiredCheckedAt = -Infinity;

  constructor(options: PgStoreOptions) {
    this.url = options.url;
    this.schema = options.schema ?? 'queuectl';
    this.s = quoteIdent(this.schema);
    this.location = describeUrl(options.url, this.schema);
    // An idle client that loses its connection (the server restarted) emits 'error' on the pool;
    // unhandled, it would end the process. The next query connects again.
    this.pool = new pg.Pool({ connectionString: options.url, max: options.connections ?? 4, allowExitOnIdle: true, connectionTimeoutMillis: 8_000 });
    this.pool.on('error', () => undefined);
  }

  async prepare(): Promise<void> {
    await this.open();
  }

  async clearLeftovers(): Promise<number> {
    return 0; // a transaction cut short leaves nothing behind
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async cycle(request: CycleRequest, hooks: CycleHooks): Promise<CycleResult> {
    const now = hooks.now ?? new Date();
    const nowIso = now.toISOString();
    return this.transaction(async (client) => {
      const config = await this.readConfig(client);
      const named = new Set<string>();
      for (const list of [request.starts ?? [], request.outcomes, request.release ?? [], request.renew, request.verify ?? []]) {
        for (const run of list) named.add(run.id);
      }
      // The jobs the runs name, and the leases run out that no other manager is taking back now
      // (looked for once a second at most: leases last seconds, and each look is a round trip).
      const lookForExpired = now.getTime() - this.expiredCheckedAt >= EXPIRED_CHECK_MS || now.getTime() < this.expiredCheckedAt;
      if (lookForExpired) this.expiredCheckedAt = now.getTime();
      const jobs = [
        ...(named.size === 0 ? [] : await this.lockJobs(client, `id = ANY($1)`, [[...named]])),
        ...(lookForExpired
          ? await this.lockJobs(client, `state = 'processing' AND lease_expires_at <= $1 AND NOT (id = ANY($2))`, [nowIso, [...named]], 'SKIP LOCKED')
          : []),
      ];
      const settled = settleRuns(jobs, request, config, now, hooks.runStarted);
      // Written before the claim, which reads the table: a job whose dependency completed in this
      // cycle, or that was given back in it, may be claimed in it, as in the file store.
      const changed = settled.changed ? settled.jobs.filter((job, index) => job !== jobs[index]) : [];
      await this.writeJobs(client, changed);
      const canceled = settled.dead.length > 0 ? await this.cancelDependentsOf(client, settled.dead, now) : [];
      await this.writeJobs(client, canceled);
      const { claimed, nextReadyAt } = await this.claim(client, request, config, now, hooks.newToken);
      await this.writeJobs(client, claimed);
      if (changed.length + canceled.length + claimed.length > 0) await this.changed(client, 'jobs');
      return {
        recorded: settled.recorded,
        lostClaims: settled.lostClaims,
        lost: settled.lost,
        claimed,
        recovered: settled.recovered,
        canceled,
        nextReadyAt,
        config,
      };
    });
  }

  async enqueue(specs: readonly JobSpec[], request: EnqueueRequest): Promise<PendingJob[]> {
    const labels = batchLabels(specs.length, request.label);
    return this.transaction(async (client) => {
      const at = request.now ?? new Date();
      const config = await this.readConfig(client);
      const given = specs.flatMap((spec) => (spec.id === undefined ? [] : [spec.id]));
      const taken = new Set((await client.query<{ id: string }>(`SELECT id FROM ${this.s}.jobs WHERE id = ANY($1)`, [given])).rows.map((row) => row.id));
      const ids = assignIds(specs, (id) => taken.has(id), labels);
      const states = await this.dependencyStates(client, outsideDependencies(specs));
      checkDependencies(specs, (id) => states.get(id), labels);
      const envId = request.env !== undefined && config.capture_env ? await this.saveEnv(client, request.env) : null;
      const added = specs.map((spec, index) => newJob(spec, ids[index]!, config, request.cwd, at, envId));
      await client.query(
        `INSERT INTO ${this.s}.jobs (id, state, queue, priority, run_at, created_at, finished_at, lease_expires_at, after, doc)
         SELECT ${COLUMNS_FROM_DOC} FROM jsonb_array_elements($1::jsonb) AS d`,
        [JSON.stringify(added)],
      );
      // A new job does not inherit the log of an older one of the same id (pruned since).
      await client.query(`DELETE FROM ${this.s}.logs WHERE job_id = ANY($1)`, [given]);
      await this.changed(client, 'jobs');
      return added;
    });
  }

  async cancel(selection: CancelSelection, request: CancelRequest): Promise<CancelResult> {
    const { now } = request;
    return this.transaction(async (client) => {
      const found =
        'states' in selection
          ? await this.lockJobs(client, `state = ANY($1)`, [selection.states], '', 'ORDER BY seq')
          : await this.lockJobs(client, `id = ANY($1)`, [selection], '', 'ORDER BY seq');
      const ids = 'states' in selection ? found.map((job) => job.id) : selection;
      const queue = found.filter((job) => job.state !== 'dead');
      const dlq = found.filter((job): job is DeadJob => job.state === 'dead');
      const wanted = new Set(ids);
      const processing = queue.filter((job): job is ProcessingJob => job.state === 'processing' && wanted.has(job.id));
      const plan = planCancel(queue, dlq, ids, now, request.hasRun(processing));
      const named = plan.canceled.map(({ job }) => job);
      const dependents = await this.cancelDependentsOf(client, named, now);
      for (const job of named) request.noteCanceled(job);
      await this.writeJobs(client, [...named, ...dependents]);
      if (named.length + dependents.length > 0) await this.changed(client, 'jobs');
      return { canceled: plan.canceled, running: plan.running, dependents };
    });
  }

  async restart(selection: RestartSelection, request: RestartRequest): Promise<Restarted> {
    const { now } = request;
    return this.transaction(async (client) => {
      const ids = 'restart' in selection ? selection.restart : selection.retry === 'all' ? null : selection.retry;
      const found = ids === null ? await this.lockJobs(client, `state = 'dead'`, [], '', 'ORDER BY seq') : await this.lockJobs(client, `id = ANY($1)`, [ids], '', 'ORDER BY seq');
      const queue = found.filter((job) => job.state !== 'dead');
      const dlq = found.filter((job): job is DeadJob => job.state === 'dead');
      const plan = 'restart' in selection ? planRestart(queue, dlq, selection.restart, now) : planRetry(queue, dlq, selection.retry, now);
      if (plan.restarted.length === 0) return { restarted: [], stillCanceled: [] };
      const restartedIds = plan.restarted.map((job) => job.id);
      const states = await this.dependencyStates(client, new Set(plan.restarted.flatMap((job) => job.after ?? [])));
      // As they are once this restart is written: a job restarted with its dependency may wait for it.
      for (const job of plan.restarted) states.set(job.id, { state: job.state, created_at: job.created_at });
      refuseBrokenDependencies(plan.restarted, (id) => states.get(id));
      for (const job of plan.restarted) request.noteRestarted(job, false);
      await this.writeJobs(client, plan.restarted);
      await this.changed(client, 'jobs');
      const dependents = await this.chainOf(client, restartedIds, `state = 'canceled'`, false);
      return { restarted: plan.restarted, stillCanceled: canceledDependents(dependents, restartedIds) };
    });
  }

  async prune(rule: PruneRule, request: PruneRequest = {}): Promise<FinishedJob[]> {
    const now = request.now ?? new Date();
    return this.transaction(async (client) => {
      await this.readConfig(client); // a broken setting is reported here too, as by every command
      const found = await this.lockJobs(client, `state = ANY($1)`, [rule.states], '', 'ORDER BY seq');
      const plan = planPrune(
        found.filter((job) => job.state !== 'dead'),
        found.filter((job): job is DeadJob => job.state === 'dead'),
        rule,
        now,
      );
      if (request.dryRun || plan.removed.length === 0) return plan.removed;
      const ids = plan.removed.map((job) => job.id);
      await client.query(`DELETE FROM ${this.s}.jobs WHERE id = ANY($1)`, [ids]);
      await client.query(`DELETE FROM ${this.s}.logs WHERE job_id = ANY($1)`, [ids]);
      // Still known as completed, for `--after`, once gone.
      const completed = plan.removed.filter((job) => job.state === 'completed').map((job) => job.id);
      await client.query(`INSERT INTO ${this.s}.completed_ids (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [completed]);
      await this.changed(client, 'jobs');
      return plan.removed;
    });
  }

  async pruneArchive(): Promise<ArchivePart[]> {
    return []; // no archive: finished jobs stay in the table until `prune`
  }

  async config(): Promise<Config> {
    await this.open();
    const client = await this.pool.connect();
    try {
      return await this.readConfig(client);
    } finally {
      client.release();
    }
  }

  setConfig<K extends ConfigKey>(key: K, value: Config[K]): Promise<Config> {
    return this.updateConfig(key, () => value);
  }

  async updateConfig<K extends ConfigKey>(key: K, change: (current: Config[K]) => Config[K]): Promise<Config> {
    return this.transaction(async (client) => {
      // One change of the settings at a time: two changes of `queues` at once both land.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`queuectl:${this.schema}:settings`]);
      const current = await this.readConfig(client);
      const value = change(current[key]);
      await client.query(
        `INSERT INTO ${this.s}.settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, JSON.stringify(value)],
      );
      await this.changed(client, 'config');
      return this.readConfig(client);
    });
  }

  async list(filter: JobFilter = {}): Promise<Job[]> {
    const rows = await this.query<{ doc: Job }>(
      `SELECT doc FROM ${this.s}.jobs WHERE ($1::text[] IS NULL OR state = ANY($1)) AND ($2::text IS NULL OR queue = $2) ORDER BY created_at, seq`,
      [filter.states ?? null, filter.queue ?? null],
    );
    return listJobs(rows.map((row) => row.doc), { limit: filter.limit });
  }

  /** Every job is current here (there is no archive). */
  async find(ids: readonly string[]): Promise<Map<string, Found>> {
    const rows = await this.query<{ doc: Job }>(`SELECT doc FROM ${this.s}.jobs WHERE id = ANY($1)`, [ids]);
    return new Map(rows.map(({ doc }) => [doc.id, { job: doc, where: `${this.location} (${doc.state === 'dead' ? 'DLQ' : 'queue'})` }]));
  }

  async current(ids: readonly string[]): Promise<ReadonlyMap<string, Job> | null> {
    const rows = await this.query<{ doc: Job }>(`SELECT doc FROM ${this.s}.jobs WHERE id = ANY($1) AND state <> 'dead'`, [ids]);
    return new Map(rows.map(({ doc }) => [doc.id, doc]));
  }

  async version(): Promise<string> {
    const rows = await this.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${this.s}.changes`, []);
    return rows[0]?.is_called ? rows[0].last_value : '0';
  }

  watch(onChange: (change: StoreChange) => void): () => void {
    const client = new pg.Client({ connectionString: this.url });
    let stopped = false;
    client.on('error', () => undefined); // the callers poll as well
    client.on('notification', (message) => {
      const [schema, instance, change] = (message.payload ?? '').split('|');
      if (schema === this.schema && instance !== this.instance && (change === 'jobs' || change === 'config')) onChange(change);
    });
    const listening = client
      .connect()
      .then(() => (stopped ? undefined : client.query(`LISTEN ${CHANNEL}`)))
      .catch(() => undefined);
    return () => {
      stopped = true;
      // Once connecting has settled: ending a client mid-connect may leave its socket open.
      void listening.then(() => client.end()).catch(() => undefined);
    };
  }

  /** Creates or migrates the schema, once per store. */
  private open(): Promise<void> {
    this.ready ??= (async () => {
      const client = await this.connect();
      try {
        await migrate(client, this.schema);
      } finally {
        client.release();
      }
    })();
    return this.ready;
  }

  private async connect(): Promise<Client> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw new QueuectlError(`could not connect to ${this.location}: ${(error as Error).message}`, 'EFAIL');
    }
  }

  /** One statement, on a connection of the pool. */
  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    await this.open();
    const client = await this.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      client.release();
    }
  }

  private async transaction<T>(body: (client: Client) => Promise<T>): Promise<T> {
    await this.open();
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      this.changedIn.delete(client);
      const result = await body(client);
      await client.query('COMMIT');
      // After the commit, in one statement: whoever is told, or sees the new version, finds the change.
      const changes = this.changedIn.get(client);
      this.changedIn.delete(client);
      if (changes !== undefined) {
        const payloads = [...changes].map((change) => `${this.schema}|${this.instance}|${change}`);
        await client
          .query(`SELECT pg_notify($1, payload), nextval('${this.s}.changes') FROM unnest($2::text[]) AS payload`, [CHANNEL, payloads])
          .catch(() => undefined); // committed: the others find it when they poll
      }
      return result;
    } catch (error) {
      this.changedIn.delete(client);
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async readConfig(client: Client): Promise<Config> {
    const rows = (await client.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${this.s}.settings`)).rows;
    return resolveConfig(Object.fromEntries(rows.map((row) => [row.key, row.value])), `the settings of ${this.location}`);
  }

  /** The jobs `where` picks, locked for this transaction. */
  private async lockJobs(client: Client, where: string, values: unknown[], skip: '' | 'SKIP LOCKED' = '', order = ''): Promise<Job[]> {
    const rows = await client.query<{ doc: Job }>(`SELECT doc FROM ${this.s}.jobs WHERE ${where} ${order} FOR UPDATE ${skip}`, values);
    return rows.rows.map((row) => row.doc);
  }

  /** Writes the jobs over their rows (every one of them locked by this transaction). */
  private async writeJobs(client: Client, jobs: readonly Job[]): Promise<void> {
    if (jobs.length === 0) return;
    await client.query(
      `UPDATE ${this.s}.jobs AS j SET state = v.state, queue = v.queue, priority = v.priority, run_at = v.run_at, created_at = v.created_at,
         finished_at = v.finished_at, lease_expires_at = v.lease_expires_at, after = v.after, doc = v.doc
       FROM (SELECT ${COLUMNS_FROM_DOC} FROM jsonb_array_elements($1::jsonb) AS d)
         AS v (id, state, queue, priority, run_at, created_at, finished_at, lease_expires_at, after, doc)
       WHERE j.id = v.id`,
      [JSON.stringify(jobs)],
    );
  }

  /** Marks a change: once the transaction commits, the other views are told and the version moves on. */
  private async changed(client: Client, change: StoreChange): Promise<void> {
    const changes = this.changedIn.get(client) ?? new Set<StoreChange>();
    changes.add(change);
    this.changedIn.set(client, changes);
  }

  /**
   * Jobs claimed for the manager's workers, in claim order: ready jobs of the queues it takes, not
   * paused, whose dependencies completed, with room under their queue's limit; locked and skipped
   * when another manager is claiming them.
   */
  private async claim(client: Client, request: CycleRequest, config: Config, now: Date, newToken: () => string): Promise<{ claimed: ClaimedJob[]; nextReadyAt: string | null }> {
    if (config.paused || request.claim <= 0) return { claimed: [], nextReadyAt: null };
    const nowIso = now.toISOString();
    const paused = Object.entries(config.queues).filter(([, settings]) => settings.paused === true).map(([name]) => name);
    const limited = Object.keys(config.queues).filter((name) => parallelOf(config.queues, name) !== null);
    const room = new Map<string, number>();
    if (limited.length > 0) {
      // Limits hold across managers: their claims of limited queues take turns.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`queuectl:${this.schema}:limits`]);
      const running = await client.query<{ queue: string; count: string }>(
        `SELECT queue, count(*) FROM ${this.s}.jobs WHERE state = 'processing' AND queue = ANY($1) GROUP BY queue`,
        [limited],
      );
      const counts = new Map(running.rows.map((row) => [row.queue, Number(row.count)]));
      for (const name of limited) room.set(name, parallelOf(config.queues, name)! - (counts.get(name) ?? 0));
    }
    const leaseEnd = new Date(now.getTime() + config.lease * 1000).toISOString();
    const claimed: ClaimedJob[] = [];
    const gate = `state IN ('pending', 'failed') AND ($1::text[] IS NULL OR queue = ANY($1)) AND NOT (queue = ANY($2))
      AND NOT EXISTS (SELECT 1 FROM ${this.s}.jobs AS d WHERE d.id = ANY(j.after) AND d.state NOT IN ('completed', 'dead') AND d.created_at <= j.created_at)`;
    for (;;) {
      const full = [...room].filter(([, left]) => left <= 0).map(([name]) => name);
      const wanted = request.claim - claimed.length;
      const rows = await client.query<{ doc: ClaimableJob }>(
        `SELECT doc FROM ${this.s}.jobs AS j WHERE ${gate} AND run_at <= $3 AND NOT (id = ANY($4))
         ORDER BY priority DESC, run_at, seq LIMIT $5 FOR UPDATE OF j SKIP LOCKED`,
        [request.queues ?? null, [...paused, ...full], nowIso, claimed.map((job) => job.id), wanted],
      );
      let stoppedByLimit = false;
      for (const { doc } of rows.rows) {
        const left = room.get(queueOf(doc));
        if (left !== undefined && left <= 0) {
          stoppedByLimit = true;
          continue;
        }
        if (left !== undefined) room.set(queueOf(doc), left - 1);
        claimed.push(claim(doc, { token: newToken(), expires_at: leaseEnd }, now));
      }
      if (claimed.length >= request.claim || rows.rows.length < wanted || !stoppedByLimit) break;
    }
    let nextReadyAt: string | null = null;
    if (claimed.length < request.claim) {
      const full = [...room].filter(([, left]) => left <= 0).map(([name]) => name);
      const soonest = await client.query<{ at: string | null }>(`SELECT min(run_at) AS at FROM ${this.s}.jobs AS j WHERE ${gate} AND run_at > $3`, [
        request.queues ?? null,
        [...paused, ...full],
        nowIso,
      ]);
      nextReadyAt = soonest.rows[0]?.at ?? null;
    }
    return { claimed, nextReadyAt };
  }

  /**
   * Cancels the jobs waiting on `ended`, down the chain, as in the file store (the rule is
   * cancelDependents): the whole chain is found and locked first, so each one's last_error names
   * where the chain broke.
   */
  private async cancelDependentsOf(client: Client, ended: readonly Job[], now: Date): Promise<CanceledJob[]> {
    if (ended.length === 0) return [];
    const chain = await this.chainOf(client, ended.map((job) => job.id), `state IN ('pending', 'failed')`, true);
    return cancelDependents(chain, endings(ended), now).canceled;
  }

  /** The jobs that name any of `ids` in `after`, and those that name them, on down: only jobs `state` picks. */
  private async chainOf(client: Client, ids: readonly string[], state: string, lock: boolean): Promise<Job[]> {
    const rows = await client.query<{ doc: Job }>(
      `WITH RECURSIVE chain (id) AS (
         SELECT id FROM ${this.s}.jobs WHERE after && $1::text[] AND ${state}
         UNION
         SELECT j.id FROM ${this.s}.jobs AS j JOIN chain AS c ON j.after @> ARRAY[c.id] WHERE j.${state}
       )
       SELECT doc FROM ${this.s}.jobs WHERE id IN (SELECT id FROM chain) ORDER BY seq ${lock ? 'FOR UPDATE' : ''}`,
      [ids],
    );
    return rows.rows.map((row) => row.doc);
  }

  /** What became of the jobs named as dependencies: in the table, or completed and pruned since. */
  private async dependencyStates(client: Client, ids: ReadonlySet<string>): Promise<Map<string, FoundDependency>> {
    const states = new Map<string, FoundDependency>();
    if (ids.size === 0) return states;
    const found = await client.query<{ id: string; state: Job['state']; created_at: string }>(`SELECT id, state, created_at FROM ${this.s}.jobs WHERE id = ANY($1)`, [[...ids]]);
    for (const row of found.rows) states.set(row.id, { state: row.state, created_at: row.created_at });
    const missing = [...ids].filter((id) => !states.has(id));
    if (missing.length > 0) {
      const pruned = await client.query<{ id: string }>(`SELECT id FROM ${this.s}.completed_ids WHERE id = ANY($1)`, [missing]);
      for (const row of pruned.rows) states.set(row.id, { state: 'completed', created_at: null });
    }
    return states;
  }

  /** Stores the environment of an enqueue once, under a hash of its content. */
  private async saveEnv(client: Client, env: Readonly<Record<string, string>>): Promise<string> {
    const text = JSON.stringify(Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))));
    const id = createHash('sha256').update(text).digest('hex').slice(0, 32);
    await client.query(`INSERT INTO ${this.s}.envs (id, env) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [id, text]);
    return id;
  }

  /** The registry of the managers of every host, kept in this database (see pg-managers.ts). */
  managerRegistry(host: string, files: ManagerFiles): ManagerRegistry {
    return new PgManagers(this.query.bind(this), this.s, host, files);
  }

  /** Appends to what the database holds of a job's log from `host`. */
  async appendLog(jobId: string, host: string, text: string): Promise<void> {
    await this.query(
      `INSERT INTO ${this.s}.logs (job_id, host, text) VALUES ($1, $2, $3)
       ON CONFLICT (job_id, host) DO UPDATE SET text = ${this.s}.logs.text || EXCLUDED.text`,
      [jobId, host, text],
    );
  }

  /** A job's log as the database holds it: the part of each host, in the order they began; undefined when there is none. */
  async readLog(jobId: string): Promise<string | undefined> {
    const rows = await this.query<{ text: string }>(`SELECT text FROM ${this.s}.logs WHERE job_id = $1 ORDER BY first_at, host`, [jobId]);
    return rows.length === 0 ? undefined : rows.map((row) => row.text).join('');
  }

  /** `store copy` of this queue (see pg-copy.ts), over this store's connections and transactions. */
  queueCopy(): PgQueueCopy {
    return new PgQueueCopy({
      location: this.location,
      schema: this.schema,
      s: this.s,
      // As enqueue inserts them, in the order given (which `seq` keeps).
      insertJobs: async (client, jobs) => {
        await client.query(
          `INSERT INTO ${this.s}.jobs (id, state, queue, priority, run_at, created_at, finished_at, lease_expires_at, after, doc)
           SELECT ${COLUMNS_FROM_DOC} FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e (d, n) ORDER BY n`,
          [JSON.stringify(jobs)],
        );
      },
      probe: async (text, values) => {
        const client = await this.connect();
        try {
          return (await client.query(text, values)).rows;
        } finally {
          client.release();
        }
      },
      transaction: (body) => this.transaction(body),
      changed: (client, change) => this.changed(client, change),
      close: () => this.close(),
    });
  }

  /** A stored environment of an enqueue, for a worker to run its jobs in. */
  async env(id: string): Promise<Record<string, string>> {
    const rows = await this.query<{ env: Record<string, string> }>(`SELECT env FROM ${this.s}.envs WHERE id = $1`, [id]);
    if (rows[0] === undefined) throw new QueuectlError(`its environment ${id} is missing from ${this.location}`, 'EFAIL');
    return rows[0].env;
  }
}

/** The database as people see it in messages: host, port and name, never the password. */
function describeUrl(url: string, schema: string): string {
  try {
    const parsed = new URL(url);
    return `postgres://${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}${schema === 'queuectl' ? '' : ` (schema ${schema})`}`;
  } catch {
    return 'the PostgreSQL database';
  }
}

