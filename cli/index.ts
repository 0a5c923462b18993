#!/usr/bin/env node
/**
 * The queuectl command line: parsing with cac, one module per command, one exit path.
 *
 * cac 7 traps handled here: a command name with a space is never matched, so sub-actions are
 * dispatched by the command modules (`worker <action>`), and the hidden spellings `worker-start` /
 * `worker:start` are rewritten to that before cac sees them; an unknown command would exit 0, so it
 * is failed explicitly; `parse()` drops an async action's rejection, so actions run through
 * `runMatchedCommand()` inside try/catch; option values are read raw (see argv.ts).
 */
import { readFileSync } from 'node:fs';
import { cac, type CAC } from 'cac';
import { isClosedPipe, QueuectlError } from '../core/rules/errors.js';
import { isLocalConfigKey, parseConfigKey, parseConfigValue } from '../core/rules/config.js';
import { keepsRunningWithoutOutput, shellQuote } from './output.js';
import { expandCommandAlias, expandHelp, readRawArgs, type RawArgs } from './argv.js';
import { chosenStore, openStore, type CommandContext } from './context.js';
import { parseStoreChoice, type StoreChoice } from './store-choice.js';
import { resolveDataDir } from './data-dir.js';

const VALUE_OPTIONS = new Set([
  'data-dir',
  'store',
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
  'older-than',
  'interval',
  'tail',
  'env',
  'after',
  'queue',
  'from',
  'to',
]);

/**
 * Short options, as users of tsp, pueue and nq type them first; each is its long option in every
 * command (`-t` is --timeout for enqueue, wait and worker stop alike).
 */
const SHORT_OPTIONS: Readonly<Record<string, string>> = {
  p: 'priority',
  d: 'delay',
  r: 'run-at',
  t: 'timeout',
  w: 'wait',
  c: 'count',
  s: 'state',
  n: 'limit',
  f: 'follow',
  a: 'after',
  q: 'queue',
};

/** Commands with sub-actions, dispatched by their modules; `worker-start` / `worker:start` work too (hidden). */
const GROUPED_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  worker: ['start', 'stop'],
  dlq: ['list', 'retry'],
  config: ['get', 'list', 'set'],
  store: ['migrate', 'copy'],
};

/** Help sections after a command's own, for what cac's options list cannot say. */
const HELP_NOTES: Readonly<Record<string, { title: string; body: string }[]>> = {
  wait: [
    {
      title: 'Exit codes',
      body: [
        '  0    every job completed (or there was nothing to wait for)',
        '  1    every job finished, and at least one is dead or canceled',
        '  2    bad input: an unknown id (nothing waits), a bad --timeout',
        '  124  --timeout passed before every job finished',
      ].join('\n'),
    },
    {
      title: 'Notes',
      body: [
        '  Without ids, wait is for every job not finished when it starts (pending, processing, failed);',
        '  a failed job is waiting for its retry, so it is not finished. On a terminal, a progress line',
        '  (done/total, failed, rate, ETA) is drawn on stderr.',
      ].join('\n'),
    },
  ],
  enqueue: [
    {
      title: 'Exit codes with --wait',
      body: [
        '  0  the job (every job of --file) completed',
        "  N  the job ended dead: the exit code of its last run, as tsp -w exits",
        '  1  it ended dead without an exit code (killed, timed out), or canceled; with --file, one did not complete',
        '  2  bad input: nothing was added',
      ].join('\n'),
    },
  ],
  cancel: [
    {
      title: 'Notes',
      body: [
        '  A pending or failed job is never claimed again. A running job\'s processes (its process group and',
        '  any process with its QUEUECTL_JOB_ID) get SIGTERM, then SIGKILL after 5 s; cancel returns when they',
        '  are gone. A canceled job is final: it stays in the queue and is not retried (queuectl restart <id>',
        '  runs it again). prune removes canceled jobs. --all and --state cancel every job they name, in one go.',
        '  All or nothing: an unknown id, or a job already completed, dead or canceled, exits 2 and cancels none.',
      ].join('\n'),
    },
  ],
  store: [
    {
      title: 'store copy',
      body: [
        '  Copies the queue: every job (queue and DLQ), the settings set with config set, pause or parallel (over the',
        "  target's; its other settings stay), each job's log, the environments jobs run in, and the ids of completed",
        "  jobs pruned or archived (for --after). The archive stays in the source. All or nothing; the",
        '  source is left as it is. Exit 2 (nothing written) when an id is already in the target or on bad input;',
        '  exit 1 while the source has processing jobs or running worker managers: queuectl worker stop --all first.',
      ].join('\n'),
    },
  ],
  prune: [
    {
      title: 'Notes',
      body: [
        '  Pending, processing and failed jobs are never pruned. Dead jobs are pruned only when --state names',
        '  them. Archive batches go after archive_days (default 30) by themselves, or with prune --archive.',
      ].join('\n'),
    },
  ],
};

