/** `queuectl dlq list [--json]` and `queuectl dlq retry <id> | --all` */
import { inputError } from '../../core/errors.js';
import { restartJobs } from '../../core/queue-ops.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { printJobs } from './list.js';

export async function dlqCommand(ctx: CommandContext, action: string, id: string | undefined): Promise<void> {
  const all = ctx.raw.flags.has('all');
  if (action === 'list') {
    if (id !== undefined) throw inputError(`dlq list takes no id, got "${id}"`);
    if (all) throw inputError('--all goes with dlq retry');
    printJobs(ctx, ctx.store.snapshot().dlq, 'the DLQ is empty');
    return;
  }
  if (action === 'retry') {
    if (id !== undefined && all) throw inputError('dlq retry takes an id or --all, not both');
    if (id === undefined && !all) throw inputError('dlq retry needs the id of a dead job, or --all: queuectl dlq retry <id>');
    const jobs = await restartJobs(ctx.store, { retry: all ? 'all' : [id!] });
    if (all) {
      if (ctx.json) printJson(jobs.map((job) => job.id));
      else process.stdout.write(jobs.length === 0 ? 'nothing to retry: the DLQ is empty\n' : `${jobs.length} job(s) are pending again (attempts reset)\n`);
      return;
    }
    if (ctx.json) printJson(jobs[0]);
    else process.stdout.write(`${jobs[0]!.id} is pending again (attempts reset)\n`);
    return;
  }
  throw inputError(`unknown dlq action "${action}": expected list or retry`);
}
