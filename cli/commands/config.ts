/**
 * `queuectl config get [key] [--json]` (also `config list`) and `queuectl config set <key> <value>`.
 * The settings of the queue are the active store's; `store`, the choice of store, is the data
 * directory's own (its config.json), read and written without opening any store, so that a
 * broken or unreachable choice can still be seen and set right.
 */
import { CONFIG_KEYS, isLocalConfigKey, parseConfigKey, parseConfigValue } from '../../core/rules/config.js';
import { inputError } from '../../core/rules/errors.js';
import { writeStoreSetting } from '../../store/file/store-setting.js';
import type { RawArgs } from '../argv.js';
import { storeChoices, type CommandContext } from '../context.js';
import { resolveDataDir } from '../data-dir.js';
import { formatTable, printJson } from '../output.js';
import { parseStoreChoice, showStoreText, type StoreSource } from '../store-choice.js';

/** `store` as `config get` shows it: the store in use, where that choice came from, and what the data dir's config.json says. */
export interface StoreSetting {
  value: string;
  from: StoreSource;
  /** The data dir's own choice (`config set store`), or null when it has none. */
  saved: string | null;
}

export async function configCommand(
  ctx: () => Promise<CommandContext>,
  raw: RawArgs,
  action: string,
  name: string | undefined,
  value: string | undefined,
): Promise<void> {
  const json = raw.flags.has('json');
  if (action === 'get' || action === 'list') {
    if (value !== undefined) throw inputError(`config get takes at most one key, got "${name}" and "${value}"`);
    if (name !== undefined && isLocalConfigKey(name)) {
      const store = storeSetting(raw);
      if (json) printJson(store);
      else process.stdout.write(`${store.value} (${describeSource(store)})\n`);
      return;
    }
    const key = name === undefined ? undefined : parseConfigKey(name);
    const config = await (await ctx()).store.config();
    if (key !== undefined) {
      if (json) printJson(config[key]);
      else process.stdout.write(`${shown(config[key])}\n`);
      return;
    }
    // The settings of the queue; the data dir's choice of store is `config get store` (and a row of the table).
    if (json) printJson(config);
    else {
      const store = storeSetting(raw);
      const rows = CONFIG_KEYS.map((key) => [key, shown(config[key])]);
      process.stdout.write(`${formatTable(['KEY', 'VALUE'], [...rows, ['store', `${store.value} (${describeSource(store)})`]])}\n`);
    }
    return;
  }
  if (action === 'set') {
    if (name === undefined || value === undefined) throw inputError('config set needs a key and a value: queuectl config set <key> <value>');
    if (isLocalConfigKey(name)) return setStore(raw, value, json);
    const key = parseConfigKey(name);
    const config = await (await ctx()).store.setConfig(key, parseConfigValue(key, value));
    if (json) printJson(config);
    else process.stdout.write(`${key} = ${config[key]}\n`);
    return;
  }
  throw inputError(`unknown config action "${action}": expected get, list or set`);
}

/** `config set store X`: always the data dir's config.json, whatever store is in use now. */
async function setStore(raw: RawArgs, value: string, json: boolean): Promise<void> {
  // Bad input is refused before anything is written; an empty value would read as file, but say so.
  if (value === '') throw inputError('store must be file or a postgres:// URL, got ""');
  parseStoreChoice(value, 'store');
  const dataDir = resolveDataDir(raw.values.get('data-dir'));
  const file = await writeStoreSetting(dataDir, value);
  const store = storeSetting(raw);
  if (json) {
    printJson(store);
    return;
  }
  const overridden = store.from === 'config.json' ? '' : `; ${store.from} overrides it here (in use: ${store.value})`;
  process.stdout.write(`store = ${showStoreText(value)} (in ${file})${overridden}\n`);
}

function storeSetting(raw: RawArgs): StoreSetting {
  const dataDir = resolveDataDir(raw.values.get('data-dir'));
  const { chosen, saved } = storeChoices(dataDir, raw.values.get('store'));
  return { value: showStoreText(chosen.text), from: chosen.from, saved: saved.from === 'config.json' ? showStoreText(saved.text) : null };
}

function describeSource(store: StoreSetting): string {
  switch (store.from) {
    case 'default':
      return 'the default';
    case 'config.json':
      return 'from the data dir\'s config.json';
    default:
      return `from ${store.from}`;
  }
}

/** A value as `config get` prints it: an object (`queues`) as JSON. */
function shown(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
