/**
 * The rules of `queuectl store copy`: what a copy carries, what stops it, and what it says. Pure:
 * the stores read and write (ports/queue-copy.ts), core/operations/copy.ts runs the steps.
 *
 * - A job that is processing in the source belongs to a run of a manager there: copied, it would
 *   run again in the target. So would every job while a manager of the source still runs (it
 *   claims them there, the target's managers here). Both stop the copy: stop the workers first.
 * - An id that the target holds (queue or DLQ) stops the copy with nothing written: two jobs of
 *   one id cannot both be, and which one a person meant is not for queuectl to guess.
 * - The settings a person set in the source are set in the target, over a value set there;
 *   settings set only in the target stay. The local choice of store (`store`) is not a setting
 *   of the queue and stays behind.
 */
import { CONFIG_KEYS, isLocalConfigKey, resolveConfig, type ConfigKey } from './config.js';
import { inputError, QueuectlError } from './errors.js';
import type { LogPart, QueueDump } from '../ports/queue-copy.js';

/** How many ids an error names before it says "and N more". */
const NAMED_AT_MOST = 5;

function named(ids: readonly string[]): string {
  const shown = ids.slice(0, NAMED_AT_MOST).map((id) => `"${id}"`).join(', ');
  return ids.length > NAMED_AT_MOST ? `${shown} and ${ids.length - NAMED_AT_MOST} more` : shown;
}

/** A log part whose bytes are at hand (a database row, a test's). */
export function logPartOf(where: Pick<LogPart, 'id' | 'host' | 'run'>, bytes: Buffer): LogPart {
  return { ...where, size: bytes.length, read: (from, to) => bytes.subarray(from, to) };
}

/** Every job id of the dump, queue and DLQ. */
export function dumpIds(dump: Pick<QueueDump, 'jobs'>): string[] {
  return dump.jobs.map((job) => job.id);
}

/**
 * Refuses a source whose jobs would run twice: jobs processing (a run, or a claim, of a manager
 * of the source), or managers of the source still running (`managers`: how many are alive).
 * A runtime state, not bad input: exit 1.
 */
export function refuseRunning(dump: Pick<QueueDump, 'jobs'>, managers: number, source: string): void {
  const processing = dump.jobs.filter((job) => job.state === 'processing').map((job) => job.id);
  if (processing.length > 0) {
    throw new QueuectlError(
      `${processing.length} job(s) of ${source} are processing (${named(processing)}): their runs belong to a manager of the source, ` +
        'and a copy would run them again; stop its workers first (queuectl worker stop --all: on a store many hosts share, those of every host), then copy',
      'EFAIL',
    );
  }
  if (managers > 0) {
    throw new QueuectlError(
      `${managers} worker manager(s) run on ${source}: they would run the copied jobs there as well; stop them first (queuectl worker stop --all: on a store many hosts share, those of every host), then copy`,
      'EFAIL',
    );
  }
}

/** Refuses a copy into a store that already holds some of its ids: bad input, exit 2, nothing written. */
export function refuseTaken(taken: readonly string[], target: string): void {
  if (taken.length === 0) return;
  const what = taken.length === 1 ? `job ${named(taken)} already exists` : `${taken.length} jobs already exist (${named(taken)})`;
  throw inputError(`${what} in ${target}: nothing was copied (cancel and prune, or copy into another store)`);
}

/**
 * The settings of a queue as a store holds them (only what a person set), keys spelled as in
 * config.ts (`max-retries` is `max_retries`), the local choice of store left out. Checked as the
 * store checks them: a broken value is reported naming `where`, never carried along.
 */
export function queueSettings(stored: Readonly<Record<string, unknown>>, where: string): Record<string, unknown> {
  resolveConfig({ ...stored }, where);
  const settings: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(stored)) {
    const key = name.replaceAll('-', '_');
    if (isLocalConfigKey(key)) continue;
    if ((CONFIG_KEYS as string[]).includes(key)) settings[key as ConfigKey] = value;
  }
  return settings;
}

/** What a copy carried, as `store copy --json` prints it. */
export interface CopySummary {
  from: string;
  to: string;
  /** Jobs of the queue (every state but dead). */
  jobs: number;
  /** Dead jobs. */
  dlq: number;
  /** Settings set in the target from the source. */
  settings: number;
  /** Jobs whose log went along. */
  logs: number;
  /** Stored environments the jobs refer to. */
  envs: number;
  /** Ids of completed jobs no longer in the queue, for `--after`. */
  completed_ids: number;
  /** Jobs of the source's archive, left there. */
  archived_left: number;
}

export function summarize(dump: QueueDump, from: string, to: string): CopySummary {
  return {
    from,
    to,
    jobs: dump.jobs.filter((job) => job.state !== 'dead').length,
    dlq: dump.jobs.filter((job) => job.state === 'dead').length,
    settings: Object.keys(dump.settings).length,
    logs: new Set(dump.logs.map((part) => part.id)).size,
    envs: dump.envs.length,
    completed_ids: dump.completedIds.length,
    archived_left: dump.archived,
  };
}

/** The one line `store copy` prints. */
export function describeCopy(summary: CopySummary): string {
  const archive = summary.archived_left > 0 ? ` (the ${summary.archived_left} archived job(s) stay in ${summary.from})` : '';
  return (
    `copied ${summary.jobs} job(s), ${summary.dlq} DLQ job(s), ${summary.settings} setting(s) and ${summary.logs} log(s) ` +
    `from ${summary.from} to ${summary.to}${archive}`
  );
}