/**
 * `stopping`: for `worker stop` (not --all), which must stop what runs even where the data dir's
 * config.json cannot be read, and so its choice of store not known: its managers are found by
 * their records in the data dir, as where the store is out of reach.
 */
async function context(raw: RawArgs, { stopping = false } = {}): Promise<CommandContext> {
  const dataDir = resolveDataDir(raw.values.get('data-dir'));
  let choice: StoreChoice;
  try {
    choice = chosenStore(dataDir, raw.values.get('store')).choice;
  } catch (error) {
    if (!stopping || !(error instanceof QueuectlError) || error.code !== 'ECORRUPT') throw error;
    process.stderr.write(
      `queuectl: ${error.message}; stopping this host's managers from their records in ${dataDir}: they record their runs' outcomes once it is fixed (--timeout to stop sooner)\n`,
    );
    choice = { kind: 'file' };
  }
  const opened = await openStore(dataDir, choice);
  return { ...opened, raw, json: raw.flags.has('json') };
}

function buildCli(raw: RawArgs): CAC {
  const cli = cac('queuectl');
  const ctx = () => context(raw);
  cli.option('--data-dir <dir>', 'Data directory (default: $QUEUECTL_DATA_DIR, else ~/.local/state/queuectl; in a source checkout, its data/)');
  cli.option('--store <url>', 'Where the jobs are: file (the data directory) or postgres://… (default: $QUEUECTL_STORE, else config set store, else file)');

  cli
    .command('enqueue [json]', `Add a job: -- CMD ARGS…, --command "CMD", '{"command":"CMD"}', or a batch with --file F [--lines]`)
    .usage(
      '[options] enqueue -- CMD ARGS…   or   enqueue --command "CMD" [options]   or   enqueue \'{"command":"CMD",…}\' [options]' +
        '   or   enqueue --file F [--lines] [options]',
    )
    .option('--command <cmd>', 'Shell command to run with sh -c')
    .option('--id <id>', 'Job id: 1-128 of A-Z a-z 0-9 . _ - (default: generated); a number is taken as its digits')
    .option('--max-retries <n>', 'Retries after the first run (default: config max_retries)')
    .option('-p, --priority <n>', 'Higher runs first; -p -5 for a negative one (default: 0)')
    .option('-r, --run-at <time>', 'Do not run before this time: 2026-04-02T14:00Z, 2026-04-02 14:00 (local), 14:00 or 11:30pm (the next one)')
    .option('-d, --delay <duration>', 'Do not run before this long from now: 90, 1.5, 500ms, 30s, 5m, 2h, 1d')
    .option('-t, --timeout <duration>', 'Kill the run after this long: 90, 30s, 5m, 2h; 0 = none (default: config job_timeout)')
    .option('--cwd <dir>', 'Directory to run in (default: the current directory)')
    .option('--env <name=value>', 'Set a variable for the job, over the environment it runs in (repeat for more)')
    .option('-a, --after <ids>', 'Run only after these jobs completed (comma-separated); canceled if one ends dead or canceled')
    .option('-q, --queue <name>', 'Put the job in this named queue, with its own limit (queuectl parallel) (default: default)')
    .option('--file <path>', 'A batch: one JSON job per line (or one command per line with --lines); - reads stdin; all or nothing')
    .option('--lines', 'With --file: each non-blank line is a command, as GNU parallel reads them')
    .option('-w, --wait', "Wait until the job (every job of --file) finishes; exit 0 if it completed, else the job's exit code (see below)")
    .option('--json', 'Print the new job (an array with --file) as JSON; with --wait, as it ended')
    .option('--print-id', 'Print only the new job\'s id (one per line with --file), for a script: id=$(queuectl enqueue --print-id -- …)')
    .example('queuectl enqueue -- make test -j4')
    .example('queuectl enqueue -p 5 -t 10m -- ./build.sh --release')
    .example(`queuectl enqueue '{"id":"job1","command":"echo hello"}' --delay 30s`)
    .example('queuectl enqueue --file cmds.txt --lines')
    .example('queuectl enqueue -w -- make test && echo passed')
    .example('queuectl enqueue --id migrate -- ./migrate.sh && queuectl enqueue -a migrate -- ./deploy.sh')
    .example('queuectl enqueue -q ffmpeg -- ffmpeg -i in.mov out.mp4')
    .action(async (json?: string) => (await import('./commands/enqueue.js')).enqueueCommand(await ctx(), json));

  cli
    .command('worker <action>', 'Run workers: worker start [-c N] [-q NAME,…] [--detach] | worker stop [-t D]')
    .usage('worker start [-c N] [-q NAME,…] [--detach]   or   worker stop [-t D]')
    .option('-c, --count <n>', 'start: number of worker processes (default: 1)')
    .option('-q, --queue <names>', 'start: take jobs only from these named queues, comma-separated (default: every queue)')
    .option('--detach', 'start: run the manager in the background and return')
    .option('-t, --timeout <duration>', 'stop: after this long (30s, 2m), kill running jobs instead of waiting (default: wait)')
    .option('--all', 'stop: on a store many hosts share, ask the managers of every host to stop (default: this host\'s)')
    .option('--json', 'Print the result as JSON')
    .example('queuectl worker start --count 3')
    .example('queuectl worker start --count 2 --detach && queuectl worker stop')
    .action(async (action: string) =>
      (await import('./commands/worker.js')).workerCommand(await context(raw, { stopping: action === 'stop' && !raw.flags.has('all') }), action),
    );

  cli
    .command('status', 'Counts per state, live workers and their jobs, the data dir')
    .usage('status [--json]   or   status --watch [--interval ms]')
    .option('--json', 'Print {"data_dir", "paused", "counts", "waiting", "queues", "workers"} as JSON')
    .option('--watch', 'On a terminal: redraw every --interval until Ctrl-C (exit 2 when stdout is not a terminal)')
    .option('--interval <ms>', 'With --watch: milliseconds between redraws, from 100 up (default: 1000)')
    .example('queuectl status --watch --interval 500')
    .action(async () => (await import('./commands/status.js')).statusCommand(await ctx()));

  cli
    .command('wait [...ids]', 'Block until jobs finish (default: every unfinished job); exit 0 all completed, 1 not, 124 timeout')
    .usage('wait [ids…] [-t D] [--json]')
    .option('-t, --timeout <duration>', 'Give up after this long: seconds, or 500ms, 90s, 5m, 2h; 0 looks once (default: no limit)')
    .option('--json', 'Print the jobs waited for, as they ended (or stand, after a timeout), as a JSON array')
    .example('queuectl wait && echo "all jobs completed"')
    .example('queuectl wait job1 job2 --timeout 10m')
    .action(async (ids: unknown[]) => (await import('./commands/wait.js')).waitCommand(await ctx(), ids));

  cli
    .command('cancel [...ids]', 'Cancel pending, failed or running jobs; a running job is killed with its process group')
    .usage('cancel <id…> [--json]   or   cancel --all   or   cancel -s pending[,failed,processing]')
    .option('--all', 'Every pending, failed and processing job')
    .option('-s, --state <states>', 'Every job in these states: pending, failed, processing (comma-separated)')
    .option('--json', 'Print the canceled jobs as a JSON array (with --all or --state, their ids)')
    .example('queuectl cancel job1 job2')
    .example('queuectl cancel --state pending')
    .action(async (ids: unknown[]) => (await import('./commands/cancel.js')).cancelCommand(await ctx(), ids.map(String)));

  cli
    .command('pause', 'No worker manager of the data dir starts a new job (of one queue) until resume; running jobs go on (persisted)')
    .usage('pause [-q NAME] [--json]')
    .option('-q, --queue <name>', 'Pause only this named queue')
    .option('--json', 'Print {"paused": true} (with --queue: {"queue", "paused"})')
    .action(async () => (await import('./commands/pause.js')).pauseCommand(await ctx(), true));

  cli
    .command('resume', 'Undo pause: worker managers start jobs (of one queue) again')
    .usage('resume [-q NAME] [--json]')
    .option('-q, --queue <name>', 'Resume only this named queue')
    .option('--json', 'Print {"paused": false} (with --queue: {"queue", "paused"})')
    .action(async () => (await import('./commands/pause.js')).pauseCommand(await ctx(), false));

  cli
    .command('parallel [limit]', 'How many jobs of a named queue run at once, across every worker manager (persisted); without a limit, show the queues')
    .usage('parallel N [-q NAME]   or   parallel unlimited [-q NAME]   or   parallel [-q NAME] [--json]')
    .option('-q, --queue <name>', 'The queue (default: default)')
    .option('--json', 'Print {"queue", "parallel"} (without a limit: {"NAME": n|null, …})')
    .example('queuectl parallel 1 --queue ffmpeg')
    .example('queuectl parallel unlimited --queue ffmpeg')
    .action(async (limit?: string) => (await import('./commands/parallel.js')).parallelCommand(await ctx(), limit === undefined ? undefined : String(limit)));

  cli
    .command('restart [...ids]', 'Run finished jobs again: completed, dead or canceled back to pending, attempts reset, id and log kept')
    .usage('restart <id…> [--json]')
    .option('--json', 'Print the ids restarted as a JSON array')
    .example('queuectl restart job1')
    .action(async (ids: unknown[]) => (await import('./commands/restart.js')).restartCommand(await ctx(), ids.map(String)));

  cli
    .command('prune', 'Delete finished jobs and their logs (default: completed and canceled, any age), or old archive batches')
    .usage('prune [--state completed,dead,canceled] [--older-than 7d] [--dry-run] [--json]   or   prune --archive [--older-than 30d]')
    .option('-s, --state <states>', 'Only these finished states, comma-separated: completed, dead, canceled (default: completed,canceled)')
    .option('--older-than <duration>', 'Only jobs that finished (with --archive: batches written) longer ago than this: 90s, 5m, 2h, 7d')
    .option('--archive', 'Delete archive batches (jobs retention moved out of the queue, with their logs) instead of jobs')
    .option('--dry-run', 'Say what would be deleted, delete nothing')
    .option('--json', 'Print the ids deleted (with --archive: the batch files) as a JSON array')
    .example('queuectl prune --older-than 7d')
    .example('queuectl prune --state dead --older-than 30d')
    .example('queuectl prune --archive --older-than 7d')
    .action(async () => (await import('./commands/prune.js')).pruneCommand(await ctx()));

  cli
    .command('stats', 'Counts per state, throughput, failure rate, run time p50/p95, oldest waiting job')
    .usage('stats [-q NAME] [--json]')
    .option('-q, --queue <name>', 'Only the jobs of this named queue')
    .option('--json', 'Print the figures as one JSON object')
    .action(async () => (await import('./commands/stats.js')).statsCommand(await ctx()));

  cli
    .command('list', 'List jobs (queue and DLQ), oldest first')
    .usage('list [-s S[,S…]] [-q NAME] [-n N] [--json]')
    .option('-s, --state <states>', 'Only these states, comma-separated: pending, processing, failed, completed, dead, canceled')
    .option('-q, --queue <name>', 'Only the jobs of this named queue')
    .option('-n, --limit <n>', 'Only the n most recent (queue and DLQ together)')
    .option('--json', 'Print an array of jobs')
    .action(async () => (await import('./commands/list.js')).listCommand(await ctx()));

  cli
    .command('show <id>', 'Show one job, wherever it is')
    .option('--json', 'Print the job as JSON')
    .action(async (id: string) => (await import('./commands/show.js')).showCommand(await ctx(), id));

  cli
    .command('logs <id>', "Print a job's captured stdout and stderr, every run; -f follows it as it is written")
    .usage('logs <id> [--tail N] [-f]')
    .option('-f, --follow', 'Print the output as it is written until the job finishes; exit 0 if it completed, 1 if not (as wait)')
    .option('--tail <n>', 'Only the last n lines')
    .example('queuectl logs -f job1')
    .example('queuectl logs --tail 20 job1')
    .action(async (id: string) => (await import('./commands/show.js')).logsCommand(await ctx(), id));

  cli
    .command('dlq <action> [...ids]', 'Dead letter queue: dlq list | dlq retry <id…> | dlq retry --all')
    .usage('dlq list [--json]   or   dlq retry <id…>   or   dlq retry --all [--json]')
    .option('--all', 'retry: every dead job')
    .option('--json', 'Print as JSON (dlq retry of one id: the job; of several or --all: the ids)')
    .action(async (action: string, ids: unknown[]) => (await import('./commands/dlq.js')).dlqCommand(await ctx(), action, ids.map(String)));

  cli
    .command('config <action> [key] [value]', "Settings: config get [key] (or config list) | config set <key> <value>; config set store <file|postgres://…> is the data dir's own")
    .usage('config get [key] [--json]   or   config list [--json]   or   config set <key> <value>')
    .option('--json', 'Print as JSON')
    .example('queuectl config set max-retries 5')
    .example('queuectl config set store postgres://queue@db/jobs')
    .action(async (action: string, key?: string, value?: string) =>
      (await import('./commands/config.js')).configCommand(ctx, raw, action, key === undefined ? undefined : String(key), value === undefined ? undefined : String(value)),
    );

  cli
    .command('store <action>', 'The store itself: store migrate (create or bring its schema up to date now) | store copy --from <dir|url> --to <dir|url>')
    .usage('store migrate [--store postgres://…]   or   store copy --from <dir|url> --to <dir|url> [--json]')
    .option('--from <dir|url>', 'copy: the store to copy from, a data directory or postgres://…[?schema=NAME]; left as it is')
    .option('--to <dir|url>', 'copy: the store to copy into, a data directory (made if need be) or postgres://…[?schema=NAME]')
    .option('--json', 'Print as JSON')
    .example('queuectl store migrate --store postgres://queue@db/jobs')
    .example('queuectl store copy --from ~/.local/state/queuectl --to postgres://queue@db/jobs')
    .action(async (action: string) =>
      action === 'copy'
        ? (await import('./commands/store-copy.js')).storeCopyCommand(raw)
        : (await import('./commands/store.js')).storeCommand(await ctx(), action),
    );

  // Listed for --help; `help <command>` itself is read as `<command> --help` (see expandHelp).
  cli.command('help [command]', 'The help of a command: queuectl help enqueue');

  cli.help((sections) => {
    const command = cli.matchedCommand;
    if (!command) return sections;
    // cac leaves a command's description out of its own help: put it under the usage line.
    const usage = sections.findIndex((section) => section.title === 'Usage');
    const withDescription = [...sections];
    if (usage !== -1 && command.description) withDescription.splice(usage + 1, 0, { body: `${command.description}.` });
    return [...withDescription, ...(HELP_NOTES[command.name] ?? [])];
  });
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  cli.version(pkg.version);
  return cli;
}

