/** The named queues as `status` and `parallel` print them. */
import { summarizeQueues, type QueueSummary } from '../../core/rules/queues.js';
import type { CommandContext } from '../context.js';
import { formatTable } from '../output.js';

export async function queueSummaries(ctx: CommandContext): Promise<QueueSummary[]> {
  const { queues } = await ctx.store.summary();
  return summarizeQueues(queues, (await ctx.store.config()).queues);
}

/** One row per queue: its limit, whether it is paused, and its jobs per state. */
export function queueTable(summaries: readonly QueueSummary[]): string {
  return formatTable(
    ['QUEUE', 'PARALLEL', 'PAUSED', 'PENDING', 'PROCESSING', 'FAILED', 'COMPLETED', 'DEAD', 'CANCELED'],
    summaries.map(({ name, parallel, paused, counts }) => [
      name,
      parallel === null ? 'unlimited' : String(parallel),
      paused ? 'yes' : 'no',
      String(counts.pending),
      String(counts.processing),
      String(counts.failed),
      String(counts.completed),
      String(counts.dead),
      String(counts.canceled),
    ]),
  );
}
