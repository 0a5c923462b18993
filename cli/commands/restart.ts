/** `queuectl restart <id…> [--json]` */
import { inputError } from '../../core/errors.js';
import { restartJobs } from '../../core/queue-ops.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

export async function restartCommand(ctx: CommandContext, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) throw inputError('restart needs the id of at least one finished job: queuectl restart <id…>');
  const jobs = await restartJobs(ctx.store, { restart: ids });
  if (ctx.json) printJson(jobs.map((job) => job.id));
  else process.stdout.write(jobs.map((job) => `restarted ${job.id} (pending again, attempts reset)`).join('\n') + '\n');
}
