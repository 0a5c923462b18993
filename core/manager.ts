/**
 * The worker manager: forks N worker children, replaces any that dies, and stops them
 * gracefully. It registers itself in `managers/<pid>.json` so that `worker stop` and `status`
 * can find it, and removes that file when it ends.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  identityOf,
  removeManagerRecord,
  writeManagerRecord,
  type WorkerRecord,
} from '../store/manager-registry.js';
import type { QueueStore } from '../store/queue-store.js';
import { recordOutcome } from './queue-ops.js';
import type { RunNotice } from './worker.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.js', import.meta.url));
/** A child that dies sooner than this after its start is replaced only after this delay. */
const RESPAWN_THROTTLE_MS = 1_000;

export interface ManagerOptions {
  store: QueueStore;
  count: number;
  log: (line: string) => void;
}

export interface RunningManager {
  /** Resolves when every child has exited after a stop. */
  finished: Promise<void>;
  /** First call: let running jobs finish. Later calls: kill them. */
  stop(): void;
}

export function startManager({ store, count, log }: ManagerOptions): RunningManager {
  const self = identityOf(process.pid);
  const startedAt = new Date().toISOString();
  const children = new Map<ChildProcess, WorkerRecord>();
  /** The run each child has in progress, so that it can be cleaned up if the child dies. */
  const runs = new Map<ChildProcess, Extract<RunNotice, { type: 'run' }>>();
  let stopRequests = 0;
  let resolveFinished: () => void;
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve));

  const register = () =>
    writeManagerRecord(store.paths, {
      ...self,
      started_at: startedAt,
      count,
      workers: [...children.values()],
    });
  const unregister = () => removeManagerRecord(store.paths, process.pid);
  process.on('exit', unregister);

  const spawnWorker = () => {
    const child = fork(WORKER_SCRIPT, [store.paths.root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (child.pid === undefined) {
      log('could not start a worker process');
      return;
    }
    const startedMs = Date.now();
    children.set(child, { ...identityOf(child.pid), started_at: new Date(startedMs).toISOString() });
    register();
    child.on('message', (notice: RunNotice) => {
      if (notice.type === 'run') runs.set(child, notice);
      else runs.delete(child);
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      const run = runs.get(child);
      runs.delete(child);
      if (run) settleOrphanedRun(run, `worker ${child.pid} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
      if (stopRequests > 0) {
        if (children.size === 0) {
          unregister();
          resolveFinished();
        } else register();
        return;
      }
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      log(`worker ${child.pid} ${how}; starting a replacement`);
      const delay = Date.now() - startedMs < RESPAWN_THROTTLE_MS ? RESPAWN_THROTTLE_MS : 0;
      setTimeout(() => {
        if (stopRequests === 0) spawnWorker();
      }, delay);
    });
  };

  /**
   * A child died mid-run: kill what its command left running, so the job never runs twice at
   * once, and record the lost run now rather than after the lease (the token check makes this
   * a no-op if the child recorded the outcome before it died).
   */
  const settleOrphanedRun = (run: Extract<RunNotice, { type: 'run' }>, reason: string) => {
    try {
      process.kill(-run.pgid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    recordOutcome(store, run.id, run.token, { kind: 'lost', reason }).then(
      (result) => {
        if (result.recorded) log(`${run.id}: ${result.job.last_error} -> ${result.job.state}`);
      },
      (error: unknown) => log(`error: ${error instanceof Error ? error.message : String(error)}; the lease will bring ${run.id} back`),
    );
  };

  store.ensureDir();
  const removed = store.removeStaleTempFiles();
  if (removed > 0) log(`removed ${removed} temp file(s) left by an interrupted write`);
  for (let i = 0; i < count; i++) spawnWorker();
  log(`manager ${process.pid} started ${count} worker(s) on ${store.paths.root}`);

  const send = (message: 'stop' | 'abort') => {
    for (const child of children.keys()) {
      if (child.connected) child.send(message, () => undefined);
    }
  };

  return {
    finished,
    stop() {
      stopRequests++;
      if (children.size === 0) {
        unregister();
        resolveFinished();
        return;
      }
      if (stopRequests === 1) {
        log(`stopping: ${children.size} worker(s) finish their current job first (signal again to kill running jobs)`);
        send('stop');
      } else {
        log('stopping now: killing running jobs');
        send('abort');
      }
    },
  };
}
