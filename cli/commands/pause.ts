/**
 * `queuectl pause [--queue NAME]` and `queuectl resume [--queue NAME]`: no manager of the data
 * dir starts a new job (of that queue) meanwhile; running jobs go on.
 */
import { withQueueSettings } from '../../core/rules/queues.js';
import { optionQueue, type CommandContext } from '../context.js';
import { printJson } from '../output.js';

export async function pauseCommand(ctx: CommandContext, paused: boolean): Promise<void> {
  const queue = optionQueue(ctx);
  if (queue !== undefined) return pauseQueue(ctx, queue, paused);
  const was = (await ctx.store.config()).paused;
  // A setting, so that it is persisted and a manager started later is paused too.
  await ctx.store.setConfig('paused', paused, { ifChanged: true });
  if (ctx.json) printJson({ paused });
  else if (was === paused) process.stdout.write(`the queue was ${paused ? 'paused already' : 'not paused'}\n`);
  else if (paused) process.stdout.write(`paused: no worker manager on ${ctx.store.location} starts a new job until queuectl resume; running jobs go on\n`);
  else process.stdout.write(`resumed: worker managers on ${ctx.store.location} start jobs again\n`);
}

async function pauseQueue(ctx: CommandContext, queue: string, paused: boolean): Promise<void> {
  const was = (await ctx.store.config()).queues[queue]?.paused === true;
  const config = await ctx.store.updateConfig('queues', (queues) => withQueueSettings(queues, queue, { paused }), { ifChanged: true });
  if (ctx.json) printJson({ queue, paused });
  else if (was === paused) process.stdout.write(`queue ${queue} was ${paused ? 'paused already' : 'not paused'}\n`);
  else if (paused) process.stdout.write(`paused queue ${queue}: none of its jobs starts until queuectl resume --queue ${queue}; running jobs go on\n`);
  else process.stdout.write(`resumed queue ${queue}: its jobs start again${config.paused ? ' (once the whole queue is resumed too: queuectl resume)' : ''}\n`);
}
