/** `queuectl worker start [--count N] [--detach]` and `queuectl worker stop [--timeout S]` */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { inputError, QueuectlError } from '../../core/rules/errors.js';
import { startManager } from '../../core/runtime/manager.js';
import { sendSignal } from '../../core/os/signals.js';
import type { ManagerRecord } from '../../core/ports/host.js';
import { isAlive } from '../../core/os/process-identity.js';
import { ancestors } from '../../core/os/proc-stat.js';
import { optionCount, optionDurationMs, optionQueues, optionText, rejectOptions, type CommandContext } from '../context.js';
import { keepRunningWithoutOutput, printJson, shellQuote } from '../output.js';
import { storeText } from '../store-choice.js';
import { WORKER_SCRIPT } from '../worker-entry.js';

/** How long `--detach` waits for the background manager to report its workers. */
const DETACH_READY_MS = 15_000;
/** And this much more for each worker it starts. */
const DETACH_READY_PER_WORKER_MS = 200;
/** After the stop timeout and a second signal, how long until the manager is killed outright. */
const ABORT_WAIT_MS = 10_000;
/** After the stop timeout, how often the second signal is sent again while a manager runs. */
const RESEND_MS = 1_000;

export async function workerCommand(ctx: CommandContext, action: string): Promise<void> {
  if (action === 'start') return workerStart(ctx);
  if (action === 'stop') return workerStop(ctx);
  throw inputError(`unknown worker action "${action}": expected start or stop`);
}

/**
 * The most workers one manager starts. Each is a Node.js process (60 MB or so): more than this
 * under one manager is likelier a slip (1000 for 100) than a plan, and would take the host down
 * before the manager could say it runs; more managers give more workers.
 */
const MAX_WORKERS = 256;

async function workerStart(ctx: CommandContext): Promise<void> {
  rejectOptions(ctx, ['timeout', 'all'], 'goes with worker stop');
  const count = optionCount(ctx, 'count', 1) ?? 1;
  if (count > MAX_WORKERS) throw inputError(`--count must be from 1 to ${MAX_WORKERS} (a Node.js process each), got ${count}; for more, start more managers`);
  const queues = optionQueues(ctx) ?? null;
  // A broken store is reported now, not by every worker later; and before the data dir is
  // made, so that a store out of reach leaves nothing behind.
  await ctx.store.prepare();
  ctx.host.prepare();
  if (ctx.raw.flags.has('detach')) return detach(ctx, count, queues);

  keepRunningWithoutOutput();
  // In manager.log, which every detached manager of the data dir writes to, each line names its manager.
  const tag = process.env[MANAGER_LOG_VARIABLE] ? ` [manager ${process.pid}]` : '';
  const stamp = () => `${new Date().toISOString()}${tag}`;
  const others = await othersNote(ctx, count);
  if (others) process.stdout.write(`${stamp()} ${others}\n`);
  const config = await ctx.store.config();
  if (config.paused) process.stdout.write(`${stamp()} ${PAUSED_NOTE}\n`);
  const rotation = keepLogBounded(ctx, process.env[MANAGER_LOG_VARIABLE]);
  delete process.env[MANAGER_LOG_VARIABLE]; // the manager's own: not for its workers and their jobs
  if (queues !== null) process.stdout.write(`${stamp()} taking jobs of queue(s) ${queues.join(', ')} only\n`);
  const manager = await startManager({
    store: ctx.store,
    host: ctx.host,
    config,
    workerScript: WORKER_SCRIPT,
    workerEnv: { QUEUECTL_STORE: storeText(ctx.choice) },
    count,
    queues,
    // Where another host may take back a job that was running here, what its run left here is this host's to kill.
    ...(ctx.host.managers.renewEveryMs === null ? {} : { runsOf: storeText(ctx.choice) }),
    log: (line) => process.stdout.write(`${stamp()} ${line}\n`),
  });
  const onSignal = () => manager.stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const failure = await manager.done;
  await ctx.store.close(); // the file store folds its journal here, if it was left to this manager
  clearInterval(rotation);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.stdout.write(`${stamp()} manager ${process.pid} stopped\n`);
  if (failure !== null) throw new QueuectlError(`manager ${process.pid} stopped: ${failure}`, 'EFAIL');
}

const PAUSED_NOTE = 'note: the queue is paused: no job starts until queuectl resume';

