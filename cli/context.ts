/** What every command receives: the store and host of the chosen data dir, and the raw arguments. */
import { resolve } from 'node:path';
import type { Host } from '../core/ports/host.js';
import type { Store } from '../core/ports/store.js';
import { inputError } from '../core/rules/errors.js';
import { queueName } from '../core/rules/job-spec.js';
import { parseDurationMs } from '../core/rules/parse.js';
import { FileHost } from '../store/file/host.js';
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

/** The one place that picks the store: the file store in the data directory. */
export function openStore(dataDir: string): { dataDir: string; store: Store; host: Host } {
  const root = resolve(dataDir);
  return { dataDir: root, store: new FileStore(root), host: new FileHost(root) };
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
