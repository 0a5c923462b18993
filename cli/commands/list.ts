/** `queuectl list [--state S] [--queue NAME] [--limit N] [--json]` and the job table `dlq list` shares. */
import { unfinishedDependencies, waitingOn, type Unfinished } from '../../core/dependencies.js';
import { DEFAULT_QUEUE, isClaimed, JOB_STATES, queueOf, type Job } from '../../core/job.js';
import { parseStateList } from '../../core/parse.js';
import { optionCount, optionQueue, optionText, type CommandContext } from '../context.js';
import { formatTable, paintState, printJson, shortTime, truncate } from '../output.js';

export async function listCommand(ctx: CommandContext): Promise<void> {
  const stateText = optionText(ctx, 'state');
  const states =
    stateText === undefined
      ? undefined
      : parseStateList(stateText, JOB_STATES, (state) => `unknown state "${state}": expected one of ${JOB_STATES.join(', ')} (comma-separated)`);
  const only = optionQueue(ctx);
  const limit = optionCount(ctx, 'limit', 1);
  const { queue, dlq } = ctx.store.snapshot();
  ctx.store.readConfig(); // every data file is checked, so a broken one is not found by the workers alone
  let jobs = oldestFirst([...queue, ...dlq]);
  if (states !== undefined) jobs = jobs.filter((job) => states.includes(job.state));
  if (only !== undefined) jobs = jobs.filter((job) => queueOf(job) === only);
  // The most recent N, still shown oldest first, as `tail` would.
  if (limit !== undefined && jobs.length > limit) jobs = jobs.slice(jobs.length - limit);
  const empty = `no ${states === undefined ? '' : `${states.join(' or ')} `}jobs${only === undefined ? '' : ` in queue ${only}`}`;
  printJobs(ctx, jobs, empty, unfinishedDependencies(queue));
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

/** `unfinished`: the dependencies not completed yet, to show which ones a job waits for. */
export function printJobs(ctx: CommandContext, jobs: readonly Job[], empty: string, unfinished: Unfinished = new Map()): void {
  if (ctx.json) {
    printJson(jobs);
    return;
  }
  if (jobs.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  // A column for queues only once there is more than the one.
  const queues = jobs.some((job) => queueOf(job) !== DEFAULT_QUEUE);
  const rows = jobs.map((job) => [
    job.id,
    stateLabel(job, waitingOn(job, unfinished)),
    ...(queues ? [queueOf(job)] : []),
    `${job.attempts}/${job.max_retries + 1}`,
    String(job.priority),
    shortTime(whenOf(job)),
    truncate(job.command, 40),
    truncate(job.last_error ?? '', 60),
  ]);
  const headers = ['ID', 'STATE', ...(queues ? ['QUEUE'] : []), 'RUNS', 'PRIO', 'WHEN', 'COMMAND', 'LAST ERROR'];
  process.stdout.write(`${formatTable(headers, rows)}\n`);
}

/**
 * The state; for a job claimed by a manager whose worker has not started it, that it has not;
 * for a job held by its dependencies, which ones it waits for.
 */
export function stateLabel(job: Job, waiting: readonly string[] = []): string {
  if (isClaimed(job)) return `${paintState(job.state)} (not started)`;
  if (waiting.length > 0 && (job.state === 'pending' || job.state === 'failed')) {
    const shown = waiting.length <= 3 ? waiting.join(', ') : `${waiting.slice(0, 3).join(', ')} +${waiting.length - 3}`;
    return `${paintState(job.state)} (after ${shown})`;
  }
  return paintState(job.state);
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