function fail(message: string, exitCode: number): void {
  process.stderr.write(`queuectl: ${message}\n`);
  process.exitCode = exitCode;
  // It has said why: whatever a library left open must not hold the shell (a PostgreSQL server
  // keeps a login it asked a password for, and got none, until its authentication_timeout: 60 s).
  setTimeout(() => process.exit(exitCode), FAILED_EXIT_MS).unref();
}

/** How long a command that failed may take to end on its own before it is ended. */
const FAILED_EXIT_MS = 1_000;

/**
 * A reader that goes away (`queuectl logs x | head -1`) is not an error: stop writing and exit
 * quietly, as other command-line tools do, instead of dying on EPIPE with a stack trace. A
 * worker manager is the exception: its running jobs matter more than its log, so it goes on.
 */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (!isClosedPipe(error)) throw error;
      if (!keepsRunningWithoutOutput()) process.exit(process.exitCode ?? 0);
    });
  }
}

/**
 * A warning is one line, as an error is: node-postgres's of `sslmode=require` took ten, with
 * Node's advice to run `node --trace-warnings`, which is no use to a user of queuectl.
 */
function warningsOnOneLine(): void {
  process.removeAllListeners('warning'); // Node's own, which prints the whole warning
  process.on('warning', (warning) => {
    const first = warning.message.split('\n')[0]!.trim();
    const advice = /^SECURITY WARNING: The SSL modes/.test(first) ? ': write sslmode=verify-full for that without this warning, or uselibpqcompat=true&sslmode=require for libpq\'s meaning' : '';
    process.stderr.write(`queuectl: warning: ${first.replace(/^SECURITY WARNING: /, '').replace(/\.$/, '')}${advice}\n`);
  });
}

