/**
 * `queuectl enqueue '<json>' | --command CMD | -- CMD ARGS… | --file F [--lines]` [options] [--wait]
 *
 * The flag-form options (`--priority`, `--delay`…) apply to whatever form the job is given in:
 * the one job, or every job of a batch. A field given both in a JSON job and as an option is an
 * error that names it, rather than a silent choice between the two.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { inputError, QueuectlError } from '../../core/rules/errors.js';
import type { PendingJob } from '../../core/rules/job.js';
import { validateJobSpec, type JobSpec } from '../../core/rules/job-spec.js';
import { parseDurationMs, parseInteger, parseNonNegativeInt, parseRunAt } from '../../core/rules/parse.js';
import { optionText, type CommandContext } from '../context.js';
import { localTime, printJobsJson, shellQuote } from '../output.js';

const FORMS = `queuectl enqueue -- CMD ARGS…, --command "CMD", '{"command":"CMD"}' or --file F`;

export async function enqueueCommand(ctx: CommandContext, json: string | undefined): Promise<void> {
  const file = optionText(ctx, 'file');
  const command = optionText(ctx, 'command');
  const words = ctx.raw.rest;
  const given = [json !== undefined, file !== undefined, command !== undefined, words !== undefined].filter(Boolean).length;
  if (given === 0) throw inputError(`give a job: ${FORMS}`);
  if (given > 1) throw inputError(`give the job one way: ${FORMS}, not several`);
  if (ctx.raw.flags.has('lines') && file === undefined) throw inputError('--lines goes with --file: one command per line of the file');
  const printId = ctx.raw.flags.has('print-id');
  if (printId && ctx.json) throw inputError('--print-id and --json cannot go together: --json prints the job, its id in "id"');

  const options = optionFields(ctx);
  let specs: JobSpec[];
  let label: ((index: number) => string) | undefined;
  if (file !== undefined) {
    if (options.id !== undefined) throw inputError('--id names one job; in a batch, give each line its own "id" (JSON lines)');
    const commandsOnly = ctx.raw.flags.has('lines');
    const lines = readBatch(file, commandsOnly);
    specs = lines.map(({ line, text }) => {
      const where = `line ${line}: `;
      if (commandsOnly && looksLikeJsonJob(text)) {
        throw inputError(`${where}is a JSON job, and --lines reads each line as a shell command; leave out --lines to enqueue JSON jobs`);
      }
      const input = commandsOnly ? { command: text } : parseJobJson(text, where, true);
      return validateJobSpec(withOptions(input, options, where), where);
    });
    label = (index) => `line ${lines[index]!.line}`;
  } else if (json !== undefined) {
    specs = [validateJobSpec(withOptions(parseJobJson(json, ''), options, ''))];
  } else if (words !== undefined) {
    if (words.length === 0) throw inputError('no command after --: queuectl enqueue -- CMD ARGS…');
    // `-- ""` would run the command named '', which no system has.
    if (words.every((word) => word.trim() === '')) throw inputError('the command after -- is empty: queuectl enqueue -- CMD ARGS…');
    // Quoted for sh word by word, so the command runs as typed: `-- grep -r "a b" .` stays four words.
    specs = [validateJobSpec({ ...options, command: words.map(shellQuote).join(' ') })];
  } else {
    specs = [validateJobSpec({ ...options, command })];
  }

  const checked = new Set<string | undefined>([undefined, options.cwd as string | undefined]);
  specs.forEach((spec, index) => {
    if (checked.has(spec.cwd)) return;
    checked.add(spec.cwd);
    if (!isDirectory(spec.cwd!)) throw inputError(`${label ? `${label(index)}: ` : ''}"cwd" ${spec.cwd}: no such directory`);
  });

  // Times are taken under the lock, as the jobs enter the queue, not when this command started.
  const jobs = await ctx.store.enqueue(specs, { cwd: process.cwd(), label, env: capturedEnv() });
  if (ctx.raw.flags.has('wait')) return enqueueAndWait(ctx, jobs, file !== undefined);
  if (ctx.json) printJobsJson(file !== undefined ? jobs : jobs[0]!);
  else printEnqueued(jobs, printId);
}

/**
 * `--wait`, like `tsp -w`: wait for the new job (every job of a batch); exit 0 if all completed.
 * A single job that ended dead exits with the exit code of its last run, as tsp does (1 when
 * that run has none: killed, timed out, lost; and for a canceled job or a batch).
 */
async function enqueueAndWait(ctx: CommandContext, jobs: readonly PendingJob[], batch: boolean): Promise<void> {
  // Loaded here, not with the command: an enqueue without --wait (most) does not pay for them.
  const [{ finalJobs, printSummary, waitWithProgress }, { waitExitCode }] = await Promise.all([import('./wait.js'), import('../../core/rules/wait.js')]);
  const printId = ctx.raw.flags.has('print-id');
  if (!ctx.json) printEnqueued(jobs, printId);
  const report = await waitWithProgress(ctx, jobs.map((job) => job.id), null);
  if (ctx.json) printJobsJson(batch ? finalJobs(report) : finalJobs(report)[0]!);
  else printSummary(report, null, printId ? process.stderr : process.stdout); // --print-id: stdout is the id alone
  const [only] = report.watched;
  const ownCode = !batch && only && !only.gone && only.job.state === 'dead' ? only.job.exit_code : null;
  process.exitCode = ownCode !== null && ownCode !== 0 ? ownCode : waitExitCode(report.tally);
}

