/**
 * `queuectl prune [--state S[,S…]] [--older-than D] [--dry-run] [--json]`, and
 * `queuectl prune --archive [--older-than D] [--dry-run] [--json]`
 */
import { parseDurationMs } from '../../core/rules/parse.js';
import { DEFAULT_PRUNE_STATES, parsePruneStates } from '../../core/rules/prune.js';
import { FINISHED_STATES } from '../../core/rules/job.js';
import { optionText, rejectOptions, type CommandContext } from '../context.js';
import { formatDuration, printJson } from '../output.js';

export async function pruneCommand(ctx: CommandContext): Promise<void> {
  if (ctx.raw.flags.has('archive')) return pruneArchiveCommand(ctx);
  const stateText = optionText(ctx, 'state');
  const states = stateText === undefined ? DEFAULT_PRUNE_STATES : parsePruneStates(stateText);
  const olderText = optionText(ctx, 'older-than');
  const olderThanMs = olderText === undefined ? null : parseDurationMs(olderText, '--older-than');
  const dryRun = ctx.raw.flags.has('dry-run');
  const removed = await ctx.store.prune({ states, olderThanMs }, { dryRun });
  if (ctx.json) {
    printJson(removed.map((job) => job.id));
    return;
  }
  const byState = FINISHED_STATES.map((state) => [state, removed.filter((job) => job.state === state).length] as const)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state}`);
  const age = olderThanMs === null ? '' : ` finished more than ${formatDuration(olderThanMs)} ago`;
  const verb = dryRun ? 'would prune' : 'pruned';
  const one = removed.length === 1;
  const what = `${removed.length} job${one ? '' : 's'}`;
  process.stdout.write(
    removed.length === 0
      ? `nothing to prune: no ${orList(states)} jobs${age}\n`
      : `${verb} ${what} (${byState.join(', ')})${dryRun ? '' : one ? ' and its log' : ' and their logs'}\n`,
  );
}

/** `a`, `a or b`, `a, b or c`. */
function orList(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** `--archive`: whole archive batches (jobs that retention moved out, with their logs) written before the cutoff. */
async function pruneArchiveCommand(ctx: CommandContext): Promise<void> {
  rejectOptions(ctx, ['state'], 'goes with pruning jobs; --archive deletes whole archive batches, whatever their states');
  const olderText = optionText(ctx, 'older-than');
  const olderThanMs = olderText === undefined ? 0 : parseDurationMs(olderText, '--older-than');
  const dryRun = ctx.raw.flags.has('dry-run');
  const batches = await ctx.store.pruneArchive(olderThanMs, dryRun);
  if (ctx.json) {
    printJson(batches.map((batch) => `archive/${batch.name}`));
    return;
  }
  const jobs = batches.reduce((sum, batch) => sum + batch.jobs, 0);
  const age = olderText === undefined ? '' : ` written more than ${formatDuration(olderThanMs)} ago`;
  process.stdout.write(
    batches.length === 0
      ? `nothing to prune: no archive batches${age}\n`
      : `${dryRun ? 'would prune' : 'pruned'} ${batches.length} archive batch${batches.length === 1 ? '' : 'es'}${age} ` +
          `(${jobs} job${jobs === 1 ? '' : 's'}${dryRun ? '' : ' and their logs'})\n`,
  );
}