/** Set for a manager started by --detach: the log its output goes to, which it keeps bounded. */
const MANAGER_LOG_VARIABLE = 'QUEUECTL_MANAGER_LOG';
const ROTATE_CHECK_MS = 10_000;

function keepLogBounded(ctx: CommandContext, path: string | undefined): NodeJS.Timeout | undefined {
  if (!path) return undefined;
  const timer = setInterval(() => {
    ctx.host
      .rotateManagerLog(path)
      .then((rotated) => {
        if (rotated) process.stdout.write(`${new Date().toISOString()} manager.log grew past its limit; the older lines are in manager.log.1\n`);
      })
      .catch(() => undefined); // a log that cannot be rotated must not stop the manager
  }, ROTATE_CHECK_MS);
  timer.unref();
  return timer;
}

/** Starts this same command without --detach as a background process, and waits until it runs. */
async function detach(ctx: CommandContext, count: number, queues: readonly string[] | null): Promise<void> {
  const logPath = ctx.host.managerLog;
  const logFd = openSync(logPath, 'a');
  const script = process.argv[1]!;
  // The store as this command was told it: a --store flag goes along, as QUEUECTL_STORE (which
  // goes with the environment anyway; the data dir's own choice is read again): without it, the
  // background manager would run on another store than the one this command waits for it on. Not
  // on its command line, which every user of the host can read (a database's password).
  const store = ctx.raw.values.get('store');
  const child = spawn(
    process.execPath,
    [
      script,
      'worker',
      'start',
      '--count',
      String(count),
      ...(queues === null ? [] : ['--queue', queues.join(',')]),
      '--data-dir',
      ctx.dataDir,
    ],
    { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, [MANAGER_LOG_VARIABLE]: logPath, ...(store === undefined ? {} : { QUEUECTL_STORE: String(store) }) } },
  );
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new QueuectlError('could not start the background manager', 'EFAIL');
  let exitCode: number | null = null;
  child.once('exit', (code) => (exitCode = code ?? 1));
  child.unref();

  // A worker is a Node.js process to start: on a busy host, dozens of them take a while.
  const deadline = Date.now() + DETACH_READY_MS + count * DETACH_READY_PER_WORKER_MS;
  let seen = 0;
  for (;;) {
    const record = (await ctx.host.managers.live()).find((manager) => manager.pid === pid && isHere(ctx, manager));
    seen = record?.workers.length ?? seen;
    if (record && record.workers.length === count) {
      if (ctx.json) printJson(record);
      else {
        const others = await othersNote(ctx, count, pid);
        process.stdout.write(
          `started worker manager ${pid} with ${count} worker(s) in the background${queues === null ? '' : ` for queue(s) ${queues.join(', ')}`}\n` +
            (others ? `${others}\n` : '') +
            ((await ctx.store.config()).paused ? `${PAUSED_NOTE}\n` : '') +
            `log: ${logPath}\nstop with: queuectl worker stop${dataDirHint(ctx)}\n`,
        );
      }
      return;
    }
    if (exitCode !== null) throw new QueuectlError(`the background manager exited with code ${exitCode}; see ${logPath}`, 'EFAIL');
    if (Date.now() > deadline) {
      // Left to go on, it would run jobs that this command said did not start. Stopped, it lets
      // any run it began finish (or, before it could listen, its workers end theirs).
      sendSignal(pid, 'SIGTERM');
      throw new QueuectlError(
        `the background manager ${pid} started ${seen} of its ${count} workers in ${Math.round((DETACH_READY_MS + count * DETACH_READY_PER_WORKER_MS) / 1000)} s; it was stopped (the host may be too busy for ${count}); see ${logPath}`,
        'EFAIL',
      );
    }
    await sleep(50);
  }
}

/**
 * When other managers already run on the data dir, says so, and how many workers run in all: a
 * second `worker start` is often a mistake, and when it is not, the total is what matters.
 */
async function othersNote(ctx: CommandContext, count: number, self = process.pid): Promise<string | null> {
  const others = (await ctx.host.managers.live()).filter((manager) => !(manager.pid === self && isHere(ctx, manager)));
  if (others.length === 0) return null;
  const theirs = others.reduce((sum, manager) => sum + manager.workers.length, 0);
  const pids = others.map((manager) => (isHere(ctx, manager) ? String(manager.pid) : `${manager.host}:${manager.pid}`)).join(', ');
  // On a store many hosts share, what they run on is the store: a manager of this host may be of another data dir.
  const where = ctx.host.managers.renewEveryMs === null ? ctx.dataDir : ctx.store.location;
  return `note: ${others.length} other manager(s) already run on ${where} (pid ${pids}) with ${theirs} worker(s): ${theirs + count} worker(s) in all`;
}

