/**
 * The data directory lock. One proper-lockfile lock (`<data>/.lock`, a directory made with
 * mkdir) guards every data file, so a read-change-write of queue.json and dlq.json together is
 * one critical section across all processes.
 *
 * Critical sections are kept short (read, change, write; never a job's run). If the lock is
 * still lost (this process froze past `stale` and another took it), `onCompromised` marks it
 * and the pending write is refused instead of overwriting the other process's work.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { statIdentity } from './stat-identity.js';
import { createRequire } from 'node:module';
import type Lockfile from 'proper-lockfile';
import { QueuectlError } from '../../core/rules/errors.js';

/** A lock whose mtime is older than this is taken over: the holder was killed. */
export const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;
/** How long a command waits for the lock before it gives up: long enough to outlast a stale lock. */
export const LOCK_WAIT_MS = 30_000;
/** Retry every 5 ms at first, backing off to 100–200 ms; the wait is bounded by time, not by count. */
const LOCK_RETRY_STEPS = { factor: 1.2, minTimeout: 5, maxTimeout: 100, randomize: true };

/**
 * The bounded wait for the lock, in milliseconds: `QUEUECTL_LOCK_TIMEOUT` (seconds) when set,
 * else LOCK_WAIT_MS. Below LOCK_STALE_MS, a lock left by a killed process is reported instead of
 * waited out.
 */
export function lockWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.QUEUECTL_LOCK_TIMEOUT;
  if (text === undefined || text === '') return LOCK_WAIT_MS;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(seconds > 0)) {
    throw new QueuectlError(`QUEUECTL_LOCK_TIMEOUT must be a number of seconds above 0, got "${text}"`, 'EINPUT');
  }
  return Math.round(seconds * 1000);
}

/** proper-lockfile's `retries`: enough steps to fill the wait; `maxRetryTime` ends it on time. */
export function lockRetryOptions(waitMs: number) {
  return { ...LOCK_RETRY_STEPS, retries: Math.ceil(waitMs / LOCK_RETRY_STEPS.maxTimeout) + 20, maxRetryTime: waitMs };
}

/**
 * Opt-in trace for stress tests: with `QUEUECTL_LOCK_LOG=<path>`, every process appends
 * `<pid> acquired <ns>` right after it takes the lock and `<pid> released <ns>` right before
 * it lets go, `<ns>` being the system-wide monotonic clock (`process.hrtime.bigint()`, comparable
 * across processes of one boot). One short line per O_APPEND write is written whole, so a
 * checker (scripts/lock-log.ts) can verify that no two holders ever overlap.
 */
function traceLock(event: 'acquired' | 'released'): void {
  const path = process.env.QUEUECTL_LOCK_LOG;
  if (!path) return;
  try {
    appendFileSync(path, `${process.pid} ${event} ${process.hrtime.bigint()}\n`);
  } catch {
    // A trace must never break the queue.
  }
}

/** The lock was taken over while this process held it; says which of its files were written. */
export class LockLostError extends QueuectlError {
  constructor(
    readonly lockPath: string,
    readonly reason: string,
    /** Files already renamed into place in this lock cycle, before the loss was seen. */
    readonly written: readonly string[] = [],
    readonly notWritten: readonly string[] = [],
    /** An archive batch written before the loss, while no job file was. */
    readonly archived: string | null = null,
  ) {
    super(
      `lost the lock ${lockPath} (${reason}); ` +
        (written.length === 0
          ? archived === null
            ? 'nothing was written'
            : `no job changed (the queue files were not written); archive/${archived}, written just before, holds copies of jobs that stay in the queue`
          : `${written.join(' and ')} ${written.length === 1 ? 'was' : 'were'} written, ${notWritten.join(' and ')} not: ` +
            'the next write repairs a job left in both files'),
      'ELOCK',
    );
  }
}

export interface HeldLock {
  /** Throws if the lock was lost since it was taken; call right before each rename of a data file. */
  assertHeld(): void;
}