async function main(): Promise<void> {
  exitQuietlyOnClosedPipe();
  warningsOnOneLine();
  const read = readRawArgs(process.argv, VALUE_OPTIONS, SHORT_OPTIONS);
  const raw = { ...read, argv: expandCommandAlias(expandHelp(read.argv), GROUPED_COMMANDS) };
  const cli = buildCli(raw);
  try {
    // Before cac, which would take an empty value for a missing one and print the whole help.
    if (raw.values.get('data-dir') === '') resolveDataDir('');
    if (raw.values.get('store') === '') {
      throw new QueuectlError('--store is empty: give file or a postgres:// URL, or leave the option out to use $QUEUECTL_STORE, else the data dir\'s config set store, else file', 'EINPUT');
    }
    // cac prints the whole help for `bogus --help` (and so `help bogus`): an unknown command is an error.
    const word = firstWord(raw.argv);
    if (word !== undefined && !cli.commands.some((command) => command.name.split(' ')[0] === word)) {
      fail(`unknown command "${word}"; see queuectl --help`, 2);
      return;
    }
    if (word === 'enqueue') rejectLooseCommand(raw);
    const parsed = cli.parse(raw.argv, { run: false });
    if (!cli.matchedCommand) {
      if (parsed.options.help || parsed.options.version) return;
      // `queuectl --bogus`: cac would print the whole help, as for no command at all.
      const known = new Set(cli.globalCommand.options.flatMap((option) => option.names));
      const unknownOption = Object.keys(parsed.options).find((name) => name !== '--' && !known.has(name));
      if (unknownOption !== undefined) {
        const typed = raw.typed.get(unknownOption) ?? (unknownOption.length === 1 ? `-${unknownOption}` : `--${unknownOption}`);
        fail(`Unknown option \`${typed}\`; see queuectl --help`, 2);
        return;
      }
      if (parsed.args.length > 0) {
        fail(`unknown command "${parsed.args[0]}"; see queuectl --help`, 2);
        return;
      }
      cli.outputHelp();
      process.exitCode = 2;
      return;
    }
    if (raw.rest !== undefined && cli.matchedCommand.name.split(' ')[0] !== 'enqueue') {
      throw new QueuectlError(`words after -- are a command for enqueue; ${cli.matchedCommand.name.split(' ')[0]} takes none`, 'EINPUT');
    }
    await cli.runMatchedCommand();
  } catch (error) {
    if (error instanceof QueuectlError) fail(error.message, error.exitCode);
    else if (error instanceof Error && error.name === 'CACError') fail(cacMessage(error.message, cli, raw), 2);
    else if (isSystemError(error)) fail(error.message, 1); // EACCES, ENOSPC, EROFS…: the system's one line
    else fail(error instanceof Error ? (error.stack ?? error.message) : String(error), 1); // a bug: the stack helps its report
  }
}

