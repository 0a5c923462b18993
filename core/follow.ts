/**
 * `queuectl logs -f <id>`: the job's output as it is written, from its start (or its last lines
 * with `--tail`), until the job finishes; a retry's output follows in the same stream, since
 * every run appends to the one log. On a job that has not started yet, it waits for the start.
 * The log is read through a descriptor held open, so it is followed to its end even when
 * retention moves it to the archive the moment the job finishes.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { QueuectlError } from './errors.js';
import { isFinished, type Job } from './job.js';
import { locateJob } from './queue-ops.js';
import { findLogPath } from '../store/archive.js';
import { dataSignature, watchPath } from '../store/data-watch.js';
import { tailStart } from '../store/job-logs.js';
import type { QueueStore } from '../store/queue-store.js';

/** Longest time between two looks at the log and the job. */
const FOLLOW_POLL_MS = 200;
const CHUNK = 64 * 1024;

export interface FollowOptions {
  /** Start with the last N lines of the log rather than its beginning. */
  tailLines?: number;
  /** Writes output; resolves when it may write more (backpressure). */
  write: (chunk: Buffer) => Promise<void>;
}

/** Follows the job's log until the job has finished; returns the job as it ended. */
export async function followLog(store: QueueStore, id: string, options: FollowOptions): Promise<Job> {
  let job = locate(store, id);
  let fd: number | null = null;
  let offset = 0;
  let signature = '';
  const wakers = new Set<() => void>();
  // Woken by a change of the data files (the job's state) or of the log; polling is the fallback.
  const wakeAll = () => wakers.forEach((wake) => wake());
  const stopWatchingDir = watchPath(store.paths.root, wakeAll);
  let stopWatchingLog = () => undefined as void;
  try {
    for (;;) {
      // Whether it finished is read before the log: output written before the finish is then in the log.
      const next = dataSignature(store.paths);
      if (next !== signature) {
        signature = next;
        job = locate(store, id);
      }
      const finished = isFinished(job);
      if (fd === null) {
        fd = openLog(store, id);
        if (fd !== null) {
          stopWatchingLog = watchPath(findLogPath(store.paths, id), wakeAll);
          // Once, as the log is first opened: what is written after that is all new.
          if (options.tailLines !== undefined) offset = tailStart(fd, options.tailLines);
        }
      }
      if (fd !== null) offset = await copyFrom(fd, offset, options.write);
      if (finished) return job;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, FOLLOW_POLL_MS);
        wakers.add(done);
      });
    }
  } finally {
    stopWatchingDir();
    stopWatchingLog();
    if (fd !== null) closeSync(fd);
  }
}

function locate(store: QueueStore, id: string): Job {
  const found = locateJob(store, id);
  if (!found) throw new QueuectlError(`no job "${id}" in the queue, the DLQ or the archive; see queuectl list`, 'ENOTFOUND');
  return found.job;
}

function openLog(store: QueueStore, id: string): number | null {
  try {
    return openSync(findLogPath(store.paths, id), 'r');
  } catch {
    return null; // not started yet
  }
}

/** Copies what the log holds past `offset`; returns the new offset. */
async function copyFrom(fd: number, offset: number, write: (chunk: Buffer) => Promise<void>): Promise<number> {
  const buffer = Buffer.alloc(CHUNK);
  for (;;) {
    const read = readSync(fd, buffer, 0, CHUNK, offset);
    if (read === 0) return offset;
    await write(Buffer.from(buffer.subarray(0, read)));
    offset += read;
  }
}
