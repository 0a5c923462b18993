/**
 * The claim of a dispatch cycle on PostgreSQL: the ready jobs in claim order, taken with
 * `FOR UPDATE SKIP LOCKED` (what another manager is claiming at the same moment is skipped, not
 * waited for), under new leases; with queue limits, under an advisory lock that makes the claims
 * of limited queues across managers take turns.
 */
import type { QueryResultRow } from 'pg';
import type { Config } from '../../core/rules/config.js';
import { queueOf, type ClaimableJob, type ClaimedJob } from '../../core/rules/job.js';
import { parallelOf } from '../../core/rules/queues.js';
import { claim } from '../../core/rules/transitions.js';
import type { CycleRequest } from '../../core/ports/store.js';
import { integer, text, textArray, textArrayOrNull } from './sql.js';
import type { Transaction } from './transaction.js';

/** The jobs a claim took, and when the next is due if they are fewer than asked for (null: none waits, or not asked). */
export interface Claimed {
  claimed: ClaimedJob[];
  nextReadyAt: string | null;
}

/** The queues a pause of their own stops. */
function pausedQueues(config: Config): string[] {
  return Object.entries(config.queues).filter(([, settings]) => settings.paused === true).map(([name]) => name);
}

/** What of the settings decides which jobs a claim may take. */
export function claimRules(config: Config): string {
  return JSON.stringify([config.paused, config.queues]);
}

/**
 * The claim's two questions, as statements: the ready jobs a cycle may claim, in claim order
 * (of the queues it takes, not paused, whose dependencies completed, not `skipped`; locked, and
 * skipped when another manager is claiming them), and when the soonest waiting job is due. The
 * second is asked with the first: when all that was asked for is claimed its answer goes
 * unused, but asking later would cost a round trip when it is not.
 */
function claimQueries(s: string, request: CycleRequest, skipped: readonly string[], exclude: readonly string[], wanted: number, now: Date): { ready: string; soonest: string } {
  const nowIso = text(now.toISOString());
  const queues = textArrayOrNull(request.queues);
  const gate = `state IN ('pending', 'failed') AND (${queues} IS NULL OR queue = ANY(${queues})) AND NOT (queue = ANY(${textArray(skipped)}))
    AND NOT EXISTS (SELECT 1 FROM ${s}.jobs AS d WHERE d.id = ANY(j.after) AND d.state NOT IN ('completed', 'dead') AND d.created_at <= j.created_at)`;
  return {
    ready: `SELECT doc FROM ${s}.jobs AS j WHERE ${gate} AND run_at <= ${nowIso} AND NOT (id = ANY(${textArray(exclude)}))
      ORDER BY priority DESC, run_at, seq LIMIT ${integer(wanted)} FOR UPDATE OF j SKIP LOCKED`,
    // The first in run_at order, not min(): the planner then walks jobs_due from now and stops
    // at the first job that passes the gate, where min() over a million delayed jobs had it
    // scan the table, in every cycle.
    soonest: `SELECT run_at AS at FROM ${s}.jobs AS j WHERE ${gate} AND run_at > ${nowIso} ORDER BY run_at LIMIT 1`,
  };
}

/** The claim as a cycle without queue limits asks it: whether it can, and its statements. */
export function plainClaim(s: string, request: CycleRequest, config: Config, now: Date): { ready: string; soonest: string } | null {
  if (config.paused || request.claim <= 0 || Object.keys(config.queues).some((name) => parallelOf(config.queues, name) !== null)) return null;
  return claimQueries(s, request, pausedQueues(config), [], request.claim, now);
}

/** The jobs of a claim's rows, claimed under new leases. */
function claimRows(rows: readonly QueryResultRow[], config: Config, now: Date, newToken: () => string): ClaimedJob[] {
  const expires_at = new Date(now.getTime() + config.lease * 1000).toISOString();
  return rows.map((row) => claim(row.doc as ClaimableJob, { token: newToken(), expires_at }, now));
}

/** The jobs a claim without queue limits found, claimed, and when the next is due if they are fewer than asked for. */
export function claimedFrom(rows: readonly QueryResultRow[], soonest: readonly QueryResultRow[], request: CycleRequest, config: Config, now: Date, newToken: () => string): Claimed {
  const claimed = claimRows(rows, config, now, newToken);
  return { claimed, nextReadyAt: claimed.length < request.claim ? ((soonest[0]?.at as string | null) ?? null) : null };
}

/** Jobs claimed for the manager's workers, in claim order, with their queues' limits kept across managers. */
export async function claimJobs(tx: Transaction, s: string, schema: string, request: CycleRequest, config: Config, now: Date, newToken: () => string): Promise<Claimed> {
  if (config.paused || request.claim <= 0) return { claimed: [], nextReadyAt: null };
  const plain = plainClaim(s, request, config, now);
  if (plain !== null) {
    const [rows, next] = await tx.batch([plain.ready, plain.soonest]);
    return claimedFrom(rows!, next!, request, config, now, newToken);
  }
  const paused = pausedQueues(config);
  const limited = Object.keys(config.queues).filter((name) => parallelOf(config.queues, name) !== null);
  // Limits hold across managers: their claims of limited queues take turns.
  const [, running] = await tx.batch([
    `SELECT pg_advisory_xact_lock(hashtext(${text(`queuectl:${schema}:limits`)}))`,
    `SELECT queue, count(*) FROM ${s}.jobs WHERE state = 'processing' AND queue = ANY(${textArray(limited)}) GROUP BY queue`,
  ]);
  const counts = new Map(running!.map((row) => [row.queue as string, Number(row.count)]));
  const room = new Map(limited.map((name) => [name, parallelOf(config.queues, name)! - (counts.get(name) ?? 0)]));
  const full = () => [...room].filter(([, left]) => left <= 0).map(([name]) => name);
  const claimed: ClaimedJob[] = [];
  for (;;) {
    const wanted = request.claim - claimed.length;
    const { ready } = claimQueries(s, request, [...paused, ...full()], claimed.map((job) => job.id), wanted, now);
    const [rows] = await tx.batch([ready]);
    let stoppedByLimit = false;
    for (const row of rows!) {
      const doc = row.doc as ClaimableJob;
      const left = room.get(queueOf(doc));
      if (left !== undefined && left <= 0) {
        stoppedByLimit = true;
        continue;
      }
      if (left !== undefined) room.set(queueOf(doc), left - 1);
      claimed.push(...claimRows([row], config, now, newToken));
    }
    if (claimed.length >= request.claim || rows!.length < wanted || !stoppedByLimit) break;
  }
  if (claimed.length >= request.claim) return { claimed, nextReadyAt: null };
  const [next] = await tx.batch([claimQueries(s, request, [...paused, ...full()], [], 1, now).soonest]);
  return { claimed, nextReadyAt: (next![0]?.at as string | null) ?? null };
}
