/** `queuectl pause` and `queuectl resume`: no manager of the data dir starts a new job meanwhile. */
import { setConfigValue } from '../../store/config-store.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

export async function pauseCommand(ctx: CommandContext, paused: boolean): Promise<void> {
  const was = ctx.store.readConfig().paused;
  // A setting, so that it is persisted and a manager started later is paused too.
  await setConfigValue(ctx.store, 'paused', paused);
  if (ctx.json) printJson({ paused });
  else if (was === paused) process.stdout.write(`the queue was ${paused ? 'paused already' : 'not paused'}\n`);
  else if (paused) process.stdout.write(`paused: no worker manager on ${ctx.store.paths.root} starts a new job until queuectl resume; running jobs go on\n`);
  else process.stdout.write(`resumed: worker managers on ${ctx.store.paths.root} start jobs again\n`);
}
