/**
 * The worker manager: forks N worker children, hands them jobs and records their outcomes
 * through its dispatcher, replaces any child that dies, and stops them gracefully. It
 * registers itself in `managers/<pid>.json` so that `worker stop` and `status` can find it,
 * and removes that file when it ends.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Config } from '../rules/config.js';
import type { Host, ManagerRegistry, WorkerRecord } from '../ports/host.js';
import type { Store } from '../ports/store.js';
import { processIdentity } from '../os/process-identity.js';
import { sendSignal } from '../os/signals.js';
import { Dispatcher } from './dispatcher.js';
import { sweepOrphanedRuns } from './orphan-sweep.js';
import type { ManagerMessage, WorkerMessage } from './worker-protocol.js';

/** A child that dies sooner than this after its start is replaced only after this delay. */
const RESPAWN_THROTTLE_MS = 1_000;
/** On a forced stop, how long to keep trying to record the killed runs before exiting. */
const ABORT_RECORD_MS = 5_000;

export interface ManagerOptions {
  store: Store;
  host: Host;
  /** The settings as read when the manager starts. */
  config: Config;
  /** The script of a worker child, forked with the data directory as its first argument. */
  workerScript: string;
  /**
   * Variables for each worker child besides this process's own (which store it works for): in
   * its environment, not on its command line, which every user of the host can read (a
   * database's password).
   */
  workerEnv?: Readonly<Record<string, string>>;
  count: number;
  log: (line: string) => void;
  /** Take jobs only from these queues; null for every queue. @default null */
  queues?: readonly string[] | null;
  /**
   * On a store that many hosts share: the QUEUECTL_STORE its runs carry, by which it finds on this
   * host the runs that lost their claim with no worker left to stop them, and kills them
   * (orphan-sweep.ts). Absent: the one who takes a job back is on this host and kills them itself.
   */
  runsOf?: string;
}

export interface RunningManager {
  /**
   * Resolves when every child has exited after a stop: with null, or with why the manager had to
   * stop on its own (its data directory was deleted or replaced).
   */
  done: Promise<string | null>;
  /** First call: let running jobs finish. Later calls: kill them. */
  stop(): void;
}

interface Child {
  process: ChildProcess;
  record: WorkerRecord;
  /** Process group of the run in progress, to kill if the child dies. */
  runGroup: { token: string; pgid: number } | null;
  /** It said it is stopping: it gets no more jobs. */
  leaving: boolean;
}

/** How long what `alone` found holds before the registry is read again. */
const ALONE_CHECK_MS = 1_000;

/**
 * Whether no other live manager is registered on the store, looked up at most every second (the
 * answer of the last look holds meanwhile).
 */
function aloneOnStore(managers: ManagerRegistry, hostName: string): () => boolean {
  let checkedAt = 0;
  let alone = true;
  return () => {
    const now = Date.now();
    if (now - checkedAt >= ALONE_CHECK_MS) {
      checkedAt = now;
      managers.live().then(
        (live) => (alone = live.every((manager) => manager.pid === process.pid && (manager.host ?? hostName) === hostName)),
        () => undefined, // keep the last answer
      );
    }
    return alone;
  };
}

/** How often a manager looks whether `worker stop --all` asked it to stop, where its registry renews records. */
const STOP_CHECK_MS = 2_000;

/**
 * The manager's log, where each error line is said once until a line that is not an error comes:
 * a store out of reach fails the dispatcher's cycles and the registry's renewals alike, again
 * and again, and not always with the same words (a connection reset, or ended).
 */
function errorsOnce(log: (line: string) => void): (line: string) => void {
  const said = new Set<string>();
  return (line) => {
    if (!line.startsWith('error: ')) said.clear();
    else if (said.has(line)) return;
    else said.add(line);
    log(line);
  };
}

