/** `queuectl prune [--state S[,S…]] [--older-than D] [--dry-run] [--json]` */
import { parseDurationMs } from '../../core/parse.js';
import { pruneJobs } from '../../core/prune-ops.js';
import { DEFAULT_PRUNE_STATES, parsePruneStates } from '../../core/prune.js';
import { FINISHED_STATES } from '../../core/job.js';
import { optionText, type CommandContext } from '../context.js';
import { formatDuration, printJson } from '../output.js';

export async function pruneCommand(ctx: CommandContext): Promise<void> {
  const stateText = optionText(ctx, 'state');
  const states = stateText === undefined ? DEFAULT_PRUNE_STATES : parsePruneStates(stateText);
  const olderText = optionText(ctx, 'older-than');
  const olderThanMs = olderText === undefined ? null : parseDurationMs(olderText, '--older-than');
  const dryRun = ctx.raw.flags.has('dry-run');
  ctx.store.readConfig(); // a broken config.json is reported here too, as by every command
  const removed = await pruneJobs(ctx.store, { states, olderThanMs }, { dryRun });
  if (ctx.json) {
    printJson(removed.map((job) => job.id));
    return;
  }
  const byState = FINISHED_STATES.map((state) => [state, removed.filter((job) => job.state === state).length] as const)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state}`);
  const age = olderThanMs === null ? '' : ` finished more than ${formatDuration(olderThanMs)} ago`;
  const verb = dryRun ? 'would prune' : 'pruned';
  const what = `${removed.length} job${removed.length === 1 ? '' : 's'}`;
  process.stdout.write(
    removed.length === 0
      ? `nothing to prune: no ${states.join(', ')} jobs${age}\n`
      : `${verb} ${what} (${byState.join(', ')})${dryRun ? '' : ' and their logs'}\n`,
  );
}
