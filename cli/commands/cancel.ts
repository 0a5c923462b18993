/** `queuectl cancel <id…> [--json]` */
import { cancelJobs, type Canceled } from '../../core/operations/cancel.js';
import { inputError, InterruptedError } from '../../core/rules/errors.js';
import { CANCELABLE_STATES, type CancelableJob } from '../../core/rules/job.js';
import { parseStateList } from '../../core/rules/parse.js';
import { KILL_GRACE_MS } from '../../core/runtime/runner.js';
import { optionText, type CommandContext } from '../context.js';
import { printJobsJson, printJson } from '../output.js';

/** `queuectl cancel <id…> | --all | --state S[,S…] [--json]` */
export async function cancelCommand(ctx: CommandContext, ids: readonly string[]): Promise<void> {
  const stateText = optionText(ctx, 'state');
  const all = ctx.raw.flags.has('all');
  if (all && stateText !== undefined) throw inputError('give --all or --state, not both');
  const bulk = all || stateText !== undefined;
  if (bulk && ids.length > 0) throw inputError('give ids, or --all / --state, not both');
  if (!bulk && ids.length === 0) throw inputError('cancel needs the id of at least one job, or --all or --state: queuectl cancel <id…>');
  const selection = all ? { states: CANCELABLE_STATES } : stateText !== undefined ? { states: cancelableStates(stateText) } : ids;
  const interrupt = listenForInterrupt();
  try {
    const results = await cancelJobs(ctx.store, ctx.host, selection, { signal: interrupt.signal });
    if (ctx.json) {
      if (bulk) printJson(results.map((result) => result.job.id));
      else printJobsJson(results.map((result) => result.job));
    }
    else if (results.length === 0) process.stdout.write(`nothing to cancel: no ${all ? 'pending, failed or processing' : stateText} jobs\n`);
    else process.stdout.write((bulk ? describeBulk(results) : results.map(describe)).join('\n') + '\n');
    const stuck = results.filter((result) => (result.stopped?.remaining.length ?? 0) > 0);
    for (const { job, stopped } of stuck) {
      process.stderr.write(
        `queuectl: job ${job.id} is canceled, but process(es) ${stopped!.remaining.join(', ')} of its run survived SIGKILL\n`,
      );
    }
    if (stuck.length > 0) process.exitCode = 1;
    // Exit 130 would tell a script that nothing happened: it all did.
    const late = interrupt.signal.reason as InterruptedError | undefined;
    if (late !== undefined) process.stderr.write(`queuectl: ${late.signal} came too late to stop the cancel: it went through, as said above\n`);
  } finally {
    interrupt.stop();
  }
}

/**
 * Ctrl-C (or SIGTERM) during a cancel: seen before the store writes, the cancel stops there and
 * nothing changes (exit 130); seen later, it finishes (the runs it canceled are stopped) and
 * says so. Without this, proper-lockfile's exit handler took the signal once the writes were
 * done and ended the process with it: exit 130, nothing printed, every job canceled. (The file
 * store reads and decides without a pause, so a signal that comes meanwhile is seen once it
 * writes: too late.)
 */
function listenForInterrupt(): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) controller.abort(new InterruptedError(`interrupted by ${signal} before the cancel was written; nothing was canceled`, signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    stop: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * `--all` and `--state` cancel a whole queue: a line for each job whose run was going on (what
 * became of its processes), and one that counts them all by the state they were in, as `prune`
 * counts; `--json` gives the ids.
 */
function describeBulk(results: readonly Canceled[]): string[] {
  const named = results.filter((result) => !result.dependent);
  const byState = CANCELABLE_STATES.map((state) => [state, named.filter((result) => result.was === state).length] as const)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state}`);
  const waiting = results.length - named.length;
  const also = waiting === 0 ? '' : `, and ${waiting} job${waiting === 1 ? '' : 's'} waiting on them`;
  const runs = named.filter((result) => result.was === 'processing').map(describe);
  return [...runs, `canceled ${named.length} job${named.length === 1 ? '' : 's'} (${byState.join(', ')})${also}`];
}

/** `--state pending,failed`: only states a job can be canceled in. */
function cancelableStates(text: string): CancelableJob['state'][] {
  return parseStateList(
    text,
    CANCELABLE_STATES,
    (state) => `--state: "${state}" jobs cannot be canceled; cancel takes ${CANCELABLE_STATES.join(', ')} (comma-separated)`,
  );
}

function describe({ job, was, claimed, stopped, dependent, elsewhere }: Canceled): string {
  if (dependent) return `canceled ${job.id} (was waiting: ${job.last_error.replace(/^canceled: /, '')})`;
  if (elsewhere !== null && 'host' in elsewhere) return `canceled ${job.id} (was running on ${elsewhere.host}; its manager there stops the run)`;
  if (elsewhere !== null) return `canceled ${job.id} (was running under the data dir ${elsewhere.dataDir} of this host; its manager there stops the run)`;
  if (was === 'pending') return `canceled ${job.id} (was pending)`;
  if (was === 'failed') return `canceled ${job.id} (was waiting to retry)`;
  const count = stopped?.pids.length ?? 0;
  if (count === 0 && claimed) return `canceled ${job.id} (claimed by a worker manager; it had not started)`;
  if (count === 0) return `canceled ${job.id} (was running; no process of its run was found)`;
  const state = claimed ? 'was starting as it was canceled' : 'was running';
  const how = stopped!.killed ? `stopped with SIGKILL: SIGTERM did not stop ${count === 1 ? 'it' : 'them'} within ${KILL_GRACE_MS / 1000} s` : 'stopped with SIGTERM';
  return `canceled ${job.id} (${state}; ${count} process${count === 1 ? '' : 'es'} ${how})`;
}
