/**
 * The data directory's choice of store (`queuectl config set store …`): the `store` key of its
 * config.json, beside the file store's settings. It is the one setting of the data dir itself,
 * read and written whatever store holds the queue; a PostgreSQL store's settings are in the
 * database. Written under the data dir's lock, as every change of config.json is, the other
 * keys kept as they are.
 */
import { QueuectlError } from '../../core/rules/errors.js';
import { readJsonIfExists, writeFileDurably } from '../local/durable-file.js';
import { prepareDataDir } from '../local/data-dir.js';
import { dataPaths } from './paths.js';

/** The stored object of config.json ({} when there is none); a file that is not one is reported, never written over. */
export function readStoredConfig(path: string): Record<string, unknown> {
  const stored = readJsonIfExists(path) ?? {};
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    throw new QueuectlError(`${path} must hold a JSON object of settings; fix it or move it away`, 'ECORRUPT');
  }
  return stored as Record<string, unknown>;
}

/** The `store` of the data dir's config.json as written there, and the file; undefined when it has none. */
export function readStoreSetting(root: string): { text: string; file: string } | undefined {
  const { config } = dataPaths(root);
  const value = readStoredConfig(config).store;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new QueuectlError(`${config}: "store" must be file or a postgres:// URL, got ${JSON.stringify(value)}; fix it or run queuectl config set store <file|postgres://…>`, 'ECORRUPT');
  }
  return { text: value, file: config };
}

/** Sets `store` in the data dir's config.json (made if need be), the other keys kept; returns the file's path. */
export async function writeStoreSetting(root: string, text: string): Promise<string> {
  const paths = dataPaths(root);
  prepareDataDir(root);
  const { withLock } = await import('../local/lock.js'); // only here: every command reads the setting, few write it
  await withLock(root, paths.lock, (lock) => {
    const stored = readStoredConfig(paths.config);
    stored.store = text;
    writeFileDurably(paths.config, `${JSON.stringify(stored, null, 2)}\n`, { secret: true, beforeRename: () => lock.assertHeld() });
  });
  return paths.config;
}
