/** `queuectl store migrate`: the store made ready now (a database's schema created or brought up to date), as any command would on first use. */
import { inputError } from '../../core/rules/errors.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

export async function storeCommand(ctx: CommandContext, action: string): Promise<void> {
  if (action !== 'migrate') throw inputError(`unknown store action "${action}": expected migrate or copy`);
  for (const name of ['from', 'to']) if (ctx.raw.values.has(name)) throw inputError(`--${name} goes with store copy`);
  // The store, not this host's data dir: a database's migration makes no directory here (the file store's makes its own).
  const { schemaVersion } = await ctx.store.prepare();
  if (ctx.json) printJson({ store: ctx.store.location, ready: true, ...(schemaVersion === null ? {} : { schema_version: schemaVersion }) });
  else process.stdout.write(`${ctx.store.location}: ready${schemaVersion === null ? '' : `, schema version ${schemaVersion}`}\n`);
}
