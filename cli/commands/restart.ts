/** `queuectl restart <id…> [--json]` */
import { inputError } from '../../core/rules/errors.js';
import type { CanceledJob } from '../../core/rules/job.js';
import { restartJobs } from '../../core/operations/restart.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

export async function restartCommand(ctx: CommandContext, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) throw inputError('restart needs the id of at least one finished job: queuectl restart <id…>');
  const { restarted, stillCanceled } = await restartJobs(ctx.store, ctx.host, { restart: ids });
  if (ctx.json) printJson(restarted.map((job) => job.id));
  else process.stdout.write(restarted.map((job) => `restarted ${job.id} (pending again, attempts reset)`).join('\n') + '\n');
  noteStillCanceled(ctx, stillCanceled, restarted.length);
}

/**
 * A restarted job had dependents, canceled when it ended dead or canceled: they stay canceled.
 * Say how many and how to run them again (on stderr with --json, which prints one document).
 */
export function noteStillCanceled(ctx: CommandContext, dependents: readonly CanceledJob[], restarted: number): void {
  if (dependents.length === 0) return;
  const ids = dependents.map((job) => job.id);
  const shown = ids.length <= 20 ? ids.join(' ') : `${ids.slice(0, 20).join(' ')} … (${ids.length - 20} more: queuectl list -s canceled)`;
  const what = restarted === 1 ? 'it' : 'them';
  const text = `${ids.length} job(s) waiting to run after ${what} were canceled when ${restarted === 1 ? 'it' : 'they'} ended, and stay canceled; to run them too: queuectl restart ${shown}\n`;
  (ctx.json ? process.stderr : process.stdout).write(text);
}
