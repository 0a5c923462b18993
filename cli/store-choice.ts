/**
 * Which store a command works on: `--store`, else `QUEUECTL_STORE`, else the `store` the data
 * directory's config.json names (`queuectl config set store …`), else the files of the data
 * directory. A PostgreSQL store is a `postgres://` (or `postgresql://`) URL; `?schema=NAME`
 * picks the database schema that holds the queue, so that one database can hold several.
 */
import { statSync } from 'node:fs';
import { inputError, QueuectlError } from '../core/rules/errors.js';
import { resolveDataDir } from './data-dir.js';

export type StoreChoice = { kind: 'file' } | { kind: 'postgres'; url: string; schema: string };

/** Where the choice came from, as `config get store` says it. */
export type StoreSource = '--store' | 'QUEUECTL_STORE' | 'config.json' | 'default';

export interface ChosenStore {
  choice: StoreChoice;
  /** As it was given (`file`, a URL); `file` for the default. */
  text: string;
  from: StoreSource;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function parseStoreChoice(text: string, what: string): StoreChoice {
  if (text === '' || text === 'file') return { kind: 'file' };
  if (!/^postgres(ql)?:\/\//.test(text)) throw inputError(`${what} must be file or a postgres:// URL, got "${text}"`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw inputError(`${what}: "${text}" is not a URL`);
  }
  const named = url.searchParams.getAll('schema');
  if (named.length > 1) throw inputError(`${what}: schema is given more than once (${named.map((name) => `"${name}"`).join(', ')}): give one`);
  const schema = named[0] ?? 'queuectl';
  if (!SCHEMA_NAME.test(schema)) throw inputError(`${what}: schema must be lower-case letters, digits and _ (at most 63), got "${schema}"`);
  if (schema.startsWith('pg_')) throw inputError(`${what}: schema must not begin with pg_, which PostgreSQL keeps for its own schemas, got "${schema}"`);
  url.searchParams.delete('schema');
  return { kind: 'postgres', url: url.toString(), schema };
}

/**
 * The store chosen by the flag, else the environment, else the data directory's setting
 * (`saved()`, read only when needed: a flag or the environment wins without a look at the file),
 * else the data directory's files. A broken saved value is a broken file (exit 1), naming it.
 */
export function whichStore(flag: string | undefined, env: NodeJS.ProcessEnv, saved: () => { text: string; file: string } | undefined): ChosenStore {
  if (flag !== undefined) return { choice: parseStoreChoice(flag, '--store'), text: flag, from: '--store' };
  const fromEnv = env.QUEUECTL_STORE;
  if (fromEnv !== undefined && fromEnv !== '') return { choice: parseStoreChoice(fromEnv, 'QUEUECTL_STORE'), text: fromEnv, from: 'QUEUECTL_STORE' };
  const setting = saved();
  if (setting !== undefined) {
    try {
      return { choice: parseStoreChoice(setting.text, `"store" in ${setting.file}`), text: setting.text, from: 'config.json' };
    } catch (error) {
      throw new QueuectlError(`${(error as Error).message}; fix it or run queuectl config set store <file|postgres://…>`, 'ECORRUPT');
    }
  }
  return { choice: { kind: 'file' }, text: 'file', from: 'default' };
}

/** The text that chooses this store again (QUEUECTL_STORE, --store). */
export function storeText(choice: StoreChoice): string {
  if (choice.kind === 'file') return 'file';
  return `${choice.url}${choice.url.includes('?') ? '&' : '?'}schema=${choice.schema}`;
}

/** A store's text for people: a URL's password masked (it is in config.json, not for every screen). */
export function showStoreText(text: string): string {
  try {
    const url = new URL(text);
    if (url.password === '') return text;
    url.password = '***';
    return url.toString();
  } catch {
    return text;
  }
}

/** One end of `store copy`: a data directory of the file store, or a PostgreSQL queue. */
export type CopyEndChoice = { kind: 'file'; dir: string } | { kind: 'postgres'; url: string; schema: string };

/**
 * `--from` / `--to` of `store copy`: a `postgres://` URL (`?schema=NAME`), or else the path of a
 * data directory (which, for `--to`, may not exist yet). Anything else with a scheme (`mysql://`),
 * an empty value, or a path that is a file is bad input.
 */
export function parseCopyEnd(text: string | undefined, what: '--from' | '--to'): CopyEndChoice {
  if (text === undefined) throw inputError(`store copy needs ${what}: a data directory or a postgres:// URL (queuectl store copy --from <dir|url> --to <dir|url>)`);
  if (text === '') throw inputError(`${what} is empty: give a data directory or a postgres:// URL`);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    if (!/^postgres(ql)?:\/\//.test(text)) throw inputError(`${what} must be a data directory or a postgres:// URL, got "${text}"`);
    const choice = parseStoreChoice(text, what);
    if (choice.kind !== 'postgres') throw inputError(`${what} must be a data directory or a postgres:// URL, got "${text}"`);
    return choice;
  }
  const dir = resolveDataDir(text);
  let isDirectory: boolean | undefined;
  try {
    isDirectory = statSync(dir, { throwIfNoEntry: false })?.isDirectory();
  } catch (error) {
    throw inputError(`${what} ${dir} is not a data directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (isDirectory === false) throw inputError(`${what} ${dir} is a file, not a data directory`);
  return { kind: 'file', dir };
}

/** Whether two ends name one queue (the same directory, or the same database and schema). */
export function sameEnd(a: CopyEndChoice, b: CopyEndChoice): boolean {
  if (a.kind === 'file' && b.kind === 'file') return a.dir === b.dir;
  if (a.kind === 'postgres' && b.kind === 'postgres') return a.url === b.url && a.schema === b.schema;
  return false;
}
