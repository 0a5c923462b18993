/**
 * `queuectl logs -f <id>`: the job's output as it is written, from its start (or its last lines
 * with `--tail`), until the job finishes; a retry's output follows in the same stream, since
 * every run appends to the one log. On a job that has not started yet, it waits for the start.
 * The log is this host's file, or, where a store keeps logs (RunLogs.stream), what it holds.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { QueuectlError } from '../rules/errors.js';
import { isFinished, type Job } from '../rules/job.js';
import { endsMidRun } from '../rules/run-log.js';
import type { LogStream, RunLogs } from '../ports/host.js';
import type { Store } from '../ports/store.js';
import { tailStart } from '../os/tail.js';
import { watchPath } from '../os/watch-path.js';
import { OutageGrace } from './outage.js';

/** Longest time between two looks at the log and the job. */
const FOLLOW_POLL_MS = 200;
const CHUNK = 64 * 1024;

export interface FollowOptions {
  /** Start with the last N lines of the log rather than its beginning. */
  tailLines?: number;
  /** Writes output; resolves when it may write more (backpressure). */
  write: (chunk: Buffer) => Promise<void>;
  /** Told the job as each look finds it (for `logs -f` to say why one does not start). */
  onJob?: (job: Job) => void;
}

/** Follows the job's log until the job has finished; returns the job as it ended. */
export async function followLog(store: Store, logs: RunLogs, id: string, options: FollowOptions): Promise<Job> {
  // Before anything is awaited: what the log holds when `logs -f` starts is where --tail counts from.
  const stream = logs.stream?.(id, options.tailLines) ?? new LogFileStream(logs, id, options.tailLines);
  let wake: (() => void) | undefined;
  // Woken by a change of the jobs (the job's state) or of the log; polling is the fallback.
  const stopWatchingStore = store.watch(() => wake?.());
  const stopWatchingLog = stream instanceof LogFileStream ? stream.watch(() => wake?.()) : () => undefined;
  try {
    let job = await locate(store, id);
    let signature = '';
    let finishedAt: number | null = null;
    const grace = new OutageGrace();
    for (;;) {
      try {
        // Whether it finished is read before the log: output written before the finish is then in the log.
        const next = await store.version();
        if (next !== signature) {
          job = await locate(store, id);
          signature = next;
          options.onJob?.(job);
        }
        if (isFinished(job)) finishedAt ??= Date.now();
        await stream.copy(options.write);
        // A run's end may reach the log just after its job finished: a job canceled while it runs
        // is finished before its worker has stopped the run; a store gets a run's output later.
        if (finishedAt !== null && (stream.complete() || Date.now() - finishedAt >= RUN_END_WAIT_MS)) {
          // The end line may have come between the copy and the look at the log's end: copy it too.
          await stream.copy(options.write, true);
          return job;
        }
        grace.ok();
      } catch (error) {
        if (!grace.bear(error)) throw error;
      }
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
    stopWatchingStore();
    stopWatchingLog();
    if (stream instanceof LogFileStream) stream.close();
  }
}

/** How long after its job finished a log may still lack the end of a run (a worker that died mid-run never writes it). */
const RUN_END_WAIT_MS = 3_000;

/**
 * The job's log file on this host, as a LogStream: read through a descriptor held open, so that
 * it is followed to its end even when retention moves it to the archive as the job finishes.
 */
class LogFileStream implements LogStream {
  private fd: number | null = null;
  private offset = 0;
  private onChange: (() => void) | undefined;
  private stopWatching: () => void = () => undefined;

  constructor(
    private readonly logs: RunLogs,
    private readonly id: string,
    private readonly tailLines: number | undefined,
  ) {
    this.openIfThere();
  }

  /** Calls `onChange` when the log file changes, once it is there. */
  watch(onChange: () => void): () => void {
    this.onChange = onChange;
    if (this.fd !== null) this.stopWatching = watchPath(this.logs.pathOf(this.id), onChange);
    return () => this.stopWatching();
  }

  async copy(write: (chunk: Buffer) => Promise<void>): Promise<void> {
    this.openIfThere();
    if (this.fd !== null) this.offset = await copyFrom(this.fd, this.offset, write);
  }

  /** Whether the log's last run has its end line (or it has no run: never started). */
  complete(): boolean {
    return this.fd === null || !endsMidRun(lastBytes(this.fd));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
  }

  private openIfThere(): void {
    if (this.fd !== null) return;
    this.fd = openLog(this.logs, this.id);
    if (this.fd === null) return;
    if (this.onChange !== undefined) this.stopWatching = watchPath(this.logs.pathOf(this.id), this.onChange);
    // Once, as the log is first opened: what is written after that is all new.
    if (this.tailLines !== undefined) this.offset = tailStart(this.fd, this.tailLines);
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
