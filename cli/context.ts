/** What every command receives: the store of the chosen data dir and the raw arguments. */
import { inputError } from '../core/errors.js';
import { queueName } from '../core/job-spec.js';
import { parseDurationMs } from '../core/parse.js';
import type { QueueStore } from '../store/queue-store.js';
import type { RawArgs } from './argv.js';

export interface CommandContext {
  store: QueueStore;
  raw: RawArgs;
  /** `--json`: print exactly one JSON document on stdout. */
  json: boolean;
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
