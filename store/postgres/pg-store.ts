/**
 * The PostgreSQL store: the jobs of many hosts in one database, each operation of the Store port
 * one transaction. Rows are locked as the rules of core/ need them (`FOR UPDATE`), and a dispatch
 * cycle claims with `FOR UPDATE SKIP LOCKED`, the pattern of graphile-worker and pg-boss: managers
 * on different hosts never wait for each other's claims, and never claim the same job.
 *
 * What the file store keeps in files the database keeps in tables (see schema.ts): the queue and
 * the DLQ are one table, a dead job being a row in state `dead`; jobs that retention moves out
 * go to the archive table (see retention.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import pg, { KEEP_ALIVE } from './pg.js';
import { planCancel } from '../../core/rules/cancel.js';
import { resolveConfig, type Config, type ConfigKey } from '../../core/rules/config.js';
import { settleRuns } from '../../core/rules/cycle.js';
import { cancelDependents, canceledDependents, endings, type FoundDependency } from '../../core/rules/dependencies.js';
import { assignIds, batchLabels, checkDependencies, outsideDependencies, redrawTaken } from '../../core/rules/enqueue.js';
import { QueuectlError } from '../../core/rules/errors.js';
import { DEFAULT_QUEUE, zeroCounts, type CanceledJob, type DeadJob, type FinishedJob, type Job, type JobHead, type JobState, type PendingJob, type ProcessingJob } from '../../core/rules/job.js';
import { newJob, type JobSpec } from '../../core/rules/job-spec.js';
import { listJobs, type JobFilter } from '../../core/rules/list.js';
import { planPrune, type PruneRule } from '../../core/rules/prune.js';
import { planRestart, planRetry, refuseBrokenDependencies } from '../../core/rules/restart.js';
import type { ArchivedCompletion } from '../../core/rules/stats.js';
import { summarizeJobs, type JobsSummary } from '../../core/rules/summary.js';
import type {
  ArchivePart,
  CancelRequest,
  CancelResult,
  CancelSelection,
  CycleHooks,
  CycleRequest,
  CycleResult,
  ConfigWrite,
  EnqueueRequest,
  Found,
  PreparedStore,
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
import { migrate, quoteIdent, SCHEMA_VERSION } from './schema.js';
import { insertJobs, isDuplicateJobId, updateJobs } from './job-rows.js';
import { appendLogPiece, appendLogWithParameters } from './log-statements.js';
import type { LogRow } from './log-follower.js';
import { archiveExpiry, expireArchiveStatement, retentionStatement } from './retention.js';
import { holdEnvsShared, sweepUnusedEnvs } from './envs.js';
import { text, textArray } from './sql.js';
import { Transaction } from './transaction.js';
import { listen } from './listener.js';
import { claimedFrom, claimJobs, claimRules, plainClaim } from './pg-claim.js';


/** Above this many ids, chainOf finds the jobs that name them by a hash join rather than the `after` index. */
const SEED_BY_JOIN = 1_000;

/** Stored environments a store keeps once read (see `env`). */
const ENVS_KEPT = 32;

/** How often a store applies retention, at most. */
const RETENTION_CHECK_MS = 1_000;

/** How often a store looks for leases that ran out, at most. */
const EXPIRED_CHECK_MS = 1_000;
/** The sweep of environments no job refers to any more, after retention, at most this often (see envs.ts). */
const ENV_SWEEP_MS = 60_000;

/** How long the server lets a transaction of queuectl's wait for its next statement before it ends it (see the pool's options). */
const IDLE_IN_TRANSACTION_MS = 10_000;

/** The idle wait of a transaction that builds rows in bulk between its statements (see transaction()). */
const BULK_IDLE = `SET LOCAL idle_in_transaction_session_timeout = '10min'`;

/** The channel every queuectl store of a database notifies on; the payload names the schema. */
const CHANNEL = 'queuectl_changes';

/** Says yes at most once per `everyMs` of the times it is asked with; a time before the last yes (a clock set back) is due. */
class AtMostEvery {
  private last = -Infinity;

  constructor(private readonly everyMs: number) {}

  due(now: Date): boolean {
    const at = now.getTime();
    if (at >= this.last && at - this.last < this.everyMs) return false;
    this.last = at;
    return true;
  }
}

