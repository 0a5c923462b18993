/** `queuectl list [--state S] [--limit N] [--json]` and the job table `dlq list` shares. */
import { isClaimed, JOB_STATES, type Job } from '../../core/job.js';
import { parseStateList } from '../../core/parse.js';
import { optionCount, optionText, type CommandContext } from '../context.js';
import { formatTable, paintState, printJson, shortTime, truncate } from '../output.js';

export async function listCommand(ctx: CommandContext): Promise<void> {
  const stateText = optionText(ctx, 'state');
  const states =
    stateText === undefined
      ? undefined
      : parseStateList(stateText, JOB_STATES, (state) => `unknown state "${state}": expected one of ${JOB_STATES.join(', ')} (comma-separated)`);
  const limit = optionCount(ctx, 'limit', 1);
  const { queue, dlq } = ctx.store.snapshot();
  ctx.store.readConfig(); // every data file is checked, so a broken one is not found by the workers alone
  let jobs = oldestFirst([...queue, ...dlq]);
  if (states !== undefined) jobs = jobs.filter((job) => states.includes(job.state));
  // The most recent N, still shown oldest first, as `tail` would.
  if (limit !== undefined && jobs.length > limit) jobs = jobs.slice(jobs.length - limit);
  printJobs(ctx, jobs, states === undefined ? 'no jobs' : `no ${states.join(' or ')} jobs`);
}

/**
 * Queue and DLQ together, in the order the jobs were enqueued (`created_at`; a tie keeps file
 * order, which is enqueue order), so a job that died is listed where it belongs, not last.
 */
export function oldestFirst(jobs: readonly Job[]): Job[] {
  return jobs
    .map((job, index) => ({ job, index }))
    .sort((a, b) => (a.job.created_at < b.job.created_at ? -1 : a.job.created_at > b.job.created_at ? 1 : a.index - b.index))
    .map(({ job }) => job);
}

export function printJobs(ctx: CommandContext, jobs: readonly Job[], empty: string): void {
  if (ctx.json) {
    printJson(jobs);
    return;
  }
  if (jobs.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  const rows = jobs.map((job) => [
    job.id,
    stateLabel(job),
    `${job.attempts}/${job.max_retries + 1}`,
    String(job.priority),
    shortTime(whenOf(job)),
    truncate(job.command, 40),
    truncate(job.last_error ?? '', 60),
  ]);
  process.stdout.write(`${formatTable(['ID', 'STATE', 'RUNS', 'PRIO', 'WHEN', 'COMMAND', 'LAST ERROR'], rows)}\n`);
}

/** The state, and for a job claimed by a manager whose worker has not started it, that it has not. */
export function stateLabel(job: Job): string {
  return isClaimed(job) ? `${paintState(job.state)} (not started)` : paintState(job.state);
}

/** The time that matters in each state: when it runs, started, or finished. */
function whenOf(job: Job): string | null {
  switch (job.state) {
    case 'pending':
    case 'failed':
      return job.run_at;
    case 'processing':
      return isClaimed(job) ? null : job.started_at;
    case 'completed':
    case 'dead':
    case 'canceled':
      return job.finished_at;
  }
}
