/** Changes of config.json, each in one transaction (see Transaction.setConfigValue). */
import { isDeepStrictEqual } from 'node:util';
import type { ConfigKey, Config } from '../../core/rules/config.js';
import type { ConfigWrite } from '../../core/ports/store.js';
import { QueuectlError } from '../../core/rules/errors.js';
import type { JobFiles } from './job-files.js';

/**
 * Sets one key to what `change` makes of its current value, read under the lock (so that two
 * changes of `queues` at once both land); returns the effective config. `ifChanged`: nothing is
 * written, and no data dir made, when the value stays as it is.
 */
export async function updateConfigValue<K extends ConfigKey>(files: JobFiles, key: K, change: (current: Config[K]) => Config[K], { ifChanged = false }: ConfigWrite = {}): Promise<Config> {
  const value = await files.transact(
    (tx) => {
      const current = tx.config()[key];
      const next = change(current);
      if (!ifChanged || !isDeepStrictEqual(next, current)) tx.setConfigValue(key, next);
      return next;
    },
    { create: !ifChanged },
  );
  const written = files.readConfig();
  if (!isDeepStrictEqual(written[key], value)) throw new QueuectlError(`config.json did not keep ${key}`, 'EFAIL');
  return written;
}
