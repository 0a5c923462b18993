/**
 * The data directory lock. One proper-lockfile lock (`<data>/.lock`, a directory made with
 * mkdir) guards every data file, so a read-change-write of queue.json and dlq.json together is
 * one critical section across all processes.
 *
 * Critical sections are kept short (read, change, write; never a job's run). If the lock is
 * still lost (this process froze past `stale` and another took it), `onCompromised` marks it
 * and the pending write is refused instead of overwriting the other process's work.
 */
import { createRequire } from 'node:module';
import type Lockfile from 'proper-lockfile';
import { QueuectlError } from '../core/errors.js';

/** A lock whose mtime is older than this is taken over: the holder was killed. */
export const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;
/** Bounded waiting: long enough to outlast a stale lock, then a clear error. */
const LOCK_RETRIES = { retries: 250, factor: 1.2, minTimeout: 5, maxTimeout: 100, randomize: true };

export interface HeldLock {
  /** Throws if the lock was lost since it was taken; call right before each write. */
  assertHeld(): void;
}

const require = createRequire(import.meta.url);
/** Loaded on the first lock, not at start-up: commands that only read start faster without it. */
let lockfile: typeof Lockfile | undefined;

/** Serializes critical sections inside this process, so they never wait on each other's retries. */
let inProcess: Promise<unknown> = Promise.resolve();

export async function withLock<T>(root: string, lockPath: string, body: (lock: HeldLock) => T): Promise<T> {
  const run = inProcess.then(() => lockAndRun(root, lockPath, body));
  inProcess = run.catch(() => undefined);
  return run;
}

async function lockAndRun<T>(root: string, lockPath: string, body: (lock: HeldLock) => T): Promise<T> {
  let lostReason: string | null = null;
  let release: () => Promise<void>;
  lockfile ??= require('proper-lockfile') as typeof Lockfile;
  try {
    release = await lockfile.lock(root, {
      lockfilePath: lockPath,
      realpath: false,
      stale: LOCK_STALE_MS,
      update: LOCK_UPDATE_MS,
      retries: LOCK_RETRIES,
      onCompromised: (error) => {
        lostReason = error.message;
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOCKED') {
      throw new QueuectlError(
        `could not take the lock ${lockPath}: another queuectl process has held it for too long; ` +
          `if no queuectl process is running, remove ${lockPath}`,
        'ELOCK',
      );
    }
    if (code === 'ENOENT') {
      throw new QueuectlError(`data directory ${root} does not exist`, 'EFAIL');
    }
    throw error;
  }
  const held: HeldLock = {
    assertHeld() {
      if (lostReason !== null) {
        throw new QueuectlError(`lost the lock ${lockPath} (${lostReason}); nothing was written`, 'ELOCK');
      }
    },
  };
  try {
    return body(held);
  } finally {
    await release().catch(() => {
      // Released already because it was compromised: another process owns it now.
    });
  }
}
