/** `queuectl parallel [N|unlimited] [--queue NAME]`: how many jobs of a queue run at once, as `pueue parallel N --group NAME`. */
import { inputError } from '../../core/rules/errors.js';
import { DEFAULT_QUEUE } from '../../core/rules/job.js';
import { parseNonNegativeInt } from '../../core/rules/parse.js';
import { parallelOf, withQueueSettings } from '../../core/rules/queues.js';
import { optionQueue, type CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { queueSummaries, queueTable } from './queue-summary.js';

export async function parallelCommand(ctx: CommandContext, limitText: string | undefined): Promise<void> {
  const queue = optionQueue(ctx);
  if (limitText === undefined) {
    const summaries = (await queueSummaries(ctx)).filter((summary) => queue === undefined || summary.name === queue);
    if (ctx.json) printJson(Object.fromEntries(summaries.map((summary) => [summary.name, summary.parallel])));
    else process.stdout.write(`${queueTable(summaries)}\n`);
    return;
  }
  if (limitText !== 'unlimited' && !/^\d+$/.test(limitText)) {
    throw inputError(`parallel takes a whole number from 0 up, or unlimited (0 and unlimited remove the limit), got "${limitText}"`);
  }
  const limit = limitText === 'unlimited' ? 0 : parseNonNegativeInt(limitText, 'the limit');
  const name = queue ?? DEFAULT_QUEUE;
  // 0 and `unlimited` remove the limit, as in pueue.
  const config = await ctx.store.updateConfig('queues', (queues) => withQueueSettings(queues, name, { parallel: limit === 0 ? undefined : limit }), { ifChanged: true });
  const set = parallelOf(config.queues, name);
  if (ctx.json) printJson({ queue: name, parallel: set });
  else if (set === null) process.stdout.write(`queue ${name}: no limit; its jobs run on any free worker\n`);
  else process.stdout.write(`queue ${name}: at most ${set} job(s) at a time, across every worker manager of ${ctx.store.location}\n`);
}
