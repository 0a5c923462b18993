/** `queuectl dlq list [--json]` and `queuectl dlq retry <id…> | --all` */
import { inputError } from '../../core/rules/errors.js';
import type { DeadJob } from '../../core/rules/job.js';
import { byTime } from '../../core/rules/list.js';
import { restartJobs } from '../../core/operations/restart.js';
import type { CommandContext } from '../context.js';
import { printJobsJson, printJson } from '../output.js';
import { printJobs } from './list.js';
import { noteStillCanceled } from './restart.js';

export async function dlqCommand(ctx: CommandContext, action: string, ids: readonly string[]): Promise<void> {
  const all = ctx.raw.flags.has('all');
  if (action === 'list') {
    if (ids.length > 0) throw inputError(`dlq list takes no id, got "${ids[0]}"`);
    if (all) throw inputError('--all goes with dlq retry');
    const dead = (await ctx.store.list({ states: ['dead'] })).filter((job): job is DeadJob => job.state === 'dead');
    // In the order its jobs died, as the DLQ fills (a tie keeps enqueue order).
    printJobs(ctx, byTime(dead, (job) => job.finished_at), 'the DLQ is empty');
    return;
  }
  if (action === 'retry') {
    if (ids.length > 0 && all) throw inputError('dlq retry takes ids or --all, not both');
    if (ids.length === 0 && !all) throw inputError('dlq retry needs the id of a dead job, or --all: queuectl dlq retry <id…>');
    const { restarted: jobs, stillCanceled } = await restartJobs(ctx.store, ctx.host, { retry: all ? 'all' : ids });
    if (all || ids.length > 1) {
      if (ctx.json) printJson(jobs.map((job) => job.id));
      else process.stdout.write(jobs.length === 0 ? 'nothing to retry: the DLQ is empty\n' : `${jobs.length} job(s) are pending again (attempts reset)\n`);
    } else if (ctx.json) printJobsJson(jobs[0]!);
    else process.stdout.write(`${jobs[0]!.id} is pending again (attempts reset)\n`);
    noteStillCanceled(ctx, stillCanceled, jobs.length);
    return;
  }
  throw inputError(`unknown dlq action "${action}": expected list or retry`);
}
