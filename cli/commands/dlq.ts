/** `queuectl dlq list [--json]` and `queuectl dlq retry <id>` */
import { inputError } from '../../core/errors.js';
import { retryDead } from '../../core/queue-ops.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { printJobs } from './list.js';

export async function dlqCommand(ctx: CommandContext, action: string, id: string | undefined): Promise<void> {
  if (action === 'list') {
    if (id !== undefined) throw inputError(`dlq list takes no id, got "${id}"`);
    printJobs(ctx, ctx.store.snapshot().dlq, 'the DLQ is empty');
    return;
  }
  if (action === 'retry') {
    if (id === undefined) throw inputError('dlq retry needs the id of a dead job: queuectl dlq retry <id>');
    const job = await retryDead(ctx.store, id);
    if (ctx.json) printJson(job);
    else process.stdout.write(`${job.id} is pending again (attempts reset)\n`);
    return;
  }
  throw inputError(`unknown dlq action "${action}": expected list or retry`);
}
