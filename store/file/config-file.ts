/** Changes of config.json, each in one transaction (see Transaction.setConfigValue). */
import { isDeepStrictEqual } from 'node:util';
import type { ConfigKey, Config } from '../../core/rules/config.js';
import { QueuectlError } from '../../core/rules/errors.js';
import type { JobFiles } from './job-files.js';

/** Sets one key, keeping the others as they are; returns the effective config. */
export async function setConfigValue<K extends ConfigKey>(files: JobFiles, key: K, value: Config[K]): Promise<Config> {
  return updateConfigValue(files, key, () => value);
}

/**
 * Sets one key to what `change` makes of its current value, read under the lock (so that two
 * changes of `queues` at once both land); returns the effective config.
 */
export async function updateConfigValue<K extends ConfigKey>(files: JobFiles, key: K, change: (current: Config[K]) => Config[K]): Promise<Config> {
  const value = await files.transact((tx) => {
    const next = change(tx.config()[key]);
    tx.setConfigValue(key, next);
    return next;
  });
  const written = files.readConfig();
  if (!isDeepStrictEqual(written[key], value)) throw new QueuectlError(`config.json did not keep ${key}`, 'EFAIL');
  return written;
}
