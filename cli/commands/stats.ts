/** `queuectl stats [--queue NAME] [--json]`: counts, throughput, failure rate, run times, the oldest waiting job. */
import { JOB_STATES, queueOf, type Job } from '../../core/rules/job.js';
import { computeStats, HOUR_MS, waitingAmong, type Stats } from '../../core/rules/stats.js';
import { optionQueue, readJobs, type CommandContext } from '../context.js';
import { formatDuration, formatTable, paintState, printJson } from '../output.js';

export async function statsCommand(ctx: CommandContext): Promise<void> {
  const only = optionQueue(ctx);
  const now = new Date();
  const [jobs, archived] = await Promise.all([readJobs(ctx), ctx.store.archivedCompletions(new Date(now.getTime() - HOUR_MS))]);
  const inQueue = <T extends Pick<Job, 'queue'>>(list: readonly T[]) => (only === undefined ? list : list.filter((job) => queueOf(job) === only));
  const stats = computeStats(inQueue(jobs), now, { held: waitingAmong(jobs), archived: inQueue(archived) });
  if (ctx.json) printJson(stats);
  else process.stdout.write(`${statsText(stats)}\n`);
}

const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(1)}%`);
const duration = (ms: number | null) => (ms === null ? '-' : formatDuration(ms));

export function statsText(stats: Stats): string {
  const { counts, throughput, failure_rate: failures, run_time_ms: runs, oldest_pending: oldest } = stats;
  const rows: [string, string][] = [
    ['jobs', JOB_STATES.map((state) => `${paintState(state)} ${counts[state]}`).join('  ')],
    ['finished', `${throughput.last_minute} in the last minute, ${throughput.last_hour} in the last hour (completed or dead)`],
    ['failure rate', `${percent(failures.last_hour)} in the last hour, ${percent(failures.all)} of the finished jobs kept`],
    ['run time', runs.runs === 0 ? '- (no finished runs)' : `p50 ${duration(runs.p50)}, p95 ${duration(runs.p95)} (last run of ${runs.runs} finished jobs)`],
    ['oldest pending', oldest === null ? '- (no job is waiting)' : `${oldest.id}, waiting for ${formatDuration(oldest.waiting_ms)}`],
  ];
  return formatTable(['FIGURE', 'VALUE'], rows);
}
