/** `queuectl status [--json]`: counts per state, live workers and their jobs, the data dir. */
import { JOB_STATES, type JobState } from '../../core/job.js';
import { liveManagers } from '../../store/manager-registry.js';
import type { CommandContext } from '../context.js';
import { formatTable, paintState, printJson } from '../output.js';

export interface WorkerStatus {
  pid: number;
  manager_pid: number;
  /** Id of the job it runs now, or null when idle. */
  job: string | null;
  started_at: string;
}

export async function statusCommand(ctx: CommandContext): Promise<void> {
  const { queue, dlq } = ctx.store.snapshot();
  ctx.store.readConfig(); // a broken config.json stops the workers: say so here too
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  for (const job of [...queue, ...dlq]) counts[job.state]++;

  const runningBy = new Map<number, string>();
  for (const job of queue) if (job.state === 'processing') runningBy.set(job.lease.worker_pid, job.id);
  const managers = liveManagers(ctx.store.paths);
  const workers: WorkerStatus[] = managers.flatMap((manager) =>
    manager.workers.map((worker) => ({
      pid: worker.pid,
      manager_pid: manager.pid,
      job: runningBy.get(worker.pid) ?? null,
      started_at: worker.started_at,
    })),
  );

  if (ctx.json) {
    printJson({ data_dir: ctx.store.paths.root, counts, workers });
    return;
  }
  const lines = [
    `data dir: ${ctx.store.paths.root}`,
    `jobs:     ${JOB_STATES.map((state) => `${paintState(state)} ${counts[state]}`).join('  ')}`,
    `workers:  ${workers.length} running under ${managers.length} manager(s)`,
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
  process.stdout.write(`${lines.join('\n')}\n`);
}
