/** What every command receives: the store and host of the chosen data dir, and the raw arguments. */
import { resolve } from 'node:path';
import type { Host, RunLogs } from '../core/ports/host.js';
import type { Store } from '../core/ports/store.js';
import { inputError } from '../core/rules/errors.js';
import type { Job } from '../core/rules/job.js';
import type { JobFilter } from '../core/rules/list.js';
import { queueName } from '../core/rules/job-spec.js';
import { parseDurationMs } from '../core/rules/parse.js';
import { loadEnv } from '../store/file/envs.js';
import { FileHost } from '../store/file/host.js';
import { dataPaths } from '../store/file/paths.js';
import { checkDataDir } from '../store/local/data-dir.js';
import { FileStore } from '../store/file/file-store.js';
import type { RawArgs } from './argv.js';

export interface CommandContext {
  /** The data directory: its path, for messages and for the worker processes. */
  dataDir: string;
  store: Store;
  host: Host;
  raw: RawArgs;
  /** `--json`: print exactly one JSON document on stdout. */
  json: boolean;
}

/**
 * The one place that picks the store: the file store in the data directory. A data dir that
 * cannot serve (a file, one this user cannot use) is refused here, naming it.
 */
export function openStore(dataDir: string): { dataDir: string; store: Store; host: Host } {
  const root = resolve(dataDir);
  checkDataDir(root);
  return { dataDir: root, store: new FileStore(root), host: new FileHost(root) };
}

/** What a worker child needs, on the data directory its manager gave it: where runs log, and the stored environments of enqueues. */
export function openWorkerSide(dataDir: string): { logs: RunLogs; loadEnv: (id: string) => Record<string, string> } {
  const paths = dataPaths(dataDir);
  return { logs: new FileHost(dataDir).logs, loadEnv: (id) => loadEnv(paths, id) };
}

/**
 * The jobs as a read command (`list`, `stats`) shows them. The settings are read too: a broken
 * one stops every worker, and a person looking at the queue learns of it here, not from a log.
 */
export async function readJobs(ctx: CommandContext, filter?: JobFilter): Promise<Job[]> {
  const jobs = await ctx.store.list(filter);
  await ctx.store.config();
  return jobs;
}

/** The raw text of a value option, if given. */
export function optionText(ctx: CommandContext, name: string): string | undefined {
  return ctx.raw.values.get(name);
}

export function optionCount(ctx: CommandContext, name: string, min: number): number | undefined {
  const text = optionText(ctx, name);
  if (text === undefined) return undefined;
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) throw inputError(`--${name} must be a whole number from ${min} up, got "${text}"`);
  return value;
}

/** A value option in the one duration syntax (`90`, `1.5`, `500ms`, `5m`…), in milliseconds. */
export function optionDurationMs(ctx: CommandContext, name: string, bareUnit: 's' | 'ms' = 's'): number | undefined {
  const text = optionText(ctx, name);
  return text === undefined ? undefined : parseDurationMs(text, `--${name}`, bareUnit);
}

/** Fails when options that belong to another form of the command are given. */
export function rejectOptions(ctx: CommandContext, names: readonly string[], why: string): void {
  for (const name of names) {
    if (ctx.raw.values.has(name) || ctx.raw.flags.has(name)) throw inputError(`--${name} ${why}`);
  }
}

/** `--queue NAME[,NAME…]`: queue names, each once; undefined when not given. */
export function optionQueues(ctx: CommandContext): string[] | undefined {
  const text = optionText(ctx, 'queue');
  if (text === undefined) return undefined;
  return [...new Set(text.split(',').map((name) => queueName(name.trim(), '--queue')))];
}

/** `--queue NAME`, one queue; undefined when not given. */
export function optionQueue(ctx: CommandContext): string | undefined {
  const text = optionText(ctx, 'queue');
  return text === undefined ? undefined : queueName(text, '--queue');
}