/** The stored settings, as rows of key and value. */
const SETTINGS = (s: string) => `SELECT key, value FROM ${s}.settings`;

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
  private readonly pool: Pool;
  private readonly schema: string;
  /** The schema, quoted for SQL. */
  private readonly s: string;
  /** Tells this store's own notifications from others'. */
  private readonly instance = randomUUID();
  private readonly url: string;
  private ready: Promise<void> | undefined;
  /** The settings of claims as the last cycle read them: the next one claims early with them. */
  private lastClaimRules: { rules: string; config: Config } | undefined;
  private readonly envs = new Map<string, Record<string, string>>();
  /** The connections of the pool this store listens to (see connect). */
  private readonly heard = new WeakSet<PoolClient>();
  /** Retention, applied by cycles once a second at most. */
  private readonly retention = new AtMostEvery(RETENTION_CHECK_MS);
  /** The look for leases that ran out, by cycles once a second at most. */
  private readonly expiredCheck = new AtMostEvery(EXPIRED_CHECK_MS);
  private readonly envSweep = new AtMostEvery(ENV_SWEEP_MS);
  /** Retention moved jobs out since the last sweep of environments: some may be used by none now. */
  private envsToSweep = false;

  constructor(options: PgStoreOptions) {
    this.url = options.url;
    this.schema = options.schema ?? 'queuectl';
    this.s = quoteIdent(this.schema);
    this.location = describeUrl(options.url, this.schema);
    // An idle client that loses its connection (the server restarted) emits 'error' on the pool;
    // unhandled, it would end the process. The next query connects again.
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.connections ?? 4,
      allowExitOnIdle: true,
      connectionTimeoutMillis: 8_000,
      // Which of the server's sessions are queuectl's, and on which queue (pg_stat_activity).
      application_name: `queuectl ${this.schema}`,
      ...KEEP_ALIVE,
      // A host cut off in the middle of a transaction (power, network) leaves it open on the
      // server, its locks held: the rows it locked would be skipped by every other host's claims
      // and takeovers of leases, and a queue limit's lock waited on, until the server noticed the
      // connection dead (hours, with TCP's defaults). The server ends such a transaction once it
      // has waited this long for its next statement; a manager's cycle waits milliseconds. A
      // `?idle_in_transaction_session_timeout=MS` in the URL sets another (but see BULK_IDLE).
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    });
    this.pool.on('error', () => undefined);
  }

  async prepare(): Promise<PreparedStore> {
    await this.open();
    return { schemaVersion: SCHEMA_VERSION }; // made or brought up to it, or refused
  }

  async clearLeftovers(): Promise<number> {
    return 0; // a transaction cut short leaves nothing behind
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async cycle(request: CycleRequest, hooks: CycleHooks): Promise<CycleResult> {
    const now = hooks.now ?? new Date();
    const result = await this.transaction(async (tx) => {
      const named = new Set<string>();
      for (const list of [request.starts ?? [], request.outcomes, request.release ?? [], request.renew, request.verify ?? []]) {
        for (const run of list) named.add(run.id);
      }
      // The jobs the runs name, and the leases run out that no other manager is taking back now
      // (looked for once a second at most: leases last seconds, and each look costs the server),
      // with the settings, in the round trip of the BEGIN.
      const lookForExpired = request.recoverExpired !== false && this.expiredCheck.due(now);
      const ids = textArray([...named]);
      // The claim too, in the same round trip, as the settings of the last cycle have it: the
      // writes this cycle makes come after it, so it is used only where they could not have made
      // a job ready (see `frees` below) and the settings of claims did not change meanwhile.
      const early = this.lastClaimRules === undefined ? null : plainClaim(this.s, request, this.lastClaimRules.config, now);
      const [settings, locked, expired, earlyRows, earlySoonest, waitedOn] = await tx.batch([
        SETTINGS(this.s),
        named.size === 0 ? null : `SELECT doc FROM ${this.s}.jobs WHERE id = ANY(${ids}) FOR UPDATE`,
        lookForExpired
          ? `SELECT doc FROM ${this.s}.jobs WHERE state = 'processing' AND lease_expires_at <= ${text(now.toISOString())} AND NOT (id = ANY(${ids})) FOR UPDATE SKIP LOCKED`
          : null,
        early?.ready ?? null,
        early?.soonest ?? null,
        // Which of the named jobs others wait on: completed now, they may make those ready.
        early === null || named.size === 0
          ? null
          : `SELECT DISTINCT d.id FROM ${this.s}.jobs AS j, unnest(j.after) AS d (id) WHERE j.after && ${ids} AND j.state IN ('pending', 'failed') AND d.id = ANY(${ids})`,
      ]);
      const config = this.configFrom(settings!);
      const jobs = [...(locked ?? []), ...(expired ?? [])].map((row) => row.doc as Job);
      const settled = settleRuns(jobs, request, config, now, hooks.runStarted);
      // The end of each run's log that came with its outcome, in the commit that records it, so
      // that whoever sees the job finished finds its whole log; even when the claim was lost, as
      // an upload of it would have been; not when the job records the outcome already (it went
      // with it). Before retention, which may take the job and its log.
      request.outcomes.forEach(({ log }, at) => {
        if (log !== undefined && !settled.repeated.has(at)) tx.defer(appendLogPiece(this.s, log));
      });
      // Written before the claim, which reads the table: a job whose dependency completed in this
      // cycle, or that was given back in it, may be claimed in it, as in the file store.
      const changed = settled.changed ? settled.jobs.filter((job, index) => job !== jobs[index]) : [];
      this.writeJobs(tx, changed);
      const canceled = settled.dead.length > 0 ? await this.cancelDependentsOf(tx, settled.dead, now) : [];
      this.writeJobs(tx, canceled);
      if (canceled.length > 0 || changed.some((job) => job.state === 'completed' || job.state === 'canceled')) this.retain(tx, config, now);
      const waited = new Set((waitedOn ?? []).map((row) => row.id as string));
      const nowIso = now.toISOString();
      const frees = changed.some(
        (job) => job.state === 'pending' || (job.state === 'failed' && job.run_at <= nowIso) || (job.state === 'completed' && waited.has(job.id)),
      );
      const rules = claimRules(config);
      const { claimed, nextReadyAt } =
        early !== null && !frees && rules === this.lastClaimRules!.rules
          ? claimedFrom(earlyRows!, earlySoonest!, request, config, now, hooks.newToken)
          : await claimJobs(tx, this.s, this.schema, request, config, now, hooks.newToken);
      this.lastClaimRules = { rules, config };
      this.writeJobs(tx, claimed); // with the COMMIT
      // Jobs taken back from a lease that ran out were another manager's claims: those it must check.
      if (changed.length + canceled.length + claimed.length > 0) this.changed(tx, (expired ?? []).length > 0 ? 'jobs' : 'claims');
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
    if (this.envsToSweep && this.envSweep.due(now)) {
      this.envsToSweep = false;
      await this.sweepEnvs().catch(() => {
        this.envsToSweep = true; // the cycle is recorded: the sweep is tried again by a later one
      });
    }
    return result;
  }

  async enqueue(specs: readonly JobSpec[], request: EnqueueRequest): Promise<PendingJob[]> {
    try {
      return await this.enqueueOnce(specs, request);
    } catch (error) {
      // Another enqueue of the same id committed between this one's look and its insert: once
      // more, the look finds it and says so as any taken id is said.
      if (isDuplicateJobId(error)) {
        return this.enqueueOnce(specs, request);
      }
      throw error;
    }
  }

  private async enqueueOnce(specs: readonly JobSpec[], request: EnqueueRequest): Promise<PendingJob[]> {
    const labels = batchLabels(specs.length, request.label);
    // A batch that runs after other jobs, on a schema not made yet: none of them is there, and
    // that bad input makes no schema (a typo in ?schema= leaves none behind).
    if (outsideDependencies(specs).size > 0 && !(await this.present())) checkDependencies(specs, () => undefined, labels);
    return this.transaction(async (tx) => {
      const at = request.now ?? new Date();
      const given = specs.flatMap((spec) => (spec.id === undefined ? [] : [spec.id]));
      const dependencies = this.dependencyStates(outsideDependencies(specs));
      // Ids are drawn before the table is asked, so that it is asked for all of them at once.
      const drawn = assignIds(specs, () => false, labels);
      const lookUp = (ids: readonly string[]) => `SELECT id FROM ${this.s}.jobs WHERE id = ANY(${textArray(ids)})`;
      // What the checks need, in the round trip of the BEGIN; the writes go with the COMMIT.
      const [settings, taken, found] = await tx.batch([SETTINGS(this.s), lookUp(drawn), dependencies.sql]);
      const config = this.configFrom(settings!);
      const takenIds = new Set((taken ?? []).map((row) => row.id as string));
      let { ids, redrawn } = redrawTaken(specs, drawn, (id) => takenIds.has(id), labels);
      while (redrawn.length > 0) {
        const [again] = await tx.batch([lookUp(redrawn)]);
        if (again!.length === 0) break;
        for (const row of again!) takenIds.add(row.id as string);
        ({ ids, redrawn } = redrawTaken(specs, ids, (id) => takenIds.has(id), labels));
      }
      const states = dependencies.read(found);
      checkDependencies(specs, (id) => states.get(id), labels);
      const envId = request.env !== undefined && config.capture_env ? this.saveEnv(tx, request.env) : null;
      const added = specs.map((spec, index) => newJob(spec, ids[index]!, config, request.cwd, at, envId));
      for (const statement of insertJobs(this.s, added)) tx.defer(statement);
      // A new job does not inherit the log of an older one of the same id (pruned since).
      if (given.length > 0) tx.defer(`DELETE FROM ${this.s}.logs WHERE job_id = ANY(${textArray(given)})`);
      this.changed(tx, 'jobs');
      return added;
    }, { long: true });
  }

  async cancel(selection: CancelSelection, request: CancelRequest): Promise<CancelResult> {
    const { now } = request;
    if (!(await this.present())) {
      // Nothing to cancel where there is no queue, and no schema made for it (see present): an id is unknown, as in an empty one.
      const plan = planCancel([], [], 'states' in selection ? [] : selection, now, request.hasRun([]));
      return { canceled: plan.canceled, running: plan.running, dependents: [] };
    }
    const result = await this.transaction(async (tx) => {
      const found =
        'states' in selection
          ? await this.lockJobs(tx, `state = ANY($1)`, [selection.states], '', 'ORDER BY seq')
          : await this.lockJobs(tx, `id = ANY($1)`, [selection], '', 'ORDER BY seq');
      const ids = 'states' in selection ? found.map((job) => job.id) : selection;
      const queue = found.filter((job) => job.state !== 'dead');
      const dlq = found.filter((job): job is DeadJob => job.state === 'dead');
      const wanted = new Set(ids);
      const processing = queue.filter((job): job is ProcessingJob => job.state === 'processing' && wanted.has(job.id));
      const plan = planCancel(queue, dlq, ids, now, request.hasRun(processing));
      const named = plan.canceled.map(({ job }) => job);
      const dependents = await this.cancelDependentsOf(tx, named, now);
      const written = [...named, ...dependents];
      // Sent before the COMMIT, not with it, so that an interrupt while the database writes the
      // rows (seconds for 100,000) is seen here, and the transaction rolled back.
      if (written.length > 0) await tx.batch([updateJobs(this.s, written)]);
      request.signal?.throwIfAborted();
      if (written.length > 0) this.changed(tx, 'jobs');
      return { canceled: plan.canceled, running: plan.running, dependents };
    });
    // Once committed: a cancel that did not land leaves no log saying it happened. (Were the
    // connection lost during the COMMIT, the cancel may have landed with no line: a line missing
    // rather than one that lies.)
    for (const { job } of result.canceled) request.noteCanceled(job);
    return result;
  }

  async restart(selection: RestartSelection, request: RestartRequest): Promise<Restarted> {
    const { now } = request;
    if (!(await this.present())) {
      // As cancel: the rule on an empty queue says what is unknown, and nothing is made.
      const plan = 'restart' in selection ? planRestart([], [], selection.restart, now, new Map()) : planRetry([], [], selection.retry, now);
      return { restarted: plan.restarted, stillCanceled: [] };
    }
    return this.transaction(async (tx) => {
      const ids = 'restart' in selection ? selection.restart : selection.retry === 'all' ? null : selection.retry;
      const found = ids === null ? await this.lockJobs(tx, `state = 'dead'`, [], '', 'ORDER BY seq') : await this.lockJobs(tx, `id = ANY($1)`, [ids], '', 'ORDER BY seq');
      const queue = found.filter((job) => job.state !== 'dead');
      const dlq = found.filter((job): job is DeadJob => job.state === 'dead');
      // Jobs retention moved out come back from the archive: the newest copy of each.
      const missing = 'restart' in selection ? selection.restart.filter((id) => !found.some((job) => job.id === id)) : [];
      const archived = new Map((missing.length === 0 ? [] : await this.archivedCopies(tx, missing)).map(({ job }) => [job.id, job]));
      const plan = 'restart' in selection ? planRestart(queue, dlq, selection.restart, now, archived) : planRetry(queue, dlq, selection.retry, now);
      if (plan.restarted.length === 0) return { restarted: [], stillCanceled: [] };
      const restartedIds = plan.restarted.map((job) => job.id);
      const dependencies = this.dependencyStates(new Set(plan.restarted.flatMap((job) => job.after ?? [])));
      const [dependencyRows] = await tx.batch([dependencies.sql]);
      const states = dependencies.read(dependencyRows);
      // As they are once this restart is written: a job restarted with its dependency may wait for it.
      for (const job of plan.restarted) states.set(job.id, { state: job.state, created_at: job.created_at });
      refuseBrokenDependencies(plan.restarted, (id) => states.get(id));
      for (const job of plan.restarted) request.noteRestarted(job, archived.has(job.id));
      this.writeJobs(tx, plan.restarted.filter((job) => !archived.has(job.id)));
      const back = plan.restarted.filter((job) => archived.has(job.id));
      if (back.length > 0) {
        for (const statement of insertJobs(this.s, back)) tx.defer(statement);
        tx.defer(`DELETE FROM ${this.s}.archive WHERE id = ANY(${textArray(back.map((job) => job.id))})`);
      }
      this.changed(tx, 'jobs');
      const dependents = await this.chainOf(tx, restartedIds, `state = 'canceled'`, false);
      return { restarted: plan.restarted, stillCanceled: canceledDependents(dependents, restartedIds) };
    });
  }

  async prune(rule: PruneRule, request: PruneRequest = {}): Promise<FinishedJob[]> {
    const now = request.now ?? new Date();
    if (!(await this.present())) return []; // nothing to prune, and no schema made for it (see present)
    return this.transaction(async (tx) => {
      await this.readConfig(tx); // a broken setting is reported here too, as by every command
      const found = await this.lockJobs(tx, `state = ANY($1)`, [rule.states], '', 'ORDER BY seq');
      const plan = planPrune(
        found.filter((job) => job.state !== 'dead'),
        found.filter((job): job is DeadJob => job.state === 'dead'),
        rule,
        now,
      );
      if (request.dryRun || plan.removed.length === 0) return plan.removed;
      const ids = plan.removed.map((job) => job.id);
      await tx.query(`DELETE FROM ${this.s}.jobs WHERE id = ANY($1)`, [ids]);
      await tx.query(`DELETE FROM ${this.s}.logs WHERE job_id = ANY($1)`, [ids]);
      // Still known as completed, for `--after`, once gone.
      const completed = plan.removed.filter((job) => job.state === 'completed').map((job) => job.id);
      await tx.query(`INSERT INTO ${this.s}.completed_ids (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [completed]);
      this.changed(tx, 'jobs');
      return plan.removed;
    }).then(async (removed) => {
      if (!request.dryRun) await this.sweepEnvs().catch(() => undefined); // also one a retention sweep left; failed, the next does it
      return removed;
    });
  }

  async pruneArchive(olderThanMs: number, dryRun: boolean, now = new Date()): Promise<ArchivePart[]> {
    if (!(await this.present())) return [];
    return this.transaction(async (tx) => {
      const cutoff = new Date(now.getTime() - olderThanMs).toISOString();
      const [rows] = await tx.batch([
        `SELECT batch, min(archived_at) AS at, count(*) AS jobs FROM ${this.s}.archive GROUP BY batch HAVING min(archived_at) < ${text(cutoff)}::timestamptz ORDER BY at, batch`,
      ]);
      const parts = rows!.map((row) => ({ name: row.batch as string, writtenAt: (row.at as Date).getTime(), jobs: Number(row.jobs) }));
      if (!dryRun && parts.length > 0) tx.defer(expireArchiveStatement(this.s, olderThanMs, now));
      return parts;
    }).then(async (parts) => {
      if (!dryRun) await this.sweepEnvs().catch(() => undefined);
      return parts;
    });
  }

  async config(): Promise<Config> {
    return this.configFrom(await this.read(SETTINGS(this.s), []));
  }

  setConfig<K extends ConfigKey>(key: K, value: Config[K], options: ConfigWrite = {}): Promise<Config> {
    return this.updateConfig(key, () => value, options);
  }

  async updateConfig<K extends ConfigKey>(key: K, change: (current: Config[K]) => Config[K], { ifChanged = false }: ConfigWrite = {}): Promise<Config> {
    if (ifChanged && !(await this.present())) {
      // The defaults, where there is no schema: one is made only for a change of them.
      const defaults = this.configFrom([]);
      if (isDeepStrictEqual(change(defaults[key]), defaults[key])) return defaults;
    }
    return this.transaction(async (tx) => {
      // One change of the settings at a time: two changes of `queues` at once both land.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`queuectl:${this.schema}:settings`]);
      const current = await this.readConfig(tx);
      const value = change(current[key]);
      if (ifChanged && isDeepStrictEqual(value, current[key])) return current;
      await tx.query(
        `INSERT INTO ${this.s}.settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, JSON.stringify(value)],
      );
      this.changed(tx, 'config');
      return this.readConfig(tx);
    });
  }

  async list(filter: JobFilter = {}): Promise<Job[]> {
    // The most recent N (`list --limit`) are asked for as such: beside 100,000 jobs, reading them all took half a second.
    const rows = await this.read<{ doc: Job }>(
      `SELECT doc FROM (SELECT doc, created_at, seq FROM ${this.s}.jobs WHERE ($1::text[] IS NULL OR state = ANY($1)) AND ($2::text IS NULL OR queue = $2)
         ORDER BY created_at DESC, seq DESC LIMIT $3) AS recent ORDER BY created_at, seq`,
      [filter.states ?? null, filter.queue ?? null, filter.limit ?? null],
    );
    return listJobs(rows.map((row) => row.doc), { limit: filter.limit });
  }

  /**
   * The counts from the server, by queue and state; the rest (who runs what, who waits for whom)
   * from the jobs it concerns only: the processing jobs, the jobs that name others in `after`,
   * and those they name. So `status` costs about the same beside 100,000 delayed jobs as beside
   * none, where reading every job's head took about a second.
   */
  async summary(): Promise<JobsSummary> {
    const [counts, concerned] = await Promise.all([
      this.read<{ queue: string; state: JobState; n: number }>(`SELECT queue, state, count(*)::int AS n FROM ${this.s}.jobs GROUP BY queue, state`, []),
      this.jobHeads(`WHERE state = 'processing' OR after IS NOT NULL OR id IN (SELECT unnest(after) FROM ${this.s}.jobs WHERE after IS NOT NULL)`),
    ]);
    const queues: JobsSummary['queues'] = {};
    for (const { queue, state, n } of counts) (queues[queue] ??= zeroCounts())[state] = n;
    return { ...summarizeJobs(concerned), queues };
  }

  /** The heads of the jobs `where` picks, from their columns, without their documents, but a processing job whole (which worker runs it). */
  private async jobHeads(where: string): Promise<(Job | JobHead)[]> {
    const rows = await this.read<{ doc: Job | null; id: string; state: JobState; queue: string; after: string[] | null; created_at: string }>(
      `SELECT CASE WHEN state = 'processing' THEN doc END AS doc, id, state, queue, after, created_at FROM ${this.s}.jobs ${where} ORDER BY created_at, seq`,
      [],
    );
    return rows.map((row) => row.doc ?? { id: row.id, state: row.state, queue: row.queue, after: row.after ?? [], created_at: row.created_at });
  }

  async archivedCompletions(since: Date): Promise<ArchivedCompletion[]> {
    const rows = await this.read<{ id: string; queue: string | null; finished_at: string }>(
      `SELECT id, doc->>'queue' AS queue, doc->>'finished_at' AS finished_at FROM ${this.s}.archive
        WHERE archived_at >= $1 AND doc->>'state' = 'completed' AND doc->>'finished_at' >= $2`,
      [since, since.toISOString()],
    );
    return rows.map((row) => ({ id: row.id, queue: row.queue ?? DEFAULT_QUEUE, finished_at: row.finished_at }));
  }

  /** Queued and dead jobs share the jobs table; the others are looked for in the archive. */
  async find(ids: readonly string[], options: { archive?: boolean } = {}): Promise<Map<string, Found>> {
    const rows = await this.read<{ doc: Job }>(`SELECT doc FROM ${this.s}.jobs WHERE id = ANY($1)`, [ids]);
    const found = new Map<string, Found>(rows.map(({ doc }) => [doc.id, { job: doc, where: `${this.location} (${doc.state === 'dead' ? 'DLQ' : 'queue'})` }]));
    const missing = ids.filter((id) => !found.has(id));
    if (options.archive === false || missing.length === 0) return found;
    const archived = await this.read<{ doc: Job; batch: string }>(
      `SELECT DISTINCT ON (id) doc, batch FROM ${this.s}.archive WHERE id = ANY($1) ORDER BY id, archived_at DESC`,
      [missing],
    );
    for (const { doc, batch } of archived) found.set(doc.id, { job: doc, where: `${this.location} (archive ${batch})`, archive: batch });
    return found;
  }

  /** The newest archived copy of each of `ids` that has one. */
  private async archivedCopies(tx: Transaction, ids: readonly string[]): Promise<{ job: Job; batch: string }[]> {
    const [rows] = await tx.batch([`SELECT DISTINCT ON (id) doc, batch FROM ${this.s}.archive WHERE id = ANY(${textArray(ids)}) ORDER BY id, archived_at DESC`]);
    return rows!.map((row) => ({ job: row.doc as Job, batch: row.batch as string }));
  }

  async current(ids: readonly string[]): Promise<ReadonlyMap<string, Job> | null> {
    const rows = await this.read<{ doc: Job }>(`SELECT doc FROM ${this.s}.jobs WHERE id = ANY($1) AND state <> 'dead'`, [ids]);
    return new Map(rows.map(({ doc }) => [doc.id, doc]));
  }

  async version(): Promise<string> {
    const rows = await this.read<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${this.s}.changes`, []);
    return rows[0]?.is_called ? rows[0].last_value : '0';
  }

  watch(onChange: (change: StoreChange) => void): () => void {
    return listen({
      url: this.url,
      channel: CHANNEL,
      applicationName: `queuectl listen ${this.schema}`,
      onPayload: (payload) => {
        const [schema, instance, change] = payload.split('|');
        if (schema === this.schema && instance !== this.instance && (change === 'jobs' || change === 'claims' || change === 'config')) onChange(change);
      },
      // Deaf for a while: any job may have changed meanwhile.
      onResumed: () => onChange('jobs'),
    });
  }

  /** Creates or migrates the schema, once per store. */
  private open(): Promise<void> {
    this.ready ??= this.migrated(true).then(() => undefined).catch((error: unknown) => {
      this.ready = undefined; // the next use tries again (the server may be back)
      throw error;
    });
    return this.ready;
  }

  /**
   * Whether the schema is there (made ready if it is: migrated); where it is not, nothing is made.
   * For the commands that only read, and those that find nothing to change where there is no
   * queue (a cancel, a prune): a typo in `?schema=` must not leave a schema behind, as one in
   * `--data-dir` leaves no directory; they find an empty queue, as there.
   */
  private async present(): Promise<boolean> {
    if (this.ready !== undefined) {
      await this.ready;
      return true;
    }
    if ((await this.migrated(false)) === null) return false;
    this.ready ??= Promise.resolve();
    return true;
  }

  /** The schema migrated on a connection of the pool (see schema.ts migrate); null where it is not there and `create` is false. */
  private async migrated(create: boolean): Promise<number | null> {
    const client = await this.connect();
    try {
      return await migrate(client, this.schema, { create });
    } catch (error) {
      throw databaseFailure(error, this.location);
    } finally {
      client.release();
    }
  }

  /** One statement that reads, on a connection of the pool: no rows where the schema is not there (see present). */
  private async read<R extends QueryResultRow>(statement: string, values: unknown[]): Promise<R[]> {
    return (await this.present()) ? this.query<R>(statement, values) : [];
  }

  /**
   * A connection of the pool, for this process alone until released. The pool listens for the
   * errors of the connections it holds, not of those it lent: one that ends while lent (the
   * server restarted, the session was ended) emits an error no one hears, which would end the
   * process. So the store listens: the statement in flight, or the next, fails with it, and
   * the pool drops the connection when it comes back.
   */
  private async connect(): Promise<PoolClient> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new QueuectlError(`could not connect to ${this.location}: ${(error as Error).message}`, 'EFAIL');
    }
    if (!this.heard.has(client)) {
      this.heard.add(client);
      client.on('error', () => undefined);
    }
    return client;
  }

  /** One statement, on a connection of the pool. */
  private async query<R extends QueryResultRow>(statement: string, values: unknown[]): Promise<R[]> {
    await this.open();
    const client = await this.connect();
    try {
      return (await client.query<R>(statement, values)).rows;
    } catch (error) {
      throw databaseFailure(error, this.location);
    } finally {
      client.release();
    }
  }

  /**
   * One transaction. `long`: one that builds many rows between its statements (an enqueue of a
   * large batch, a copy), which may leave the server waiting longer than its sessions' idle wait
   * allows (300,000 jobs: 4 s): it gets BULK_IDLE instead, set with its BEGIN.
   */
  private async transaction<T>(body: (tx: Transaction) => Promise<T>, { long = false } = {}): Promise<T> {
    await this.open();
    const client = await this.connect();
    const tx = new Transaction(client);
    if (long) tx.defer(BULK_IDLE);
    try {
      const result = await body(tx);
      // The version moves on, and the others are told, once the change is there to read: after
      // the commit, in one statement of its own (sent with the COMMIT, in its round trip).
      const payloads = [...tx.changes].map((change) => `${this.schema}|${this.instance}|${change}`);
      await tx.commit(payloads.length === 0 ? [] : [`SELECT pg_notify(${text(CHANNEL)}, payload), nextval(${text(`${this.s}.changes`)}) FROM unnest(${textArray(payloads)}) AS payload`]);
      return result;
    } catch (error) {
      await tx.rollback().catch(() => undefined);
      throw databaseFailure(error, this.location);
    } finally {
      client.release();
    }
  }

  private async readConfig(tx: Transaction): Promise<Config> {
    return this.configFrom((await tx.query(SETTINGS(this.s))).rows);
  }

  private configFrom(rows: readonly QueryResultRow[]): Config {
    return resolveConfig(Object.fromEntries(rows.map((row) => [row.key, row.value])), `the settings of ${this.location}`);
  }

  /** The jobs `where` picks, locked for this transaction. */
  private async lockJobs(tx: Transaction, where: string, values: unknown[], skip: '' | 'SKIP LOCKED' = '', order = ''): Promise<Job[]> {
    const rows = await tx.query<{ doc: Job }>(`SELECT doc FROM ${this.s}.jobs WHERE ${where} ${order} FOR UPDATE ${skip}`, values);
    return rows.rows.map((row) => row.doc);
  }

  /** Writes the jobs over their rows (every one of them locked by this transaction), with the next statement sent. */
  private writeJobs(tx: Transaction, jobs: readonly Job[]): void {
    if (jobs.length > 0) tx.defer(updateJobs(this.s, jobs));
  }

  /** Marks a change: once the transaction commits, the other views are told and the version moves on. */
  private changed(tx: Transaction, change: StoreChange): void {
    tx.changes.add(change);
  }

  /**
   * Retention, once a second at most (the slack above `retention` leaves room between looks):
   * finished jobs past it leave the jobs table, and archive batches past `archive_days` go.
   */
  private retain(tx: Transaction, config: Config, now: Date): void {
    if (!this.retention.due(now)) return;
    tx.defer(retentionStatement(this.s, config, now, `${now.toISOString()}-${this.instance.slice(0, 8)}`));
    const expiry = archiveExpiry(config);
    if (expiry !== null) tx.defer(expireArchiveStatement(this.s, expiry, now));
    this.envsToSweep = true;
  }

  /** Deletes the environments no job refers to any more (see envs.ts). */
  private sweepEnvs(): Promise<number> {
    return this.transaction((tx) => sweepUnusedEnvs(tx, this.s, this.schema));
  }

  /**
   * Cancels the jobs waiting on `ended`, down the chain, as in the file store (the rule is
   * cancelDependents): the whole chain is found and locked first, so each one's last_error names
   * where the chain broke.
   */
  private async cancelDependentsOf(tx: Transaction, ended: readonly Job[], now: Date): Promise<CanceledJob[]> {
    if (ended.length === 0) return [];
    // The jobs this change ends are as it leaves them, not as the table still has them: a cancel
    // of pending jobs and of those they wait for cancels each once, as selected.
    const endedById = new Map(ended.map((job) => [job.id, job]));
    const chain = (await this.chainOf(tx, ended.map((job) => job.id), `state IN ('pending', 'failed')`, true)).map((job) => endedById.get(job.id) ?? job);
    return cancelDependents(chain, endings(ended), now).canceled;
  }

  /** The jobs that name any of `ids` in `after`, and those that name them, on down: only jobs `state` picks. */
  private async chainOf(tx: Transaction, ids: readonly string[], state: string, lock: boolean): Promise<Job[]> {
    // The `after` index finds the jobs naming a few ids at once, but took 10 s for the 100,000 of
    // a `cancel --all`: many are matched against the waiting jobs' dependencies by a hash join.
    const seed =
      ids.length > SEED_BY_JOIN
        ? `SELECT DISTINCT j.id FROM ${this.s}.jobs AS j CROSS JOIN unnest(j.after) AS d (id) JOIN unnest($1::text[]) AS e (id) ON e.id = d.id
           WHERE j.after IS NOT NULL AND j.${state}`
        : `SELECT id FROM ${this.s}.jobs WHERE after && $1::text[] AND ${state}`;
    const rows = await tx.query<{ doc: Job }>(
      `WITH RECURSIVE chain (id) AS (
         ${seed}
         UNION
         SELECT j.id FROM ${this.s}.jobs AS j JOIN chain AS c ON j.after @> ARRAY[c.id] WHERE j.${state}
       )
       SELECT doc FROM ${this.s}.jobs WHERE id IN (SELECT id FROM chain) ORDER BY seq ${lock ? 'FOR UPDATE' : ''}`,
      [ids],
    );
    return rows.rows.map((row) => row.doc);
  }

  /**
   * What became of the jobs named as dependencies, in the table or completed and pruned since:
   * a statement for a batch, and how to read its rows. Null when no job is named.
   */
  private dependencyStates(ids: ReadonlySet<string>): { sql: string | null; read: (rows: readonly QueryResultRow[] | undefined) => Map<string, FoundDependency> } {
    const named = textArray([...ids]);
    return {
      sql:
        ids.size === 0
          ? null
          : `SELECT id, state, created_at FROM ${this.s}.jobs WHERE id = ANY(${named})
             UNION ALL SELECT id, 'completed', NULL FROM ${this.s}.completed_ids AS c
               WHERE id = ANY(${named}) AND NOT EXISTS (SELECT 1 FROM ${this.s}.jobs AS j WHERE j.id = c.id)`,
      read: (rows) => new Map((rows ?? []).map((row) => [row.id as string, { state: row.state as Job['state'], created_at: row.created_at as string | null }])),
    };
  }

  /** Stores the environment of an enqueue once, under a hash of its content, with the commit. */
  private saveEnv(tx: Transaction, env: Readonly<Record<string, string>>): string {
    const stored = JSON.stringify(Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))));
    const id = createHash('sha256').update(stored).digest('hex').slice(0, 32);
    tx.defer(holdEnvsShared(this.schema)); // until the commit: a sweep leaves the row to this enqueue's jobs
    tx.defer(`INSERT INTO ${this.s}.envs (id, env) VALUES (${text(id)}, ${text(stored)}::jsonb) ON CONFLICT (id) DO NOTHING`);
    return id;
  }

  /** The registry of the managers of every host, kept in this database (see pg-managers.ts). */
  managerRegistry(host: string, files: ManagerFiles): ManagerRegistry {
    return new PgManagers(this.query.bind(this), this.read.bind(this), this.s, host, files);
  }

  /** Appends to the row of a job's log that holds run `run` of `host` (made by the first append). */
  async appendLog(jobId: string, host: string, run: string, text: string): Promise<void> {
    await this.query(appendLogWithParameters(this.s), [jobId, host, run, text]);
  }

  /** Writes the row of run `run` anew: `text`, which keeps the run's output from byte `cut` on. */
  async replaceLog(jobId: string, host: string, run: string, text: string, cut: number): Promise<void> {
    await this.query(
      `INSERT INTO ${this.s}.logs (job_id, host, run, text, cut) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (job_id, host, run) DO UPDATE SET text = EXCLUDED.text, cut = EXCLUDED.cut`,
      [jobId, host, run, text, cut],
    );
  }

  /**
   * Writes the row of a run of `host` that begins with `header` anew: `text`, which keeps the
   * run's output from byte `cut` on; makes it, under `run`, where there is none.
   */
  async replaceRunLog(jobId: string, host: string, header: string, run: string, text: string, cut: number): Promise<void> {
    await this.query(
      `WITH updated AS (UPDATE ${this.s}.logs SET text = $5, cut = $6 WHERE job_id = $1 AND host = $2 AND starts_with(text, $3) RETURNING 1)
       INSERT INTO ${this.s}.logs (job_id, host, run, text, cut) SELECT $1, $2, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM updated)
       ON CONFLICT (job_id, host, run) DO UPDATE SET text = EXCLUDED.text, cut = EXCLUDED.cut`,
      [jobId, host, header, run, text, cut],
    );
  }

  /** A job's log as the database holds it: every host's runs, in the order they began; undefined when there is none. */
  async readLog(jobId: string): Promise<string | undefined> {
    const rows = await this.logRows(jobId);
    return rows.length === 0 ? undefined : rows.map((row) => row.text).join('');
  }

  /** The rows of a job's log, in the order they began (see log-follower.ts). */
  async logRows(jobId: string): Promise<LogRow[]> {
    const rows = await this.read<{ seq: string; run: string; cut: string; text: string }>(`SELECT seq, run, cut, text FROM ${this.s}.logs WHERE job_id = $1 ORDER BY seq`, [jobId]);
    return rows.map((row) => ({ seq: Number(row.seq), run: row.run, cut: Number(row.cut), text: row.text }));
  }

  /** `store copy` of this queue (see pg-copy.ts), over this store's connections and transactions. */
  queueCopy(): PgQueueCopy {
    return new PgQueueCopy({
      location: this.location,
      schema: this.schema,
      s: this.s,
      probe: async (text, values) => {
        const client = await this.connect();
        try {
          return (await client.query(text, values)).rows;
        } catch (error) {
          throw databaseFailure(error, this.location);
        } finally {
          client.release();
        }
      },
      transaction: (body) => this.transaction(body, { long: true }),
      readConfig: (tx) => this.readConfig(tx),
      close: () => this.close(),
    });
  }

  /**
   * A stored environment of an enqueue, for a worker to run its jobs in. Kept once read: an
   * environment's id is a hash of its content, so it never changes, and the jobs of one enqueue
   * share it (a worker running them one after another asks the database once).
   */
  async env(id: string): Promise<Record<string, string>> {
    const known = this.envs.get(id);
    if (known !== undefined) return known;
    const rows = await this.read<{ env: Record<string, string> }>(`SELECT env FROM ${this.s}.envs WHERE id = $1`, [id]);
    if (rows[0] === undefined) throw new QueuectlError(`its environment ${id} is missing from ${this.location}`, 'EFAIL');
    if (this.envs.size >= ENVS_KEPT) this.envs.delete(this.envs.keys().next().value!);
    this.envs.set(id, rows[0].env);
    return rows[0].env;
  }

}

/**
 * An error of the database (it refused a statement: a permission, a constraint) or of the
 * connection to it (ended, reset) as queuectl's own: one line naming the store, exit 1, with the
 * database's error as its cause. Anything else is left as it is: a bug shows its stack.
 */
function databaseFailure(error: unknown, location: string): unknown {
  if (error instanceof QueuectlError || !(error instanceof Error)) return error;
  const fromServer = error instanceof pg.DatabaseError;
  const fromConnection = /^Connection terminated|not queryable|^(read|write) E[A-Z]+$/.test(error.message) || /^E[A-Z]+$/.test(String((error as { code?: unknown }).code ?? ''));
  return fromServer || fromConnection ? new QueuectlError(`${location}: ${error.message}`, 'EFAIL', { cause: error }) : error;
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

