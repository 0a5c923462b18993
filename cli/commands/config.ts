/** `queuectl config get [key] [--json]` (also `config list`) and `queuectl config set <key> <value>` */
import { CONFIG_KEYS, parseConfigKey, parseConfigValue } from '../../core/rules/config.js';
import { inputError } from '../../core/rules/errors.js';
import type { CommandContext } from '../context.js';
import { formatTable, printJson } from '../output.js';

export async function configCommand(
  ctx: CommandContext,
  action: string,
  name: string | undefined,
  value: string | undefined,
): Promise<void> {
  if (action === 'get' || action === 'list') {
    if (value !== undefined) throw inputError(`config get takes at most one key, got "${name}" and "${value}"`);
    const config = await ctx.store.config();
    if (name !== undefined) {
      const key = parseConfigKey(name);
      if (ctx.json) printJson(config[key]);
      else process.stdout.write(`${shown(config[key])}\n`);
      return;
    }
    if (ctx.json) printJson(config);
    else process.stdout.write(`${formatTable(['KEY', 'VALUE'], CONFIG_KEYS.map((key) => [key, shown(config[key])]))}\n`);
    return;
  }
  if (action === 'set') {
    if (name === undefined || value === undefined) throw inputError('config set needs a key and a value: queuectl config set <key> <value>');
    const key = parseConfigKey(name);
    const config = await ctx.store.setConfig(key, parseConfigValue(key, value));
    if (ctx.json) printJson(config);
    else process.stdout.write(`${key} = ${config[key]}\n`);
    return;
  }
  throw inputError(`unknown config action "${action}": expected get, list or set`);
}

/** A value as `config get` prints it: an object (`queues`) as JSON. */
function shown(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
