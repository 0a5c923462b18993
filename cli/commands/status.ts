/** `queuectl status [--json] [--watch [--interval ms]]`: counts per state, live workers and their jobs, the data dir. */
import { inputError } from '../../core/rules/errors.js';
import { DEFAULT_QUEUE, JOB_STATES, type JobState } from '../../core/rules/job.js';
import { summarizeQueues } from '../../core/rules/queues.js';
import { totalCounts } from '../../core/rules/summary.js';
import { optionDurationMs, optionText, type CommandContext } from '../context.js';
import { formatTable, paintState, printJson } from '../output.js';
import { queueTable } from './queue-summary.js';

export interface WorkerStatus {
  /** The host it runs on. */
  host: string;
  pid: number;
  manager_pid: number;
  /** Id of the job it runs now, or null when idle. */
  job: string | null;
  started_at: string;
  /** The queues its manager takes jobs from (`worker start --queue`); null for every queue. */
  queues: string[] | null;
}

export interface QueueStatus {
  /** Its limit (`queuectl parallel`), or null for none. */
  parallel: number | null;
  paused: boolean;
  counts: Record<JobState, number>;
}

export interface StatusDocument {
  data_dir: string;
  /** Where the jobs are: the data dir (its files) or a database. */
  store: string;
  /** `queuectl pause`: no manager starts a new job. */
  paused: boolean;
  counts: Record<JobState, number>;
  /** Pending jobs waiting for a dependency to complete (`--after`), and the dependencies they wait for. */
  waiting: { jobs: number; after: string[] };
  /** Every named queue with jobs or settings (`default` at least). */
  queues: Record<string, QueueStatus>;
  workers: WorkerStatus[];
}

export async function statusCommand(ctx: CommandContext): Promise<void> {
  if (ctx.raw.flags.has('watch')) {
    const interval = optionDurationMs(ctx, 'interval', 'ms') ?? 1_000;
    if (interval < 100) throw inputError(`--interval must be at least 100 ms, got "${optionText(ctx, 'interval')}"`);
    if (ctx.json) throw inputError('--watch redraws a table on a terminal; --json prints status once, without --watch');
    if (!process.stdout.isTTY) {
      throw inputError('status --watch needs a terminal on stdout; for a script, run status --json (in a loop if need be)');
    }
    return (await import('./status-watch.js')).watchStatus(interval, async () => statusText(await readStatus(ctx)));
  }
  if (optionText(ctx, 'interval') !== undefined) throw inputError('--interval goes with --watch');
  const status = await readStatus(ctx);
  if (ctx.json) printJson(status.document);
  else process.stdout.write(`${statusText(status)}\n`);
}

export interface Status {
  /** What `status --json` prints. */
  document: StatusDocument;
  /** Live managers, some of which may have no worker at the moment. */
  managers: number;
  /** The host this command runs on. */
  here: string;
}

export async function readStatus(ctx: CommandContext): Promise<Status> {
  const summary = await ctx.store.summary();
  const config = await ctx.store.config(); // a broken config.json, which stops the workers, is reported here too
  const counts = totalCounts(summary);
  const queues = Object.fromEntries(
    summarizeQueues(summary.queues, config.queues).map(({ name, parallel, paused, counts }) => [name, { parallel, paused, counts }]),
  );

  // By host and pid: on a store that many hosts share, pids repeat across hosts. A claim not
  // started yet has no worker: no worker is running it.
  const here = ctx.host.name;
  const runningBy = new Map<string, string>();
  for (const run of summary.running) runningBy.set(`${run.host ?? here}:${run.worker_pid}`, run.id);
  const managers = await ctx.host.managers.live();
  const workers: WorkerStatus[] = managers.flatMap((manager) =>
    manager.workers.map((worker) => ({
      host: manager.host ?? here,
      pid: worker.pid,
      manager_pid: manager.pid,
      job: runningBy.get(`${manager.host ?? here}:${worker.pid}`) ?? null,
      started_at: worker.started_at,
      queues: manager.queues ?? null,
    })),
  );
  return {
    document: { data_dir: ctx.dataDir, store: ctx.store.location, paused: config.paused, counts, waiting: summary.waiting, queues, workers },
    managers: managers.length,
    here,
  };
}

export function statusText({ document, managers, here }: Status): string {
  const { data_dir, store, counts, workers, paused, waiting, queues } = document;
  // The others are claimed by a manager for its next free worker, not started.
  const running = workers.filter((worker) => worker.job !== null).length;
  const unserved = unservedQueues(queues, workers);
  const after = waiting.after.length <= 5 ? waiting.after.join(', ') : `${waiting.after.slice(0, 5).join(', ')} and ${waiting.after.length - 5} more`;
  const lines = [
    `data dir: ${data_dir}`,
    ...(store !== data_dir ? [`store:    ${store}`] : []),
    ...(paused ? ['paused:   no new job starts until queuectl resume (running jobs go on)'] : []),
    `jobs:     ${JOB_STATES.map((state) => `${paintState(state)} ${counts[state]}${state === 'processing' && running < counts.processing ? ` (${running} running)` : ''}`).join('  ')}`,
    ...(waiting.jobs > 0 ? [`waiting:  ${waiting.jobs} pending job(s) wait for ${after} to complete (--after)`] : []),
    `workers:  ${workers.length} running under ${managers} manager(s)`,
    ...(unserved.length > 0 ? [`note:     no running manager takes queue(s) ${unserved.join(', ')} (worker start --queue): their jobs wait`] : []),
  ];
  // The queues, once there is more than `default` with no settings.
  const names = Object.keys(queues);
  if (names.length > 1 || names.some((name) => name !== DEFAULT_QUEUE || queues[name]!.parallel !== null || queues[name]!.paused)) {
    lines.push('', queueTable(names.map((name) => ({ name, ...queues[name]! }))));
  }
  if (workers.length > 0) {
    const byQueue = workers.some((worker) => worker.queues !== null);
    // The host column only where a worker runs on another host than this one (a store many hosts share).
    const byHost = workers.some((worker) => worker.host !== here);
    lines.push(
      '',
      formatTable(
        [...(byHost ? ['HOST'] : []), 'PID', 'MANAGER', ...(byQueue ? ['QUEUES'] : []), 'JOB'],
        workers.map((worker) => [
          ...(byHost ? [worker.host] : []),
          String(worker.pid),
          String(worker.manager_pid),
          ...(byQueue ? [worker.queues?.join(',') ?? '(all)'] : []),
          worker.job ?? '(idle)',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** Queues with jobs to run that no running manager takes (all run with `--queue`, none with this one). */
function unservedQueues(queues: Record<string, QueueStatus>, workers: readonly WorkerStatus[]): string[] {
  if (workers.length === 0 || workers.some((worker) => worker.queues === null)) return [];
  const taken = new Set(workers.flatMap((worker) => worker.queues ?? []));
  return Object.keys(queues).filter((name) => queues[name]!.counts.pending + queues[name]!.counts.failed > 0 && !taken.has(name));
}
