/** Writes config.json: a flat object holding only the settings a person set. */
import { isDeepStrictEqual } from 'node:util';
import type { ConfigKey, Config } from '../core/config.js';
import { QueuectlError } from '../core/errors.js';
import { readJsonIfExists, writeFileDurably } from './atomic-json.js';
import { withLock } from './lock.js';
import { readConfig, type QueueStore } from './queue-store.js';

/** Sets one key under the lock, keeping the others as they are; returns the effective config. */
export async function setConfigValue<K extends ConfigKey>(store: QueueStore, key: K, value: Config[K]): Promise<Config> {
  return updateConfigValue(store, key, () => value);
}

/**
 * Sets one key to what `change` makes of its current value, read under the lock (so that two
 * changes of `queues` at once both land); returns the effective config.
 */
export async function updateConfigValue<K extends ConfigKey>(store: QueueStore, key: K, change: (current: Config[K]) => Config[K]): Promise<Config> {
  store.ensureDir();
  const { paths } = store;
  const config = await withLock(paths.root, paths.lock, (lock) => {
    const value = change(readConfig(paths.config)[key]); // and refuses to touch a corrupt file
    const stored = (readJsonIfExists(paths.config) ?? {}) as Record<string, unknown>;
    // Drop a differently spelled duplicate (max-retries vs max_retries) so one value remains.
    for (const name of Object.keys(stored)) {
      if (name !== key && name.replaceAll('-', '_') === key) delete stored[name];
    }
    stored[key] = value;
    writeFileDurably(paths.config, `${JSON.stringify(stored, null, 2)}\n`, { beforeRename: () => lock.assertHeld() });
    const written = readConfig(paths.config);
    if (!isDeepStrictEqual(written[key], value)) throw new QueuectlError(`config.json did not keep ${key}`, 'EFAIL');
    return written;
  });
  store.tidyOnce();
  return config;
}