/** The flag-form options given, as the JSON fields they set (checked later, with the job). */
function optionFields(ctx: CommandContext): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const id = optionText(ctx, 'id');
  if (id !== undefined) fields.id = id;
  const maxRetries = optionText(ctx, 'max-retries');
  if (maxRetries !== undefined) fields.max_retries = parseNonNegativeInt(maxRetries, '--max-retries');
  const priority = optionText(ctx, 'priority');
  if (priority !== undefined) fields.priority = parseInteger(priority, '--priority');
  const timeout = optionText(ctx, 'timeout');
  if (timeout !== undefined) fields.timeout = parseDurationMs(timeout, '--timeout') / 1000;
  const runAt = optionText(ctx, 'run-at');
  const delay = optionText(ctx, 'delay');
  if (runAt !== undefined && delay !== undefined) throw inputError('give --run-at or --delay, not both');
  if (runAt !== undefined) fields.run_at = parseRunAt(runAt, '--run-at', new Date());
  if (delay !== undefined) fields.delay = parseDurationMs(delay, '--delay') / 1000;
  const cwd = optionText(ctx, 'cwd');
  if (cwd !== undefined) fields.cwd = existingDirectory(cwd);
  const after = optionText(ctx, 'after');
  if (after !== undefined) fields.after = after.split(',').map((id) => id.trim());
  const queue = optionText(ctx, 'queue');
  if (queue !== undefined) fields.queue = queue;
  const env = ctx.raw.lists.get('env');
  if (env !== undefined) {
    const assignments = env.map(envAssignment);
    const names = assignments.map(([name]) => name);
    const twice = names.find((name, index) => names.indexOf(name) !== index);
    if (twice !== undefined) throw inputError(`--env sets ${twice} twice; give each variable once`);
    fields.env = Object.fromEntries(assignments);
  }
  return fields;
}

/** `--cwd`: a directory that exists now (a typo would otherwise fail every run of the job). */
function existingDirectory(text: string): string {
  if (!isDirectory(text)) throw inputError(`--cwd ${text}: no such directory`);
  return text;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(resolve(path)).isDirectory();
  } catch {
    return false;
  }
}

/** `--env NAME=VALUE` → [NAME, VALUE] (the name is checked with the job). */
function envAssignment(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw inputError(`--env takes NAME=VALUE, got "${text}"`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/**
 * The environment this enqueue runs in, for its jobs to run in (see capture_env): PATH, an
 * activated virtualenv and the like. QUEUECTL_* variables are queuectl's own, set for each run.
 */
function capturedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('QUEUECTL_')) env[name] = value;
  }
  return env;
}

/** The option of each field, to name it in an error. */
const OPTION_OF: Readonly<Record<string, string>> = {
  id: '--id',
  max_retries: '--max-retries',
  priority: '--priority',
  timeout: '--timeout',
  run_at: '--run-at',
  delay: '--delay',
  cwd: '--cwd',
  env: '--env',
  after: '--after',
  queue: '--queue',
};

/** A JSON job with the options added; a field in both is an error naming it. */
function withOptions(input: unknown, options: Record<string, unknown>, where: string): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input; // validateJobSpec says why
  for (const field of Object.keys(options)) {
    if (field in input) {
      throw inputError(`${where}"${field}" is given both in the job and as ${OPTION_OF[field]}; give it once`);
    }
  }
  return { ...input, ...options };
}

/** A JSON job; a text that is not JSON at all is most likely a command, and the error says how to give one. */
function parseJobJson(text: string, where: string, inBatch = false): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/^\s*[[{"]/.test(text)) {
      const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
      if (inBatch) throw inputError(`${where}${shown} is not a JSON job; for a file of commands, one per line, add --lines`);
      // `--` takes words as typed; a text with shell syntax (a pipe, quotes) needs --command.
      const asWords = /^[A-Za-z0-9_@%+=:,./ -]+$/.test(text) ? ` or queuectl enqueue -- ${text}` : '';
      throw inputError(`${where}${shown} is not a JSON job; to enqueue a command, write queuectl enqueue --command ${shellQuote(text)}${asWords}`);
    }
    throw inputError(`${where}invalid JSON: ${(error as Error).message}`);
  }
}

/** A line that is a JSON object with a "command": meant as a job, not as a shell command. */
function looksLikeJsonJob(text: string): boolean {
  if (!text.startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) && 'command' in value;
  } catch {
    return false;
  }
}

/** The non-blank lines of a batch (JSON jobs, or commands with `--lines`), with their line numbers. `-` reads stdin. */
function readBatch(file: string, commands: boolean): { line: number; text: string }[] {
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
  if (lines.length === 0) {
    throw inputError(`no jobs in ${file === '-' ? 'standard input' : file}: expected one ${commands ? 'command' : 'JSON job'} per line`);
  }
  return lines;
}

/** `idsOnly`: --print-id, the ids alone, one per line, for a script to keep. */
function printEnqueued(jobs: readonly PendingJob[], idsOnly = false): void {
  if (idsOnly) {
    process.stdout.write(jobs.map((job) => `${job.id}\n`).join(''));
    return;
  }
  const when = (job: PendingJob) => (job.run_at > job.created_at ? ` (runs at ${localTime(job.run_at)})` : '');
  if (jobs.length === 1) {
    process.stdout.write(`enqueued ${jobs[0]!.id}${when(jobs[0]!)}\n`);
    return;
  }
  const named = jobs.length <= 3 ? jobs.map((job) => job.id).join(', ') : `${jobs[0]!.id} … ${jobs[jobs.length - 1]!.id}`;
  process.stdout.write(`enqueued ${jobs.length} jobs: ${named}\n`);
}

