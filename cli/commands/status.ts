/** `queuectl status [--json] [--watch [--interval ms]]`: counts per state, live workers and their jobs, the data dir. */
import { inputError } from '../../core/errors.js';
import { isRunning, JOB_STATES, type JobState } from '../../core/job.js';
import { liveManagers } from '../../store/manager-registry.js';
import { optionDurationMs, optionText, type CommandContext } from '../context.js';
import { formatTable, paintState, printJson } from '../output.js';

export interface WorkerStatus {
  pid: number;
  manager_pid: number;
  /** Id of the job it runs now, or null when idle. */
  job: string | null;
  started_at: string;
}

export interface StatusDocument {
  data_dir: string;
  /** `queuectl pause`: no manager starts a new job. */
  paused: boolean;
  counts: Record<JobState, number>;
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
    return (await import('./status-watch.js')).watchStatus(ctx, interval);
  }
  if (optionText(ctx, 'interval') !== undefined) throw inputError('--interval goes with --watch');
  const status = readStatus(ctx);
  if (ctx.json) printJson(status.document);
  else process.stdout.write(`${statusText(status)}\n`);
}

export interface Status {
  /** What `status --json` prints. */
  document: StatusDocument;
  /** Live managers, some of which may have no worker at the moment. */
  managers: number;
}

export function readStatus(ctx: CommandContext): Status {
  const { queue, dlq } = ctx.store.snapshot();
  const { paused } = ctx.store.readConfig(); // and a broken config.json, which stops the workers, is reported here too
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  for (const job of [...queue, ...dlq]) counts[job.state]++;

  const runningBy = new Map<number, string>();
  // A claim not started yet has no worker: no worker is running it.
  for (const job of queue) if (isRunning(job)) runningBy.set(job.lease.worker_pid, job.id);
  const managers = liveManagers(ctx.store.paths);
  const workers: WorkerStatus[] = managers.flatMap((manager) =>
    manager.workers.map((worker) => ({
      pid: worker.pid,
      manager_pid: manager.pid,
      job: runningBy.get(worker.pid) ?? null,
      started_at: worker.started_at,
    })),
  );
  return { document: { data_dir: ctx.store.paths.root, paused, counts, workers }, managers: managers.length };
}

export function statusText({ document, managers }: Status): string {
  const { data_dir, counts, workers, paused } = document;
  const lines = [
    `data dir: ${data_dir}`,
    ...(paused ? ['paused:   no new job starts until queuectl resume (running jobs go on)'] : []),
    `jobs:     ${JOB_STATES.map((state) => `${paintState(state)} ${counts[state]}`).join('  ')}`,
    `workers:  ${workers.length} running under ${managers} manager(s)`,
  ];
  if (workers.length > 0) {
    lines.push(
      '',
      formatTable(
        ['PID', 'MANAGER', 'JOB'],
        workers.map((worker) => [String(worker.pid), String(worker.manager_pid), worker.job ?? '(idle)']),
      ),
    );
  }
  return lines.join('\n');
}
