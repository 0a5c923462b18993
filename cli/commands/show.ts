/** `queuectl show <id> [--json]` and `queuectl logs <id>` */
import { QueuectlError } from '../../core/errors.js';
import { locateJob, type Located } from '../../core/queue-ops.js';
import { findLogPath } from '../../store/archive.js';
import { readTextIfExists } from '../../store/atomic-json.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { stateLabel } from './list.js';

function notFound(id: string): QueuectlError {
  return new QueuectlError(`no job "${id}" in the queue, the DLQ or the archive; see queuectl list`, 'ENOTFOUND');
}

export async function showCommand(ctx: CommandContext, id: string): Promise<void> {
  const found = locateJob(ctx.store, id);
  if (!found) throw notFound(id);
  const { job } = found;
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
  fields.push(['in', found.file], ['log', logPathOf(ctx, found)]);
  const width = Math.max(...fields.map(([key]) => key.length));
  process.stdout.write(fields.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n') + '\n');
}

export async function logsCommand(ctx: CommandContext, id: string): Promise<void> {
  const found = locateJob(ctx.store, id);
  const log = found ? readTextIfExists(logPathOf(ctx, found)) : undefined;
  if (log === undefined) {
    if (!found) throw notFound(id);
    process.stderr.write(`job ${id} has no output yet (${found.job.state})\n`);
    return;
  }
  process.stdout.write(log);
}

function logPathOf(ctx: CommandContext, found: Located): string {
  return findLogPath(ctx.store.paths, found.job.id, found.batch);
}