export async function startManager({ store, host, config, workerScript, workerEnv = {}, count, log: print, queues = null, runsOf }: ManagerOptions): Promise<RunningManager> {
  const log = errorsOnce(print);
  const self = processIdentity(process.pid);
  const startedAt = new Date().toISOString();
  const children = new Map<number, Child>();
  let stopRequests = 0;
  /** Why the manager stopped on its own, if it did. */
  let failure: string | null = null;
  let resolveDone: (failure: string | null) => void;
  const done = new Promise<string | null>((resolve) => (resolveDone = resolve));

  const send = (pid: number, message: ManagerMessage) => {
    const child = children.get(pid)?.process;
    if (child?.connected) child.send(message, () => undefined);
  };
  const dispatcher = new Dispatcher({
    store,
    logs: host.logs,
    config,
    log,
    host: host.name,
    alone: aloneOnStore(host.managers, host.name),
    queues,
    assign: (pid, job, { log_limit }) => send(pid, { type: 'run', job, logLimit: log_limit }),
    revoke: (pid, run, reason) => send(pid, { type: 'revoke', token: run.token, reason }),
  });

  /** Writes of the registry record, one after the other: a later one is never overtaken. */
  let registering: Promise<void> = Promise.resolve();

  /** Writes the registry record; not once the data dir is lost (it would write into a stranger's). */
  const register = () => {
    if (failure !== null) return;
    const record = {
      ...self,
      host: host.name,
      started_at: startedAt,
      count,
      queues: queues === null ? null : [...queues],
      workers: [...children.values()].map((child) => child.record),
    };
    registering = registering
      .then(() => host.managers.write(record))
      // The data dir going away shows here first at times: the watch below says what happened.
      .catch((error: unknown) => log(`error: ${(error as Error).message}`));
  };
  // On exit, a registry of files is cleaned at once (a database's record lapses without renewal).
  const unregister = () => void host.managers.remove(process.pid).catch(() => undefined);
  process.on('exit', unregister);
  // Where records lapse unless renewed, renew them; and look whether another host asked this one to stop.
  const renewTimer =
    host.managers.renewEveryMs === null
      ? undefined
      : setInterval(() => {
          register();
          void host.managers.stopRequested(process.pid).then(
            (asked) => {
              if (asked !== null && stopRequests === 0) {
                log('asked to stop (worker stop --all)');
                stop();
              }
              if (asked === 'now' && stopRequests === 1) {
                log('asked to stop now (worker stop --all --timeout): killing running jobs');
                stop();
              }
            },
            () => undefined,
          );
        }, Math.min(host.managers.renewEveryMs, STOP_CHECK_MS));

  /** Starts a worker child; `announce`: write the registry record now (the first workers are written in one go). */
  const spawnWorker = (announce = true) => {
    const child = fork(workerScript, [host.root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...workerEnv } });
    const pid = child.pid;
    if (pid === undefined) {
      log('could not start a worker process');
      return;
    }
    const startedMs = Date.now();
    const entry: Child = { process: child, record: { ...processIdentity(pid), started_at: new Date(startedMs).toISOString() }, runGroup: null, leaving: false };
    children.set(pid, entry);
    dispatcher.added(pid);
    if (announce) register();
    child.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'ready':
          if (stopRequests === 0) dispatcher.ready(pid);
          else send(pid, { type: 'exit' });
          break;
        case 'exiting':
          entry.leaving = true;
          dispatcher.retire(pid);
          break;
        case 'started':
          dispatcher.started(message.token, message.startedAt);
          entry.runGroup = message.pgid === null ? null : { token: message.token, pgid: message.pgid };
          break;
        case 'finished':
          if (entry.runGroup?.token === message.token) entry.runGroup = null;
          dispatcher.runEnded({ id: message.id, token: message.token }, message.outcome, message.startedAt, message.endedAt, message.log);
          if (stopRequests === 0 && !entry.leaving) dispatcher.ready(pid);
          break;
        case 'released':
          dispatcher.released({ id: message.id, token: message.token });
          break;
        case 'env': {
          const { id } = message;
          store.env(id).then(
            (env) => send(pid, { type: 'env', id, env }),
            (error: unknown) => send(pid, { type: 'env', id, error: error instanceof Error ? error.message : String(error) }),
          );
          break;
        }
      }
    });
    // 'close', not 'exit': it comes after the IPC channel closed, so every message the child
    // sent (a run's outcome above all) has been handled by then.
    child.once('close', (code, signal) => {
      children.delete(pid);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      // Kill what its command left running, so the job never runs twice at once; the run is
      // recorded as lost now rather than after its lease.
      if (entry.runGroup !== null) sendSignal(-entry.runGroup.pgid, 'SIGKILL');
      dispatcher.gone(pid, `worker ${pid} ${how}`);
      if (stopRequests > 0) {
        if (children.size === 0) void shutDown();
        else register();
        return;
      }
      log(`worker ${pid} ${how}; starting a replacement`);
      register();
      const delay = Date.now() - startedMs < RESPAWN_THROTTLE_MS ? RESPAWN_THROTTLE_MS : 0;
      setTimeout(() => {
        if (stopRequests === 0) spawnWorker();
      }, delay);
    });
  };

  let shuttingDown = false;
  const shutDown = async () => {
    if (shuttingDown) return;
    shuttingDown = true;
    // With its data dir gone there is nowhere to record anything.
    const recorded = failure === null ? dispatcher.whenIdle() : Promise.resolve();
    if (stopRequests > 1) await Promise.race([recorded, new Promise((resolve) => setTimeout(resolve, ABORT_RECORD_MS).unref())]);
    else await recorded;
    // A cycle in flight finishes its write (bounded: one waiting for a lock may wait long); with
    // the data dir gone there is nothing to finish, and a cycle may wait out the lock's retries.
    const closed = dispatcher.close();
    if (failure === null) await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, ABORT_RECORD_MS).unref())]);
    stopWatchingDir();
    stopSweeping();
    clearInterval(renewTimer);
    await registering;
    await host.managers.remove(process.pid).catch(() => undefined);
    resolveDone(failure);
  };

  // The store was prepared by the caller, which reported a broken one before forking anything.
  const removed = await store.clearLeftovers();
  if (removed > 0) log(`removed ${removed} temp file(s) left by an interrupted write`);
  register();
  // A data dir deleted or replaced under a running manager: its files (and its registry entry,
  // which `worker stop` and `status` look for) are gone, and a new dir at the path belongs to
  // whoever made it. Carrying on would run jobs no one can see or stop, so the manager stops and
  // kills its runs, and writes nothing more there.
  const stopWatchingDir = host.watchLoss(process.pid, (what) => {
    if (failure !== null) return;
    failure = `its data directory ${host.root} was ${what}`;
    const running = [...children.values()].filter((child) => child.runGroup !== null).length;
    log(`error: ${failure}; stopping, and killing ${running} running job(s): nothing more can be recorded there`);
    dispatcher.close();
    stopRequests = 2;
    for (const pid of children.keys()) send(pid, { type: 'abort' });
    if (children.size === 0) void shutDown();
  });
  dispatcher.start();
  const stopSweeping = runsOf === undefined ? () => undefined : sweepOrphanedRuns({ store, runsOf, log });
  for (let i = 0; i < count; i++) spawnWorker(false);
  register();
  log(`manager ${process.pid} started ${count} worker(s) on ${host.root}`);

  return { done, stop };

  function stop(): void {
    stopRequests++;
    if (stopRequests === 1) {
      dispatcher.stopClaiming();
      if (children.size === 0) {
        void shutDown();
        return;
      }
      log(`stopping: ${children.size} worker(s) finish their current job first (signal again to kill running jobs)`);
      for (const pid of children.keys()) send(pid, { type: 'exit' });
    } else {
      log('stopping now: killing running jobs');
      for (const pid of children.keys()) send(pid, { type: 'abort' });
      if (children.size === 0) void shutDown();
    }
  }
}
