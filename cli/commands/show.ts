/** `queuectl show <id> [--json]` and `queuectl logs <id>` */
import { QueuectlError } from '../../core/errors.js';
import type { Job } from '../../core/job.js';
import { findJob } from '../../core/queue-ops.js';
import { jobLogPath, readJobLog } from '../../store/job-logs.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { stateLabel } from './list.js';

function notFound(id: string): QueuectlError {
  return new QueuectlError(`no job "${id}" in the queue or the DLQ; see queuectl list`, 'ENOTFOUND');
}

export async function showCommand(ctx: CommandContext, id: string): Promise<void> {
  const job = findJob(ctx.store, id);
  if (!job) throw notFound(id);
  if (ctx.json) {
    printJson(job);
    return;
  }
  const fields: [string, string][] = Object.entries(job)
    .filter(([key]) => key !== 'lease')
    .map(([key, value]) => [key, key === 'state' ? stateLabel(job) : value === null ? '-' : String(value)]);
  if (job.state === 'processing') {
    const worker = job.lease.worker_pid === null ? '- (claimed by a worker manager for its next free worker; not started yet)' : String(job.lease.worker_pid);
    fields.push(['worker', worker], ['lease_until', job.lease.expires_at]);
  }
  fields.push(['in', job.state === 'dead' ? 'dlq.json' : 'queue.json'], ['log', jobLogPath(ctx.store.paths, job.id)]);
  const width = Math.max(...fields.map(([key]) => key.length));
  process.stdout.write(fields.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n') + '\n');
}

export async function logsCommand(ctx: CommandContext, id: string): Promise<void> {
  const log = readJobLog(ctx.store.paths, id);
  const job: Job | undefined = findJob(ctx.store, id);
  if (log === undefined) {
    if (!job) throw notFound(id);
    process.stderr.write(`job ${id} has no output yet (${job.state})\n`);
    return;
  }
  process.stdout.write(log);
}