/**
 * Whether the manager runs on this host: every manager of a data dir's own registry does (whatever
 * name it gave itself); in a registry many hosts share, one of this host's name (a record from
 * before hosts were noted is this host's).
 */
function isHere(ctx: CommandContext, manager: ManagerRecord): boolean {
  return ctx.host.managers.renewEveryMs === null || (manager.host ?? ctx.host.name) === ctx.host.name;
}

/**
 * The managers of `managers` that run this command, in a job of theirs: its ancestors. Where
 * there is no /proc to tell, in a job of this data dir, every one of them may be.
 */
function ownManagers(ctx: CommandContext, managers: readonly ManagerRecord[]): Set<number> {
  if (process.env.QUEUECTL_JOB_ID === undefined) return new Set();
  const above = ancestors();
  if (above === null) return new Set(process.env.QUEUECTL_DATA_DIR === ctx.dataDir ? managers.map((manager) => manager.pid) : []);
  return new Set(managers.filter((manager) => above.includes(manager.pid)).map((manager) => manager.pid));
}

function dataDirHint(ctx: CommandContext): string {
  return ctx.raw.values.has('data-dir') ? ` --data-dir ${shellQuote(ctx.dataDir)}` : '';
}

async function workerStop(ctx: CommandContext): Promise<void> {
  rejectOptions(ctx, ['count', 'detach', 'queue'], 'goes with worker start');
  const timeoutText = optionText(ctx, 'timeout');
  const timeoutMs = optionDurationMs(ctx, 'timeout');
  const all = ctx.raw.flags.has('all');
  const key = (manager: ManagerRecord) => `${manager.host}:${manager.pid}`;
  let live: ManagerRecord[];
  try {
    live = await ctx.host.managers.live();
  } catch (error) {
    if (all || !(error instanceof QueuectlError)) throw error;
    // The store out of reach: this host's managers are signaled all the same, found by their records here.
    live = await ctx.host.managers.here();
    process.stderr.write(
      `queuectl: ${error.message}; stopping this host's managers from their records in ${ctx.dataDir}: they record their runs' outcomes once the store answers (--timeout to stop sooner)\n`,
    );
  }
  // This host's managers get a signal; with --all, those of other hosts are asked through the store.
  const managers = live.filter((manager) => isHere(ctx, manager));
  const elsewhere = live.filter((manager) => !isHere(ctx, manager));
  const remote = all ? elsewhere : [];
  // Managers of other hosts already silent (cut off, or down): asked too, to stop once they reach the store.
  const silentBefore = all ? await ctx.host.managers.silent() : [];
  if (managers.length === 0 && remote.length === 0 && silentBefore.length === 0) {
    const hint = elsewhere.length > 0 ? ` (${elsewhere.length} run on other hosts: queuectl worker stop --all)` : '';
    if (ctx.json) printJson({ stopped: [] });
    else process.stdout.write(`no worker manager is running on ${ctx.dataDir}${hint}\n`);
    return;
  }
  if (remote.length + silentBefore.length > 0) {
    await ctx.host.managers.requestStop([...remote, ...silentBefore]);
    if (!ctx.json) for (const manager of remote) process.stdout.write(`asked manager ${manager.host}:${manager.pid} (${manager.workers.length} worker(s)) to stop; its running jobs finish first\n`);
  }
  // Run by a job: the manager running it waits for the job to end, so waiting here for that
  // manager would never end. It is asked to stop all the same, and stops once the job ends.
  const own = ownManagers(ctx, managers);
  for (const manager of managers) {
    sendSignal(manager.pid, 'SIGTERM');
    if (!ctx.json) {
      process.stdout.write(
        `stopping manager ${manager.pid} (${manager.workers.length} worker(s)); running jobs finish first\n`,
      );
      if (own.has(manager.pid)) process.stdout.write(`not waiting for manager ${manager.pid}: it runs this job (${process.env.QUEUECTL_JOB_ID}), and stops once it ends\n`);
    }
  }
  const waited = managers.filter((manager) => !own.has(manager.pid));
  const forceAt = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  let aborted = false;
  let killAt = Infinity;
  let resendAt = Infinity;
  /** The managers of other hosts still listed, as the last look found them. */
  let remoteRunning: readonly ManagerRecord[] = remote;
  while (waited.some((manager) => isAlive(manager)) || remoteRunning.length > 0) {
    if (!aborted && Date.now() >= forceAt) {
      aborted = true;
      killAt = Date.now() + ABORT_WAIT_MS;
      resendAt = Date.now() + RESEND_MS;
      if (!ctx.json) process.stdout.write(`--timeout ${timeoutText} passed: killing running jobs\n`);
      for (const manager of managers) sendSignal(manager.pid, 'SIGTERM');
      // Those of other hosts kill theirs as they notice, within 2 s; they are not killed from here.
      if (remoteRunning.length > 0) await ctx.host.managers.requestStop(remoteRunning, true);
    }
    // Two SIGTERMs close together may reach a process as one (seen: the manager then waited for
    // its running job, was killed outright, and the job lived on). Any later one means "kill".
    if (Date.now() >= resendAt) {
      resendAt = Date.now() + RESEND_MS;
      for (const manager of managers) if (isAlive(manager)) sendSignal(manager.pid, 'SIGTERM');
    }
    if (Date.now() >= killAt) {
      for (const manager of waited) killOutright(manager);
      break;
    }
    await sleep(50);
    if (remote.length > 0) {
      const still = new Set((await ctx.host.managers.live()).map(key));
      remoteRunning = remote.filter((manager) => still.has(key(manager)));
    }
  }
  // A manager of another host that left the list without removing its record did not stop: it
  // went silent (its host down, or cut off from the store), and stops once it reaches the store.
  const silent = new Set(remote.length === 0 ? [] : (await ctx.host.managers.silent()).map(key));
  // One still listed at the last look did not stop in the time this command gave it (its running
  // jobs were killed after the timeout, and the kill takes a while), and is not counted as stopped.
  const stillRunning = remoteRunning;
  const running = new Set(stillRunning.map(key));
  const stopped = [...waited, ...remote.filter((manager) => !silent.has(key(manager)) && !running.has(key(manager)))];
  const unanswered = [...silentBefore, ...remote.filter((manager) => silent.has(key(manager)))];
  const named = (manager: ManagerRecord) => (isHere(ctx, manager) ? String(manager.pid) : key(manager));
  if (ctx.json) {
    printJson({
      // Those of other hosts as host:pid: a pid alone names no process there.
      stopped: stopped.map((manager) => (isHere(ctx, manager) ? manager.pid : key(manager))),
      aborted,
      ...(own.size > 0 ? { stopping: [...own] } : {}),
      ...(unanswered.length > 0 ? { silent: unanswered.map(named) } : {}),
      ...(stillRunning.length > 0 ? { running: stillRunning.map(named) } : {}),
    });
  }
  else {
    // The manager running this job is not waited for: it stops once the job ends (said above).
    const later = own.size === 0 ? '' : `; ${[...own].join(', ')} once this job ends`;
    process.stdout.write(`stopped ${stopped.length} manager(s)${stopped.length > 0 ? `: ${stopped.map(named).join(', ')}` : ''}${later}\n`);
  }
  if (stillRunning.length > 0) {
    throw new QueuectlError(
      `${stillRunning.length} manager(s) of other hosts still run: ${stillRunning.map(named).join(', ')}; they were asked to ${aborted ? 'kill their running jobs and stop' : 'stop'}, and stop once they have`,
      'EFAIL',
    );
  }
  if (unanswered.length > 0) {
    throw new QueuectlError(
      `${unanswered.length} manager(s) did not answer: ${unanswered.map(named).join(', ')}; not renewed for over 15 s, their host is down or cut off from the database, and they may still run jobs: they stop once they reach the database`,
      'EFAIL',
    );
  }
}

/** Last resort: the manager did not react. Its jobs come back through their leases. */
function killOutright(manager: ManagerRecord): void {
  for (const worker of manager.workers) if (isAlive(worker)) sendSignal(worker.pid, 'SIGKILL');
  if (isAlive(manager)) sendSignal(manager.pid, 'SIGKILL');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
