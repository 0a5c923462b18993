/**
 * The head of queue.json, its first line, which sums up a journaled queue (rules/summary.ts),
 * says where its tail is and which ids it may hold: read without the rest, so that `status` on a
 * queue of 100,000 jobs reads a few kilobytes of it, not 41 MB (see queue-log.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { JobsSummary } from '../../core/rules/summary.js';
import { fileSystemError } from '../local/durable-file.js';
import { idTest } from './id-filter.js';
import type { QueueTail } from './job-file.js';
import { isSummary } from './journal.js';

/** What the head of a journaled queue.json says. */
export interface CheckpointHead {
  seq: number;
  summary: JobsSummary;
  /** Where its last jobs start (job-file.ts tailOf), when it says. */
  tail: QueueTail | null;
  /** Whether it may hold a job of an id (id-filter.ts), when it says. */
  mayHold: ((id: string) => boolean) | null;
  /** Where the first job's line starts: past the head's line. */
  jobsStart: number;
  /** queue.json's size in bytes. */
  bytes: number;
}

const NEWLINE = 0x0a;
const FIRST_READ = 64 * 1024;
/** A head longer than this (a summary of very many dependencies) is not looked for: the caller reads the queue. */
const HEAD_MAX = 4 * 1024 * 1024;
const JOBS_OPEN = '"jobs":[';
/** How queue.json ends, as its writer ends it. */
const END = Buffer.from('\n]}\n');

/**
 * The head of queue.json at `path` when it is a journaled one (version 2) that carries a
 * summary; null when it is not (the caller reads the queue), or when there is no queue.json.
 */
export function readCheckpointHead(path: string): CheckpointHead | null {
  return withFile(path, (fd, size) => headOf(fd, size));
}

/**
 * The head of queue.json and the bytes of its tail (job-file.ts tailOf), from one open file: read
 * in two opens, a checkpoint renamed in between would give the tail of another file at this
 * one's offset. null where either is not there.
 */
export function readCheckpointTail(path: string): { head: CheckpointHead; bytes: Buffer } | null {
  return withFile(path, (fd, size) => {
    const head = headOf(fd, size);
    if (head === null || head.tail === null) return null;
    const start = head.jobsStart + head.tail.from;
    return { head, bytes: readAt(fd, start, Math.max(0, size - start)) };
  });
}

function headOf(fd: number, size: number): CheckpointHead | null {
  // Cut short (a truncated copy): a whole read reports it.
  if (size < END.length || !readAt(fd, size - END.length, END.length).equals(END)) return null;
  const line = firstLine(fd, size);
  if (line === null || !line.endsWith(JOBS_OPEN)) return null;
  let head: unknown;
  try {
    head = JSON.parse(`${line}]}`);
  } catch {
    return null;
  }
  const { version, seq = 0, summary, tail, id_filter } = head as Record<string, unknown>;
  if (version !== 2 || typeof seq !== 'number' || !Number.isSafeInteger(seq) || !isSummary(summary)) return null;
  return { seq, summary, tail: isTail(tail) ? tail : null, mayHold: idTest(id_filter), jobsStart: Buffer.byteLength(line) + 1, bytes: size };
}

function isTail(value: unknown): value is QueueTail {
  const { from, bound } = (value ?? {}) as Record<string, unknown>;
  return typeof from === 'number' && Number.isSafeInteger(from) && from >= 0 && typeof bound === 'string';
}

function withFile<T>(path: string, read: (fd: number, size: number, inode: bigint) => T): T | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileSystemError(error, 'read', path);
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    return read(fd, Number(stat.size), stat.ino);
  } catch (error) {
    throw fileSystemError(error, 'read', path);
  } finally {
    closeSync(fd);
  }
}

/** The file's first line, without its newline; null when it has none within HEAD_MAX. */
function firstLine(fd: number, size: number): string | null {
  for (let length = Math.min(size, FIRST_READ); ; length = Math.min(size, length * 4)) {
    const bytes = readAt(fd, 0, length);
    const end = bytes.indexOf(NEWLINE);
    if (end !== -1) return bytes.toString('utf8', 0, end);
    if (length >= size || length >= HEAD_MAX) return null;
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buffer, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buffer.subarray(0, got);
}
