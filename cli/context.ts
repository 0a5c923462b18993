/** What every command receives: the store and host of the chosen data dir, and the raw arguments. */
import { resolve } from 'node:path';
import type { Host, RunLogs } from '../core/ports/host.js';
import type { Store } from '../core/ports/store.js';
import { inputError } from '../core/rules/errors.js';
import type { Job } from '../core/rules/job.js';
import type { JobFilter } from '../core/rules/list.js';
import { queueName } from '../core/rules/job-spec.js';
import { parseDurationMs } from '../core/rules/parse.js';
import { checkDataDir } from '../store/local/data-dir.js';
import { whichStore, type ChosenStore, type CopyEndChoice, type StoreChoice } from './store-choice.js';
import { readStoreSetting } from '../store/file/store-setting.js';
import type { RawArgs } from './argv.js';
import type { CopyEnd } from '../core/operations/copy.js';

export type { CopyEnd };

export interface CommandContext extends Opened {
  raw: RawArgs;
  /** `--json`: print exactly one JSON document on stdout. */
  json: boolean;
}

export interface Opened {
  /** The data directory: its path, for messages and for the worker processes. */
  dataDir: string;
  store: Store;
  host: Host;
  /** The store as chosen, for the worker children of a manager. */
  choice: StoreChoice;
}

/**
 * The one place that picks the store: the files of the data directory, or a PostgreSQL database
 * (each store's modules, and `pg`, loaded only when it is the one picked). A data dir that cannot serve (a file, one this user
 * cannot use) is refused here, naming it: the host's logs and managers are kept there either way.
 */
export async function openStore(dataDir: string, choice: StoreChoice = { kind: 'file' }): Promise<Opened> {
  const root = resolve(dataDir);
  checkDataDir(root);
  if (choice.kind === 'file') {
    const [{ FileStore }, { FileHost }] = await Promise.all([import('../store/file/file-store.js'), import('../store/file/host.js')]);
    return { dataDir: root, store: new FileStore(root), host: new FileHost(root), choice };
  }
  const [{ PgStore }, { PgRunLogs }, { LocalHost }] = await Promise.all([
    import('../store/postgres/pg-store.js'),
    import('../store/postgres/pg-run-logs.js'),
    import('../store/local/host.js'),
  ]);
  const store = new PgStore({ url: choice.url, schema: choice.schema });
  // Logs stay with the host; the managers of every host are listed in the database.
  const host = new LocalHost(root, {
    logs: (paths, name) => new PgRunLogs(paths, store, name),
    managers: (files, name) => store.managerRegistry(name, files),
  });
  return { dataDir: root, store, host, choice };
}

/**
 * The store a command uses on the data directory `root`: `--store`, else QUEUECTL_STORE, else
 * the data dir's own choice (`config set store`, in its config.json), else its files.
 */
export function chosenStore(root: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ChosenStore {
  return whichStore(flag, env, () => savedStore(root));
}

/** For `config get store`: the store in use, and what the data dir's config.json says (read once) even where a flag or the environment wins. */
export function storeChoices(root: string, flag: string | undefined): { chosen: ChosenStore; saved: ChosenStore } {
  let read: { saved: ReturnType<typeof savedStore> } | undefined;
  const saved = () => (read ??= { saved: savedStore(root) }).saved;
  return { chosen: whichStore(flag, process.env, saved), saved: whichStore(undefined, {}, saved) };
}

/** The data dir's own choice of store, in its config.json. */
function savedStore(root: string): { text: string; file: string } | undefined {
  // A data dir that cannot serve is named as such, not through its config.json.
  checkDataDir(resolve(root));
  return readStoreSetting(resolve(root));
}

/**
 * One end of `store copy`, and the worker managers running on it (a copy is refused while they
 * run). `dataDir` is this host's data directory, where a PostgreSQL end keeps this host's own
 * records of managers. Each store's modules (and pg) are loaded only for an end of its kind.
 */
export async function openCopyEnd(end: CopyEndChoice, dataDir: string): Promise<CopyEnd> {
  if (end.kind === 'file') {
    const [{ FileQueueCopy }, { FileHost }] = await Promise.all([import('../store/file/copy.js'), import('../store/file/host.js')]);
    return { copy: new FileQueueCopy(end.dir), managers: new FileHost(end.dir).managers };
  }
  const [{ PgStore }, { ManagerFiles }, { hostName }, { hostPaths }] = await Promise.all([
    import('../store/postgres/pg-store.js'),
    import('../store/local/manager-registry.js'),
    import('../store/local/host.js'),
    import('../store/local/paths.js'),
  ]);
  const store = new PgStore({ url: end.url, schema: end.schema, connections: 2 });
  return { copy: store.queueCopy(), managers: store.managerRegistry(hostName(), new ManagerFiles(hostPaths(resolve(dataDir)).managers)) };
}

/**
 * What a worker child needs, on the data directory its manager gave it: where runs log. A store
 * many hosts share keeps the logs too: the worker reaches it only when a run's log must go there
 * on its own (a long run's output, a large end), loading node-postgres then (see PgRunLogs).
 */
export async function openWorkerSide(
  dataDir: string,
  choice: StoreChoice,
): Promise<{ logs: RunLogs; flush: () => Promise<void>; flushLogs?: () => Promise<void>; host?: string }> {
  if (choice.kind === 'file') {
    const { FileHost } = await import('../store/file/host.js');
    return { logs: new FileHost(dataDir).logs, flush: async () => undefined };
  }
  const [{ PgRunLogs }, { hostName }, { hostPaths }] = await Promise.all([
    import('../store/postgres/pg-run-logs.js'),
    import('../store/local/host.js'),
    import('../store/local/paths.js'),
  ]);
  const database = async () => {
    const { PgStore } = await import('../store/postgres/pg-store.js');
    return new PgStore({ url: choice.url, schema: choice.schema, connections: 1 });
  };
  const host = hostName();
  const logs = new PgRunLogs(hostPaths(dataDir), database, host);
  return { logs, flush: () => logs.flushed(), flushLogs: () => logs.uploaded(), host };
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
