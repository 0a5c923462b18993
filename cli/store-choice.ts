/**
 * Which store a command works on: `--store`, else `QUEUECTL_STORE`, else the files of the data
 * directory. A PostgreSQL store is a `postgres://` (or `postgresql://`) URL; `?schema=NAME`
 * picks the database schema that holds the queue, so that one database can hold several.
 */
import { inputError } from '../core/rules/errors.js';

export type StoreChoice = { kind: 'file' } | { kind: 'postgres'; url: string; schema: string };

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
  const schema = url.searchParams.get('schema') ?? 'queuectl';
  if (!SCHEMA_NAME.test(schema)) throw inputError(`${what}: schema must be lower-case letters, digits and _ (at most 63), got "${schema}"`);
  url.searchParams.delete('schema');
  return { kind: 'postgres', url: url.toString(), schema };
}

/** The store chosen by the flag, else the environment, else the data directory's files. */
export function chooseStore(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): StoreChoice {
  if (flag !== undefined) return parseStoreChoice(flag, '--store');
  const fromEnv = env.QUEUECTL_STORE;
  if (fromEnv !== undefined && fromEnv !== '') return parseStoreChoice(fromEnv, 'QUEUECTL_STORE');
  return { kind: 'file' };
}
