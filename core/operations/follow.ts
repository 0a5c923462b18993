/**
 * `queuectl logs -f <id>`: the job's output as it is written, from its start (or its last lines
 * with `--tail`), until the job finishes; a retry's output follows in the same stream, since
 * every run appends to the one log. On a job that has not started yet, it waits for the start.
 * The log is read through a descriptor held open, so it is followed to its end even when
 * retention moves it to the archive the moment the job finishes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { QueuectlError } from '../rules/errors.js';
import { isFinished, type Job } from '../rules/job.js';
import { endsMidRun } from '../rules/run-log.js';
import type { LogStream, RunLogs } from '../ports/host.js';
import type { Store } from '../ports/store.js';
import { tailStart } from '../os/tail.js';
import { watchPath } from '../os/watch-path.js';

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
export async function followLog(store: Store, logs: RunLogs, id: string, options: FollowOptions): Promise<Job> {
  const stream = logs.stream?.(id, options.tailLines);
  if (stream !== undefined) return followStream(store, stream, id, options);
  const log: { fd: number | null; offset: number } = { fd: null, offset: 0 };
  const wakers = new Set<() => void>();
  // Woken by a change of the jobs (the job's state) or of the log; polling is the fallback.
  const wakeAll = () => wakers.forEach((wake) => wake());
  let stopWatchingLog = () => undefined as void;
  let stopWatchingStore = () => undefined as void;
  const openIfThere = () => {
    if (log.fd !== null) return;
    log.fd = openLog(logs, id);
    if (log.fd === null) return;
    stopWatchingLog = watchPath(logs.pathOf(id), wakeAll);
    // Once, as the log is first opened: what is written after that is all new.
    if (options.tailLines !== undefined) log.offset = tailStart(log.fd, options.tailLines);
  };
  // Before anything is awaited: what the log holds when `logs -f` starts is where --tail counts from.
  openIfThere();
  try {
    let job = await locate(store, id);
    stopWatchingStore = store.watch(wakeAll);
    let signature = '';
    let finishedAt: number | null = null;
    for (;;) {
      // Whether it finished is read before the log: output written before the finish is then in the log.
      const next = await store.version();
      if (next !== signature) {
        signature = next;
        job = await locate(store, id);
      }
      const finished = isFinished(job);
      openIfThere();
      if (log.fd !== null) log.offset = await copyFrom(log.fd, log.offset, options.write);
      // A job canceled while it runs is finished before its worker has stopped the run and
      // written its end: that line is the last of the log, and worth a moment's wait.
      if (finished) finishedAt ??= Date.now();
      if (finished && (log.fd === null || !endsMidRun(lastBytes(log.fd)) || Date.now() - finishedAt! >= RUN_END_WAIT_MS)) return job;
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
    stopWatchingStore();
    stopWatchingLog();
    if (log.fd !== null) closeSync(log.fd);
  }
}

/** How long after its job finished a log may still lack the end of a run (a worker that died mid-run never writes it). */
const RUN_END_WAIT_MS = 3_000;

/** As followLog, with the log read from the store (every host's runs), which gets a run's output about once a second. */
async function followStream(store: Store, stream: LogStream, id: string, options: FollowOptions): Promise<Job> {
  let wake: (() => void) | undefined;
  const stopWatching = store.watch(() => wake?.());
  try {
    let job = await locate(store, id);
    let signature = '';
    let finishedAt: number | null = null;
    for (;;) {
      const next = await store.version();
      if (next !== signature) {
        signature = next;
        job = await locate(store, id);
      }
      if (isFinished(job)) finishedAt ??= Date.now();
      await stream.copy(options.write);
      if (finishedAt !== null && (stream.complete() || Date.now() - finishedAt >= RUN_END_WAIT_MS)) return job;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = undefined;
          resolve();
        }, FOLLOW_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    }
  } finally {
    stopWatching();
  }
}

async function locate(store: Store, id: string): Promise<Job> {
  const found = (await store.find([id])).get(id);
  if (!found) throw new QueuectlError(`no job "${id}" in the queue, the DLQ or the archive; see queuectl list`, 'ENOTFOUND');
  return found.job;
}

function openLog(logs: RunLogs, id: string): number | null {
  try {
    return openSync(logs.pathOf(id), 'r');
  } catch {
    return null; // not started yet
  }
}

/** The log's last bytes, as text: enough to hold its last run's lines of queuectl's own. */
function lastBytes(fd: number): string {
  const size = fstatSync(fd).size;
  const buffer = Buffer.alloc(Math.min(size, CHUNK));
  const read = readSync(fd, buffer, 0, buffer.length, size - buffer.length);
  return buffer.toString('utf8', 0, read);
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
