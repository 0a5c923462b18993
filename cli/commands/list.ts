/** `queuectl list [--state S] [--queue NAME] [--limit N] [--json]` and the job table `dlq list` shares. */
import { unfinishedDependencies, waitingOn, type Unfinished } from '../../core/rules/dependencies.js';
import { DEFAULT_QUEUE, isClaimed, JOB_STATES, queueOf, type Job } from '../../core/rules/job.js';
import { parseStateList } from '../../core/rules/parse.js';
import { optionCount, optionQueue, optionText, readJobs, type CommandContext } from '../context.js';
import { formatTable, paintState, printJobsJson, localTime, truncate } from '../output.js';

export async function listCommand(ctx: CommandContext): Promise<void> {
  const stateText = optionText(ctx, 'state');
  const states =
    stateText === undefined
      ? undefined
      : parseStateList(stateText, JOB_STATES, (state) => `unknown state "${state}": expected one of ${JOB_STATES.join(', ')} (comma-separated)`);
  const only = optionQueue(ctx);
  const limit = optionCount(ctx, 'limit', 1);
  const jobs = await readJobs(ctx, { states, queue: only, limit });
  const empty = `no ${states === undefined ? '' : `${states.join(' or ')} `}jobs${only === undefined ? '' : ` in queue ${only}`}`;
  printJobs(ctx, jobs, empty, await dependenciesOfListed(ctx, jobs));
}

/** The unfinished dependencies of the jobs listed, to show which ones each waits for. */
async function dependenciesOfListed(ctx: CommandContext, listed: readonly Job[]): Promise<Unfinished> {
  const named = new Set(listed.flatMap((job) => job.after ?? []));
  if (named.size === 0) return new Map();
  const found = await ctx.store.find([...named], { archive: false });
  const jobs = new Map<string, Job>(listed.map((job) => [job.id, job]));
  for (const [id, { job }] of found) jobs.set(id, job);
  // A dead dependency will not complete: it is not waited for (its dependents were canceled).
  return unfinishedDependencies([...jobs.values()].filter((job) => job.state !== 'dead'));
}

/** `unfinished`: the dependencies not completed yet, to show which ones a job waits for. */
export function printJobs(ctx: CommandContext, jobs: readonly Job[], empty: string, unfinished: Unfinished = new Map()): void {
  if (ctx.json) {
    printJobsJson(jobs);
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
    localTime(whenOf(job)),
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
