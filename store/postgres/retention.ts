/**
 * Retention in the PostgreSQL store, by the rule of every store (core/rules/retention.ts): once more
 * than `retention + RETENTION_SLACK` completed or canceled jobs are in the jobs table, the
 * oldest finished ones leave it until `retention` remain: to the archive table when `archive` is
 * on (a batch per move, kept `archive_days`), else deleted with their logs, none that finished
 * within RETENTION_GRACE_MS (so `wait` sees how it ended). Completed ones stay known in
 * completed_ids, for `--after`. Each is one statement, for a batch (see transaction.ts).
 */
import type { Config } from '../../core/rules/config.js';
import { RETENTION_GRACE_MS, RETENTION_SLACK } from '../../core/rules/retention.js';
import { integer, text } from './sql.js';

const DAY_MS = 86_400_000;

/** Moves the finished jobs past `retention` out of the jobs table, into archive batch `batch` when `archive` is on. */
export function retentionStatement(s: string, config: Config, now: Date, batch: string): string {
  const bound = config.retention + RETENTION_SLACK;
  const graceFrom = new Date(now.getTime() - (config.archive ? 0 : RETENTION_GRACE_MS)).toISOString();
  const archive = config.archive ? 'true' : 'false';
  // Counting stops past the bound: below it, which is almost every time, the look costs little.
  return `WITH bound AS (
      SELECT count(*) > ${integer(bound)} AS over FROM (SELECT 1 FROM ${s}.jobs WHERE state IN ('completed', 'canceled') LIMIT ${integer(bound + 1)}) AS f
    ), finished AS (
      SELECT id, row_number() OVER (ORDER BY finished_at DESC, seq DESC) AS newest FROM ${s}.jobs
      WHERE state IN ('completed', 'canceled') AND (SELECT over FROM bound)
    ), victims AS (
      SELECT j.id FROM ${s}.jobs AS j JOIN finished AS f USING (id)
      WHERE f.newest > ${integer(config.retention)} AND j.finished_at <= ${text(graceFrom)}
      FOR UPDATE OF j SKIP LOCKED
    ), gone AS (
      DELETE FROM ${s}.jobs AS j USING victims AS v WHERE j.id = v.id RETURNING j.id, j.state, j.doc
    ), archived AS (
      INSERT INTO ${s}.archive (batch, archived_at, id, doc) SELECT ${text(batch)}, ${text(now.toISOString())}::timestamptz, id, doc FROM gone WHERE ${archive}
    ), completed AS (
      INSERT INTO ${s}.completed_ids (id) SELECT id FROM gone WHERE state = 'completed' ON CONFLICT DO NOTHING
    )
    DELETE FROM ${s}.logs WHERE NOT ${archive} AND job_id IN (SELECT id FROM gone)`;
}

/** Deletes the archived jobs older than `olderThanMs`, and the logs of those no copy of which remains. */
export function expireArchiveStatement(s: string, olderThanMs: number, now: Date): string {
  const cutoff = `${text(new Date(now.getTime() - olderThanMs).toISOString())}::timestamptz`;
  return `WITH old AS (DELETE FROM ${s}.archive WHERE archived_at < ${cutoff} RETURNING id)
    DELETE FROM ${s}.logs AS l WHERE l.job_id IN (SELECT id FROM old)
      AND NOT EXISTS (SELECT 1 FROM ${s}.jobs AS j WHERE j.id = l.job_id)
      AND NOT EXISTS (SELECT 1 FROM ${s}.archive AS a WHERE a.id = l.job_id AND a.archived_at >= ${cutoff})`;
}

/** The archive's expiry as the settings have it: null when batches are kept for ever. */
export function archiveExpiry(config: Config): number | null {
  return config.archive_days > 0 ? config.archive_days * DAY_MS : null;
}
