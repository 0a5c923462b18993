#!/usr/bin/env node
/**
 * The queuectl command line: parsing with cac, one module per command, one exit path.
 *
 * cac 7 traps handled here: a command name with a space is never matched, so sub-actions are
 * dispatched by the command modules (`worker <action>`); an unknown command would exit 0, so it
 * is failed explicitly; `parse()` drops an async action's rejection, so actions run through
 * `runMatchedCommand()` inside try/catch; option values are read raw (see argv.ts).
 */
import { readFileSync } from 'node:fs';
import { cac, type CAC } from 'cac';
import { QueuectlError } from '../core/errors.js';
import { QueueStore } from '../store/queue-store.js';
import { readRawArgs, type RawArgs } from './argv.js';
import type { CommandContext } from './context.js';
import { resolveDataDir } from './data-dir.js';

const VALUE_OPTIONS = new Set([
  'data-dir',
  'command',
  'id',
  'max-retries',
  'priority',
  'run-at',
  'delay',
  'timeout',
  'cwd',
  'file',
  'count',
  'state',
  'limit',
]);

function context(raw: RawArgs): CommandContext {
  const dataDir = raw.values.get('data-dir');
  if (dataDir === '') throw new QueuectlError('--data-dir is empty', 'EINPUT');
  return { store: new QueueStore(resolveDataDir(dataDir)), raw, json: raw.flags.has('json') };
}

function buildCli(raw: RawArgs): CAC {
  const cli = cac('queuectl');
  const ctx = () => context(raw);
  cli.option('--data-dir <dir>', 'Data directory (default: $QUEUECTL_DATA_DIR, else the package data/)');

  cli
    .command('enqueue [json]', `Add a job: '{"command":"echo hi"}', --command CMD [options], or --file F`)
    .usage(`enqueue '{"command":"echo hi","id":"job1","max_retries":3,"priority":0,"run_at":"2026-11-23T10:30:00Z","timeout":60}'`)
    .option('--command <cmd>', 'Shell command to run with sh -c (flag form)')
    .option('--id <id>', 'Job id: 1-128 of A-Z a-z 0-9 . _ - (default: generated)')
    .option('--max-retries <n>', 'Retries after the first run (default: config max_retries)')
    .option('--priority <n>', 'Higher runs first; --priority=-5 for negative (default: 0)')
    .option('--run-at <iso>', 'Do not run before this ISO-8601 time')
    .option('--delay <duration>', 'Do not run before this long from now: 30s, 5m, 2h, 1d')
    .option('--timeout <seconds>', 'Kill the run after this many seconds; 0 = none (default: config job_timeout)')
    .option('--cwd <dir>', 'Directory to run in (default: the current directory)')
    .option('--file <path>', 'One JSON job per line; - reads stdin; all or nothing')
    .option('--json', 'Print the new job (an array with --file) as JSON')
    .example(`queuectl enqueue '{"id":"job1","command":"echo hello"}'`)
    .example('queuectl enqueue --command "make test" --max-retries 5 --delay 30s')
    .example('queuectl enqueue --file jobs.ndjson')
    .action(async (json?: string) => (await import('./commands/enqueue.js')).enqueueCommand(ctx(), json));

  cli
    .command('worker <action>', 'Run workers: worker start [--count N] [--detach] | worker stop [--timeout S]')
    .usage('worker start [--count N] [--detach]   or   worker stop [--timeout S]')
    .option('--count <n>', 'start: number of worker processes (default: 1)')
    .option('--detach', 'start: run the manager in the background and return')
    .option('--timeout <seconds>', 'stop: after this long, kill running jobs instead of waiting (default: wait)')
    .option('--json', 'Print the result as JSON')
    .example('queuectl worker start --count 3')
    .example('queuectl worker start --count 2 --detach && queuectl worker stop')
    .action(async (action: string) => (await import('./commands/worker.js')).workerCommand(ctx(), action));

  cli
    .command('status', 'Counts per state, live workers and their jobs, the data dir')
    .option('--json', 'Print {"data_dir", "counts", "workers"} as JSON')
    .action(async () => (await import('./commands/status.js')).statusCommand(ctx()));

  cli
    .command('list', 'List jobs (queue and DLQ), oldest first')
    .option('--state <state>', 'Only this state: pending, processing, failed, completed, dead, canceled')
    .option('--limit <n>', 'Only the n most recent')
    .option('--json', 'Print an array of jobs')
    .action(async () => (await import('./commands/list.js')).listCommand(ctx()));

  cli
    .command('show <id>', 'Show one job, wherever it is')
    .option('--json', 'Print the job as JSON')
    .action(async (id: string) => (await import('./commands/show.js')).showCommand(ctx(), id));

  cli
    .command('logs <id>', "Print a job's captured stdout and stderr, every run")
    .action(async (id: string) => (await import('./commands/show.js')).logsCommand(ctx(), id));

  cli
    .command('dlq <action> [id]', 'Dead letter queue: dlq list | dlq retry <id>')
    .usage('dlq list [--json]   or   dlq retry <id>')
    .option('--json', 'Print as JSON')
    .action(async (action: string, id?: string) => (await import('./commands/dlq.js')).dlqCommand(ctx(), action, id));

  cli
    .command('config <action> [key] [value]', 'Settings: config get [key] | config set <key> <value>')
    .usage('config get [key] [--json]   or   config set <key> <value>')
    .option('--json', 'Print as JSON')
    .example('queuectl config set max-retries 5')
    .action(async (action: string, key?: string, value?: string) =>
      (await import('./commands/config.js')).configCommand(ctx(), action, key, value),
    );

  cli.help();
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  cli.version(pkg.version);
  return cli;
}

function fail(message: string, exitCode: number): void {
  process.stderr.write(`queuectl: ${message}\n`);
  process.exitCode = exitCode;
}

async function main(): Promise<void> {
  const raw = readRawArgs(process.argv, VALUE_OPTIONS);
  const cli = buildCli(raw);
  try {
    const parsed = cli.parse(raw.argv, { run: false });
    if (!cli.matchedCommand) {
      if (parsed.options.help || parsed.options.version) return;
      if (parsed.args.length > 0) {
        fail(`unknown command "${parsed.args[0]}"; see queuectl --help`, 2);
        return;
      }
      cli.outputHelp();
      process.exitCode = 2;
      return;
    }
    await cli.runMatchedCommand();
  } catch (error) {
    if (error instanceof QueuectlError) fail(error.message, error.exitCode);
    else if (error instanceof Error && error.name === 'CACError') fail(cacMessage(error.message, cli), 2);
    else fail(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
  }
}

/** cac's messages, made to say what to do next. */
function cacMessage(message: string, cli: CAC): string {
  const command = cli.matchedCommand?.name.split(' ')[0];
  const help = command ? `queuectl ${command} --help` : 'queuectl --help';
  const negative = /^Unknown option `-(\d)/.exec(message);
  if (negative) {
    return `unexpected "-${negative[1]}…": a negative number is not allowed here (an option takes one as --option=-${negative[1]}); see ${help}`;
  }
  return `${message.replace(/\.$/, '')}; see ${help}`;
}

await main();