/** The command word: the first argument that is not an option (or an option's value, which argv.ts joined to it). */
function firstWord(argv: readonly string[]): string | undefined {
  for (const token of argv.slice(2)) {
    if (token === '--') return undefined;
    if (!token.startsWith('-')) return token;
  }
  return undefined;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && /^E[A-Z]+$/.test(String((error as NodeJS.ErrnoException).code));
}

/**
 * `queuectl enqueue make test -j4`, as tsp and nq take a command: the words are a command, not
 * one JSON job. Said before cac, which would complain of `-4` or of unused args instead.
 */
function rejectLooseCommand(raw: RawArgs): void {
  if (raw.rest !== undefined) return;
  const words = raw.argv.slice(raw.argv.indexOf('enqueue') + 1).filter((token) => !token.startsWith('--'));
  if (words.length < 2 && !(words.length === 1 && words[0]!.startsWith('-'))) return;
  throw new QueuectlError(
    `${JSON.stringify(words.join(' '))} is not one JSON job; to enqueue it as a command, write queuectl enqueue -- ${words.map(shellQuote).join(' ')}`,
    'EINPUT',
  );
}

/** cac's messages, made to say what to do next. */
function cacMessage(message: string, cli: CAC, raw: RawArgs): string {
  const command = cli.matchedCommand?.name.split(' ')[0];
  // An option read from a short one is named as it was typed.
  const unknown = /^Unknown option `--([^`]+)`/.exec(message);
  const typed = unknown ? raw.typed.get(unknown[1]!) : undefined;
  if (typed !== undefined) message = message.replace(`\`--${unknown![1]}\``, `\`${typed}\``);
  const help = command ? `queuectl ${command} --help` : 'queuectl --help';
  const negative = /^Unknown option `-(\d)/.exec(message);
  const setting = command === 'config' ? negativeSetting(raw) : undefined;
  if (negative && setting !== undefined) {
    // `config set max_retries -1`: what the setting takes, as for any other bad value.
    try {
      if (isLocalConfigKey(setting.key)) parseStoreChoice(setting.value, setting.key);
      else parseConfigValue(parseConfigKey(setting.key), setting.value);
    } catch (error) {
      if (error instanceof QueuectlError) return error.message;
    }
  }
  if (negative) {
    const options = command === 'config' || command === 'parallel' ? '' : ` (an option takes one as --option=-${negative[1]})`;
    return `unexpected "-${negative[1]}…": a negative number is not allowed here${options}; see ${help}`;
  }
  return `${message.replace(/\.$/, '')}; see ${help}`;
}

// Not awaited at the top level: the installed CLI is a CommonJS bundle (scripts/bundle.ts), which has none.
void main();

/** `config set KEY -N`: the key and the value cac took for an option, if that is what was typed. */
function negativeSetting(raw: RawArgs): { key: string; value: string } | undefined {
  const words = raw.argv.slice(2);
  const at = words.indexOf('set');
  const [key, value] = at === -1 ? [] : words.slice(at + 1, at + 3);
  return key !== undefined && value !== undefined && /^-\d/.test(value) ? { key, value } : undefined;
}
