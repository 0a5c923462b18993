/** `queuectl cancel <id…> [--json]` */
import { cancelJobs, type Canceled } from '../../core/cancel-ops.js';
import { inputError } from '../../core/errors.js';
import { KILL_GRACE_MS } from '../../core/runner.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

export async function cancelCommand(ctx: CommandContext, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) throw inputError('cancel needs the id of at least one job: queuectl cancel <id…>');
  const results = await cancelJobs(ctx.store, ids.map(String));
  if (ctx.json) printJson(results.map((result) => result.job));
  else process.stdout.write(results.map(describe).join('\n') + '\n');
  const stuck = results.filter((result) => (result.stopped?.remaining.length ?? 0) > 0);
  for (const { job, stopped } of stuck) {
    process.stderr.write(
      `queuectl: job ${job.id} is canceled, but process(es) ${stopped!.remaining.join(', ')} of its run survived SIGKILL\n`,
    );
  }
  if (stuck.length > 0) process.exitCode = 1;
}

function describe({ job, was, claimed, stopped }: Canceled): string {
  if (was === 'pending') return `canceled ${job.id} (was pending)`;
  if (was === 'failed') return `canceled ${job.id} (was waiting to retry)`;
  const count = stopped?.pids.length ?? 0;
  if (count === 0 && claimed) return `canceled ${job.id} (claimed by a worker manager; it had not started)`;
  if (count === 0) return `canceled ${job.id} (was running; no process of its run was found)`;
  const state = claimed ? 'was starting as it was canceled' : 'was running';
  const how = stopped!.killed ? `stopped with SIGKILL: SIGTERM did not stop ${count === 1 ? 'it' : 'them'} within ${KILL_GRACE_MS / 1000} s` : 'stopped with SIGTERM';
  return `canceled ${job.id} (${state}; ${count} process${count === 1 ? '' : 'es'} ${how})`;
}