const require = createRequire(import.meta.url);
/** Loaded on the first lock, not at start-up: commands that only read start faster without it. */
let lockfile: typeof Lockfile | undefined;

/** Serializes critical sections inside this process, so they never wait on each other's retries. */
let inProcess: Promise<unknown> = Promise.resolve();

/**
 * `signal`: while the lock is waited for, an abort ends the wait with its reason (Ctrl-C during a
 * `cancel` that waits behind another process: the default wait is 30 s). Once the lock is held,
 * `body` runs: whether it heeds the signal is its own affair.
 */
export async function withLock<T>(root: string, lockPath: string, body: (lock: HeldLock) => T | Promise<T>, signal?: AbortSignal): Promise<T> {
  const run = inProcess.then(() => lockAndRun(root, lockPath, body, signal));
  inProcess = run.catch(() => undefined);
  return run;
}

async function lockAndRun<T>(root: string, lockPath: string, body: (lock: HeldLock) => T | Promise<T>, signal?: AbortSignal): Promise<T> {
  let lostReason: string | null = null;
  let release: () => Promise<void>;
  lockfile ??= require('proper-lockfile') as typeof Lockfile;
  const waitMs = lockWaitMs();
  // proper-lockfile retries every error, a missing directory too, for the whole wait.
  if (!existsSync(root)) throw missingDirectory(root);
  signal?.throwIfAborted();
  try {
    const locking = lockfile.lock(root, {
      lockfilePath: lockPath,
      realpath: false,
      stale: LOCK_STALE_MS,
      update: LOCK_UPDATE_MS,
      retries: lockRetryOptions(waitMs),
      onCompromised: (error) => {
        lostReason = error.message;
      },
    });
    release = await (signal === undefined ? locking : untilAborted(locking, signal));
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    // `retry` reports a wait that ran out on its first failure as its own timeout error.
    if (code === 'ELOCKED' || (error as Error).message === 'RetryOperation timeout occurred') {
      throw new QueuectlError(
        `could not take the lock ${lockPath} within ${waitMs / 1000} s: another queuectl process holds it; ` +
          `if no queuectl process is running, remove ${lockPath}`,
        'ELOCK',
      );
    }
    if (code === 'ENOENT') throw missingDirectory(root);
    throw error;
  }
  // proper-lockfile judges a lock stale by its age alone, and its own check that the lock is
  // still ours runs on a timer, which a process frozen past the stale period (SIGSTOP, a
  // suspended VM) has not run when it resumes. The lock directory this process made is checked
  // by inode right before each rename and before the release, so a writer that resumes after
  // another took the lock over neither writes its stale copy nor removes the other's lock.
  const ours = lockInode(lockPath);
  const stillOurs = () => ours !== null && lockInode(lockPath) === ours;
  const held: HeldLock = {
    assertHeld() {
      if (lostReason === null && !stillOurs()) lostReason = 'another process took it over';
      if (lostReason !== null) {
        throw new LockLostError(lockPath, lostReason);
      }
    },
  };
  traceLock('acquired');
  try {
    return await body(held);
  } finally {
    traceLock('released');
    if (lostReason === null && stillOurs()) {
      await release().catch(() => {
        // Released already because it was compromised: another process owns it now.
      });
    }
  }
}

/**
 * The lock, or the abort's reason if the signal comes first. A lock taken after the abort is let
 * go at once: no one is left to use it.
 */
function untilAborted(locking: Promise<() => Promise<void>>, signal: AbortSignal): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      locking.then((release) => release()).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    locking.then(
      (release) => {
        signal.removeEventListener('abort', onAbort);
        resolve(release);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function missingDirectory(root: string): QueuectlError {
  return new QueuectlError(`data directory ${root} does not exist`, 'EFAIL');
}

/** The lock directory's identity: inode and birth time, since a new directory may reuse the inode. */
function lockInode(lockPath: string): string | null {
  return statIdentity(lockPath, ['ino', 'birth']);
}
