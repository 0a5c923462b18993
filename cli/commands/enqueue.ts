/** `queuectl enqueue '<json>' | --command CMD [...] | --file F` [--wait] */
import { readFileSync } from 'node:fs';
import { inputError, QueuectlError } from '../../core/errors.js';
import type { PendingJob } from '../../core/job.js';
import { validateJobSpec, type JobSpec } from '../../core/job-spec.js';
import { parseDurationMs, parseInt, parseNonNegativeInt } from '../../core/parse.js';
import { enqueueJobs } from '../../core/queue-ops.js';
import { waitExitCode } from '../../core/wait.js';
import { optionText, rejectOptions, type CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { finalJobs, printSummary, waitWithProgress } from './wait.js';

const FLAG_FORM_OPTIONS = ['id', 'max-retries', 'priority', 'run-at', 'delay', 'timeout'];

export async function enqueueCommand(ctx: CommandContext, json: string | undefined): Promise<void> {
  const file = optionText(ctx, 'file');
  const command = optionText(ctx, 'command');
  const forms = [json !== undefined, file !== undefined, command !== undefined].filter(Boolean).length;
  if (forms !== 1) {
    throw inputError(
      forms === 0
        ? `give a job: queuectl enqueue '{"command":"echo hi"}', --command "echo hi" or --file jobs.ndjson`
        : 'give one of a JSON job, --command or --file, not several',
    );
  }
  const cwdOverride = optionText(ctx, 'cwd');
  const withCwd = (input: unknown): unknown =>
    cwdOverride !== undefined && typeof input === 'object' && input !== null && !Array.isArray(input)
      ? { ...input, cwd: cwdOverride }
      : input;

  let specs: JobSpec[];
  let label: ((index: number) => string) | undefined;
  if (json !== undefined) {
    rejectOptions(ctx, FLAG_FORM_OPTIONS, 'goes with --command; with a JSON job, put the field in the JSON');
    specs = [validateJobSpec(withCwd(parseJson(json, '')))];
  } else if (file !== undefined) {
    rejectOptions(ctx, FLAG_FORM_OPTIONS, 'goes with --command; with --file, put the field in each line');
    const lines = readBatch(file);
    specs = lines.map(({ line, text }) => validateJobSpec(withCwd(parseJson(text, `line ${line}: `)), `line ${line}: `));
    label = (index) => `line ${lines[index]!.line}`;
  } else {
    specs = [validateJobSpec(flagFormInput(ctx, command!))];
  }

  // Times are taken under the lock, as the jobs enter the queue, not when this command started.
  const jobs = await enqueueJobs(ctx.store, specs, process.cwd(), label);
  if (ctx.raw.flags.has('wait')) return enqueueAndWait(ctx, jobs, file !== undefined);
  if (ctx.json) printJson(file !== undefined ? jobs : jobs[0]);
  else printEnqueued(jobs);
}

/**
 * `--wait`, like `tsp -w`: wait for the new job (every job of a batch); exit 0 if all completed.
 * A single job that ended dead exits with the exit code of its last run, as tsp does (1 when
 * that run has none: killed, timed out, lost; and for a canceled job or a batch).
 */
async function enqueueAndWait(ctx: CommandContext, jobs: readonly PendingJob[], batch: boolean): Promise<void> {
  if (!ctx.json) printEnqueued(jobs);
  const report = await waitWithProgress(ctx, jobs.map((job) => job.id), null);
  if (ctx.json) printJson(batch ? finalJobs(report) : finalJobs(report)[0]);
  else printSummary(report);
  const [only] = report.watched;
  const ownCode = !batch && only && !only.gone && only.job.state === 'dead' ? only.job.exit_code : null;
  process.exitCode = ownCode !== null && ownCode !== 0 ? ownCode : waitExitCode(report.tally);
}

function flagFormInput(ctx: CommandContext, command: string): Record<string, unknown> {
  const input: Record<string, unknown> = { command };
  const id = optionText(ctx, 'id');
  if (id !== undefined) input.id = id;
  const maxRetries = optionText(ctx, 'max-retries');
  if (maxRetries !== undefined) input.max_retries = parseNonNegativeInt(maxRetries, '--max-retries');
  const priority = optionText(ctx, 'priority');
  if (priority !== undefined) input.priority = parseInt(priority, '--priority');
  const timeout = optionText(ctx, 'timeout');
  if (timeout !== undefined) input.timeout = parseDurationMs(timeout, '--timeout') / 1000;
  const runAt = optionText(ctx, 'run-at');
  if (runAt !== undefined) input.run_at = runAt;
  const delay = optionText(ctx, 'delay');
  if (delay !== undefined) input.delay = delay;
  const cwd = optionText(ctx, 'cwd');
  if (cwd !== undefined) input.cwd = cwd;
  return input;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw inputError(`${where}invalid JSON: ${(error as Error).message}`);
  }
}

/** The non-blank lines of an NDJSON batch, with their line numbers. `-` reads stdin. */
function readBatch(file: string): { line: number; text: string }[] {
  let content: string;
  try {
    content = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new QueuectlError(
      `cannot read ${file === '-' ? 'standard input' : file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
      'EINPUT',
    );
  }
  const lines = content
    .split('\n')
    .map((text, index) => ({ line: index + 1, text: text.trim() }))
    .filter(({ text }) => text !== '');
  if (lines.length === 0) throw inputError(`no jobs in ${file === '-' ? 'standard input' : file}: expected one JSON job per line`);
  return lines;
}

function printEnqueued(jobs: readonly PendingJob[]): void {
  const when = (job: PendingJob) => (job.run_at > job.created_at ? ` (runs at ${job.run_at})` : '');
  if (jobs.length === 1) {
    process.stdout.write(`enqueued ${jobs[0]!.id}${when(jobs[0]!)}\n`);
    return;
  }
  process.stdout.write(`enqueued ${jobs.length} jobs: ${jobs[0]!.id} … ${jobs[jobs.length - 1]!.id}\n`);
}
