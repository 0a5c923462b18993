/** `queuectl show <id> [--json]` and `queuectl logs <id>` */
import { QueuectlError } from '../../core/rules/errors.js';
import { unfinishedDependencies, waitingOn } from '../../core/rules/dependencies.js';
import { inFieldOrder, isFinished, oneLine, type Job } from '../../core/rules/job.js';
import { followLog } from '../../core/operations/follow.js';
import type { Found } from '../../core/ports/store.js';
import { optionCount, type CommandContext } from '../context.js';
import { printJobsJson, shellQuote } from '../output.js';
import { stateLabel } from './list.js';
import { StallNotes, WorkerCheck } from '../worker-check.js';

function notFound(id: string): QueuectlError {
  return new QueuectlError(`no job "${id}" in the queue, the DLQ or the archive; see queuectl list`, 'ENOTFOUND');
}

export async function showCommand(ctx: CommandContext, id: string): Promise<void> {
  const found = await find(ctx, id);
  if (!found) throw notFound(id);
  const { job } = found;
  if (ctx.json) {
    printJobsJson(job);
    return;
  }
  // Its dependencies as they are now (a dead one is in the DLQ: not unfinished, it will not complete).
  const dependencies = await ctx.store.find(job.after ?? [], { archive: false });
  const unfinished = unfinishedDependencies([job, ...[...dependencies.values()].map((entry) => entry.job).filter((dependency) => dependency.state !== 'dead')]);
  const waiting = waitingOn(job, unfinished);
  const fields: [string, string][] = Object.entries(inFieldOrder(job))
    .filter(([key]) => key !== 'lease')
    .map(([key, value]) => [key, key === 'state' ? stateLabel(job, waiting) : showField(job, key, value, envNote(ctx, found.archive !== undefined))]);
  if (waiting.length > 0 && (job.state === 'pending' || job.state === 'failed')) {
    fields.push(['waiting_on', waiting.map((dependency) => `${dependency} (${unfinished.get(dependency)?.state})`).join(', ')]);
  }
  if (job.state === 'processing') {
    const worker = job.lease.worker_pid === null ? '- (claimed by a worker manager for its next free worker; not started yet)' : String(job.lease.worker_pid);
    fields.push(['worker', worker], ['lease_until', job.lease.expires_at]);
  }
  // The file where this host has one: of a job that never ran here there is none to name.
  const file = ctx.host.logs.fileOf(found.job.id, found.archive);
  const none = ctx.choice.kind === 'file' ? '- (none: it has not run)' : `- (none on this host: queuectl logs ${found.job.id} shows the runs of every host)`;
  fields.push(['in', found.where], ['log', file ?? none]);
  const width = Math.max(...fields.map(([key]) => key.length));
  process.stdout.write(fields.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n') + '\n');
}

/**
 * One field as `show` prints it. Of the environment, only the variables the job sets itself are
 * shown: the captured one is the enqueuer's whole environment, tokens and all; `envNote` says
 * where it is.
 */
function showField(job: Job, key: string, value: unknown, envNote: string): string {
  if (key === 'state') return stateLabel(job);
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return '-';
  if (key === 'env') return Object.entries(value as Record<string, string>).map(([name, text]) => `${name}=${shellQuote(text)}`).join(' ');
  if (key === 'env_id') return `${value} (${envNote})`;
  if (key === 'command') return oneLine(String(value));
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}

/** Where the environment a job's env_id names is: in the file store, a copy goes with the job's archive batch; a database keeps it. */
function envNote(ctx: CommandContext, archived: boolean): string {
  if (ctx.choice.kind !== 'file') return 'the environment of its enqueue, in the envs table';
  return archived ? 'the environment of its enqueue, kept with its archive batch' : 'the environment of its enqueue, in envs/';
}

/** `queuectl logs <id> [--tail N] [-f]` */
export async function logsCommand(ctx: CommandContext, id: string): Promise<void> {
  const tailLines = optionCount(ctx, 'tail', 0);
  if (ctx.raw.flags.has('follow')) {
    // As `wait` does: a job that cannot start (paused, no manager) is said, not followed in silence.
    const notes = new StallNotes(ctx, new WorkerCheck(ctx));
    let waiting = false;
    const timer = setInterval(() => waiting && notes.say(), 500);
    const job = await followLog(ctx.store, ctx.host.logs, id, {
      ...(tailLines === undefined ? {} : { tailLines }),
      write: writeOut,
      onJob: (job) => (waiting = job.state === 'pending' || job.state === 'failed'),
    }).finally(() => clearInterval(timer));
    // As `wait` exits: the job completed, or not.
    process.exitCode = job.state === 'completed' ? 0 : 1;
    if (job.attempts === 0 && job.state !== 'completed') neverRan(job);
    return;
  }
  const found = await find(ctx, id);
  if (!found) throw notFound(id);
  const options = { ...(found.archive === undefined ? {} : { archive: found.archive }), ...(tailLines === undefined ? {} : { lines: tailLines }) };
  if (await ctx.host.logs.writeOut(found.job.id, writeOut, options)) return;
  const { job } = found;
  // A finished job without output never ran (canceled before it started): "yet" would mislead.
  if (job.attempts === 0 && isFinished(job)) neverRan(job);
  else process.stderr.write(`job ${id} has no output yet (${job.state})\n`);
}

function neverRan(job: Job): void {
  // A job canceled by the user gets no log line unless it ran: this says when instead.
  const why =
    job.last_error === null ? job.state
    : job.last_error.startsWith('canceled by user') ? `${job.last_error} at ${job.finished_at}`
    : `${job.state}: ${job.last_error.replace(/^canceled: /, '')}`;
  process.stderr.write(`job ${job.id} never ran (${why})\n`);
}

async function find(ctx: CommandContext, id: string): Promise<Found | undefined> {
  return (await ctx.store.find([id])).get(id);
}

/** Writes to stdout, resolving once it may take more: a long log is not buffered whole in memory. */
function writeOut(chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(chunk)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}
