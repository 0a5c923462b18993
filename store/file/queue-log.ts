/**
 * queue.json as a checkpoint and queue.journal as the changes since (SQLite's answer: a
 * write-ahead log beside the database, folded back into it now and then).
 *
 * A change costs what changed, not what the queue holds: a transaction appends one line of whole
 * job records to the journal, under the lock, and fsyncs it (journal.ts). The checkpoint is
 * rewritten atomically (temp file, fsync, rename, fsync of the directory) when the queue is
 * small (CHECKPOINT_EVERY_CHANGE_JOBS jobs or fewer, so that queue.json is current after every
 * command, as it always was), when the journal outgrows JOURNAL_FRACTION of the checkpoint, and
 * when a manager's queue goes quiet (file-store.ts). Then the journal is reset, by renaming an
 * empty file over it.
 *
 * The checkpoint names the last journal line it holds (`"seq"` in its head; absent means 0).
 * Readers apply the lines after it, in order: a journal left behind by a crash between the
 * checkpoint's rename and the journal's reset holds only lines the checkpoint has, which are
 * skipped. Lines must follow one another (seq + 1): a reader without the lock that read the old
 * checkpoint and then the new journal sees the gap (and that queue.json changed) and reads again.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, statSync, writeSync, type BigIntStats } from 'node:fs';
import { dirname } from 'node:path';
import { dependenciesOf, type Job } from '../../core/rules/job.js';
import { summarizeJobs, summaryAfter, summaryAfterAdding, totalCounts, type JobsSummary } from '../../core/rules/summary.js';
import { fileSystemError, fsyncDirectory, parseJsonText, readBytesIfExists, writeFileDurably, writeFileDurablyAsync } from '../local/durable-file.js';
import type { HeldLock } from '../local/lock.js';
import { fileVersion, versionOf } from './file-version.js';
import { FORMAT_VERSION, JOURNALED_VERSION, JobFileEncoder, parseCheckpoint, parseLines, rememberLines, TAIL_JOBS } from './job-file.js';
import { corruptJournal, encodeRecord, parseJournal, type JournalRead, type JournalRecord } from './journal.js';
import { applyChanges, diffAt, diffQueue } from './queue-diff.js';
import { readCheckpointHead, readCheckpointTail, type CheckpointHead } from './checkpoint-head.js';
import { FileLookup, type QueueLookup } from './queue-lookup.js';
import { outlineCheckpoint, outlineOf, type JobOutline } from './outline.js';

interface JournalBytes {
  inode: bigint;
  /** Where the bytes read start: past what an earlier read took in. */
  from: { bytes: number; lines: number };
  read: JournalRead;
}

/** A change of a queue of up to this many jobs rewrites queue.json, and the journal stays empty. */
export const CHECKPOINT_EVERY_CHANGE_JOBS = 10_000;
/** The journal is folded into the checkpoint once it would grow past this part of it. */
export const JOURNAL_FRACTION = 0.25;
/** How often a reader without the lock starts again because a checkpoint happened under it. */
const READ_TRIES = 10;

/** Where queue.json and its journal stood when read or written. */
export interface LogPosition {
  /** The last journal line applied (or held by the checkpoint). */
  seq: number;
  /**
   * The checkpoint is version 2 (job-file.ts JOURNALED_VERSION): the journal holds changes. Beside
   * a version-1 checkpoint a journal holds none: it is left by a crash after a checkpoint that
   * folded it in, and an older queuectl may have rewritten queue.json since (without "seq"), so
   * its lines are never applied; `journalBytes` is then its size, for the next checkpoint to reset.
   */
  journaled: boolean;
  /** The checkpoint's identity (file-version.ts) and its size in bytes. */
  checkpoint: string;
  checkpointBytes: number;
  /** The journal's inode, or null when there is none; and how many of its bytes are good lines read. */
  journalInode: bigint | null;
  journalBytes: number;
  /** Lines of the journal read (for the line numbers of messages). */
  journalLines: number;
}

/** The queue as read: the checkpoint with the journal applied, and where both files stood. */
export interface QueueState extends LogPosition {
  jobs: Job[];
  /** The jobs summed up (rules/summary.ts), when known without a pass over them: see `summaryOf`. */
  summary?: JobsSummary;
  /** For the write that made `after` from `before` moving no job, the positions that changed (a claim index follows them). */
  change?: { before: readonly Job[]; after: readonly Job[]; changedAt: readonly number[] };
}

/** The summary of a queue as read: the one it came with, or else made from its jobs. */
export function summaryOf(state: QueueState): JobsSummary {
  return state.summary ?? summarizeJobs(state.jobs);
}

/** The queue in outline (outline.ts), in queue order, and where both files stood. */
export interface OutlineState extends LogPosition {
  jobs: Map<string, JobOutline>;
  /** queue.json's bytes, which the outlines' lines point into; null when there are none to point into. */
  bytes: Buffer | null;
}

/** The jobs `list --limit` may show (QueueLog.readTail). */
export interface QueueTailJobs {
  jobs: Job[];
  bound: string;
}

/** The queue as `enqueue` reads it (QueueLog.readLight). */
export interface LightQueue {
  position: LogPosition;
  summary: JobsSummary;
  lookup: QueueLookup;
}

/** How many jobs a summary counts. */
function jobCount(summary: JobsSummary): number {
  return Object.values(totalCounts(summary)).reduce((sum, n) => sum + n, 0);
}

/** When the checkpoint is rewritten (tests journal every change with `everyChangeUpTo: 0`). */
export interface CheckpointPolicy {
  /** @default CHECKPOINT_EVERY_CHANGE_JOBS */
  everyChangeUpTo?: number;
  /** @default JOURNAL_FRACTION */
  fraction?: number;
  /** How many of its last jobs queue.json's head points to, for `list --limit` (job-file.ts tailOf). @default TAIL_JOBS */
  tailJobs?: number;
}

export class QueueLog {
  private readonly encoder = new JobFileEncoder();
  private readonly everyChangeUpTo: number;
  private readonly fraction: number;
  private readonly tailJobs: number;

  constructor(
    private readonly queuePath: string,
    readonly journalPath: string,
    policy: CheckpointPolicy = {},
    /** For tests: runs between the read of the checkpoint and the read of the journal. */
    private readonly afterCheckpointRead: () => void = () => undefined,
  ) {
    this.everyChangeUpTo = policy.everyChangeUpTo ?? CHECKPOINT_EVERY_CHANGE_JOBS;
    this.fraction = policy.fraction ?? JOURNAL_FRACTION;
    this.tailJobs = policy.tailJobs ?? TAIL_JOBS;
  }

  /**
   * The queue now. `cached`, if the checkpoint is still the file it was read from, is brought up
   * to date with the journal lines written since (no parse of the checkpoint); otherwise both are
   * read afresh. `locked`: the caller holds the lock, so no one writes meanwhile and a gap in
   * the lines is corruption, not a checkpoint in between.
   */
  read(cached: QueueState | undefined, locked: boolean): QueueState {
    return this.untilSteady(locked, (identity, last) => this.readOnce(identity, cached?.checkpoint === identity ? cached : this.refolded(cached, identity), last));
  }

  /**
   * `cached` as of the new checkpoint `identity`, when that is a fold of exactly the lines
   * `cached` applied (its head names the same `seq`: a checkpoint that holds a change never
   * journaled names a new one, see `checkpoint`), so that another manager's fold costs no parse
   * of 41 MB here. Only a head of this queuectl's (with a summary) is trusted so.
   */
  private refolded(cached: QueueState | undefined, identity: string): QueueState | undefined {
    if (cached === undefined || !cached.journaled) return undefined;
    const head = readCheckpointHead(this.queuePath);
    if (head === null || head.seq !== cached.seq) return undefined;
    return { ...cached, checkpoint: identity, checkpointBytes: head.bytes, journalInode: null, journalBytes: 0, journalLines: 0, change: undefined };
  }

  /**
   * Reads by `once` until a read is whole: one that found no gap, with queue.json the same file
   * after as before (a checkpoint landed in between otherwise). Under the lock, or on the last
   * try, the first read is taken, and a gap is corruption (`last`).
   */
  private untilSteady<T>(locked: boolean, once: (identity: string, last: boolean) => T | null): T {
    for (let tries = 1; ; tries++) {
      const before = fileVersion(this.queuePath);
      const last = locked || tries === READ_TRIES;
      const state = once(before, last);
      if (state !== null && (last || fileVersion(this.queuePath) === before)) return state;
    }
  }

  /** null: a line is missing, the journal was reset after the checkpoint was read (read again). */
  private readOnce(identity: string, cached: QueueState | undefined, gapIsCorrupt: boolean): QueueState | null {
    const base = cached ?? this.readCheckpoint(identity);
    this.afterCheckpointRead();
    if (!base.journaled) return { ...base, ...this.staleJournal() };
    const journal = this.readJournal(base);
    if (journal === null) return base.journalInode === null ? base : { ...base, journalInode: null, journalBytes: 0, journalLines: 0 };
    const next = this.following(base.seq, journal, gapIsCorrupt);
    if (next === null) return null;
    if (next.changes.length === 0) return { ...base, ...next.position };
    // The last line's summary is the queue's after it, when its writer wrote one.
    return { ...base, ...next.position, jobs: applyChanges(base.jobs, next.changes), summary: next.changes.at(-1)!.summary };
  }

  /**
   * The journal's lines after `seq`, which must follow one another. Lines up to `seq` are held by
   * the checkpoint already: a crash before the journal's reset left them. null for a gap (see readOnce).
   */
  private following(seq: number, journal: JournalBytes, gapIsCorrupt: boolean) {
    const changes: JournalRecord[] = [];
    let line = journal.from.lines;
    for (const record of journal.read.records) {
      line++;
      if (record.seq <= seq) continue;
      if (record.seq !== seq + 1) {
        if (gapIsCorrupt) throw corruptJournal(this.journalPath, line, `"seq" ${record.seq} follows ${seq}`);
        return null;
      }
      seq = record.seq;
      changes.push(record);
    }
    const position = { seq, journalInode: journal.inode, journalBytes: journal.from.bytes + journal.read.consumed, journalLines: line };
    return { changes, position };
  }

  /**
   * The queue in outline, read afresh (outline.ts): queue.json's lines are not parsed, only their
   * heads, unless it is not in the writer's shape. See `read` for `locked`.
   */
  readOutline(locked: boolean): OutlineState {
    return this.untilSteady(locked, (identity, last) => this.readOutlineOnce(identity, last));
  }

  private readOutlineOnce(identity: string, gapIsCorrupt: boolean): OutlineState | null {
    const bytes = readBytesIfExists(this.queuePath);
    let base: { seq: number; journaled: boolean; jobs: Map<string, JobOutline>; bytes: Buffer | null } | null =
      bytes === undefined ? { seq: 0, journaled: false, jobs: new Map(), bytes: null } : outlineCheckpoint(bytes);
    if (base === null) {
      const { seq, journaled, jobs } = parseCheckpoint(parseJsonText(bytes!.toString('utf8'), this.queuePath), this.queuePath);
      base = { seq, journaled, jobs: new Map(jobs.map((job) => [job.id, outlineOf(job)])), bytes: null };
    }
    const position: LogPosition = { seq: base.seq, journaled: base.journaled, checkpoint: identity, checkpointBytes: bytes?.length ?? 0, journalInode: null, journalBytes: 0, journalLines: 0 };
    this.afterCheckpointRead();
    if (!base.journaled) return { ...position, ...this.staleJournal(), jobs: base.jobs, bytes: base.bytes };
    const journal = this.readJournal(position);
    if (journal === null) return { ...position, jobs: base.jobs, bytes: base.bytes };
    const next = this.following(base.seq, journal, gapIsCorrupt);
    if (next === null) return null;
    const { jobs } = base;
    for (const change of next.changes) {
      for (const id of change.removed) jobs.delete(id);
      // A job in the map keeps its place; one removed above goes to the end, as applyChanges does.
      for (const job of change.jobs) jobs.set(job.id, outlineOf(job));
    }
    return { ...position, ...next.position, jobs, bytes: base.bytes };
  }

  /**
   * The queue summed up, from the head of queue.json and the last line of the journal alone
   * (checkpoint-head.ts), without the lock; null where they do not hold it (a small queue.json, lines of
   * a queuectl that wrote none, a torn last line): the caller reads the queue. Lines between the
   * two ends are trusted, not read: a full read reports what is wrong with them.
   */
  readSummary(): JobsSummary | null {
    return this.untilSteady(false, (identity, last) => this.summaryOnce(identity, last))?.summary ?? null;
  }

  /** null: a journal line is missing, read again (see readOnce); `summary` null: the files do not hold one. */
  private summaryOnce(identity: string, gapIsCorrupt: boolean): { summary: JobsSummary | null } | null {
    const head = readCheckpointHead(this.queuePath);
    if (head === null) return { summary: null };
    const lines = this.linesAfter(head, identity, gapIsCorrupt);
    if (lines === null) return null;
    // No line, or only lines the checkpoint holds (left by a crash before the journal's reset).
    if (lines.records.length === 0) return { summary: head.summary };
    return { summary: lines.records.at(-1)!.summary ?? null };
  }

  /**
   * The journal's lines after the checkpoint whose head is `head`, every one read and checked as
   * a whole read checks them (corruption before the last line is reported, a torn last line left
   * out), and where the journal stands. null for a gap (see readOnce). The journal is small next
   * to the checkpoint (at most JOURNAL_FRACTION of it, and empty at rest).
   */
  private linesAfter(head: CheckpointHead, identity: string, gapIsCorrupt: boolean): { records: JournalRecord[]; position: LogPosition } | null {
    this.afterCheckpointRead();
    const base: LogPosition = { seq: head.seq, journaled: true, checkpoint: identity, checkpointBytes: head.bytes, journalInode: null, journalBytes: 0, journalLines: 0 };
    const journal = this.readJournal(base);
    if (journal === null) return { records: [], position: base };
    const next = this.following(head.seq, journal, gapIsCorrupt);
    if (next === null) return null;
    return { records: next.changes, position: { ...base, ...next.position } };
  }

  /**
   * The jobs of `ids` that the queue holds, looked up without the lock and without reading every
   * job (queue-lookup.ts); null where queue.json's head does not allow it: the caller reads the queue.
   */
  findLight(ids: readonly string[]): Map<string, Job> | null {
    return this.untilSteady(false, (identity, last) => {
      const head = readCheckpointHead(this.queuePath);
      if (head === null) return { found: null };
      const lines = this.linesAfter(head, identity, last);
      if (lines === null) return null;
      const lookup = new FileLookup(this.queuePath, lines.records, head.mayHold);
      const found = new Map<string, Job>();
      for (const id of ids) {
        const job = lookup.get(id)?.job;
        if (job) found.set(id, job);
      }
      return { found };
    }).found;
  }

  /**
   * The jobs `list --limit` may show, without the lock and without reading the jobs before
   * queue.json's tail (job-file.ts tailOf): the tail's jobs and those the journal added since,
   * as they are now, in queue order, and the tail's `bound`. Jobs of before the tail are left
   * out, changed or not: a listing is right only if every job it shows is enqueued at `bound` or
   * later (then no job of before the tail, enqueued at `bound` at the latest and earlier in queue
   * order, is more recent). null where queue.json does not say where its tail is.
   */
  readTail(): QueueTailJobs | null {
    return this.untilSteady(false, (identity, last) => this.tailOnce(identity, last)).tail;
  }

  /** null: a journal line is missing, read again (see readOnce); `tail` null: queue.json does not say where its tail is. */
  private tailOnce(identity: string, gapIsCorrupt: boolean): { tail: QueueTailJobs | null } | null {
    const read = readCheckpointTail(this.queuePath);
    if (read === null) return { tail: null };
    const { head, bytes } = read;
    const { bound } = head.tail!;
    let tail: (Job | undefined)[];
    try {
      tail = parseLines(bytes, this.queuePath);
    } catch {
      return { tail: null }; // not where the head says (queue.json edited by hand?): the whole read tells what is wrong
    }
    const lines = this.linesAfter(head, identity, gapIsCorrupt);
    if (lines === null) return null;
    const inTail = new Map(tail.map((job, index) => [job!.id, index]));
    const added = new Map<string, Job>();
    const removed = new Set<string>();
    const checkpoint = new FileLookup(this.queuePath, [], head.mayHold);
    for (const change of lines.records) {
      for (const id of change.removed) {
        const at = inTail.get(id);
        if (at !== undefined) tail[at] = undefined;
        inTail.delete(id);
        added.delete(id);
        removed.add(id);
      }
      for (const job of change.jobs) {
        const at = inTail.get(job.id);
        if (at !== undefined) tail[at] = job;
        else if (added.has(job.id) || job.created_at > bound) added.set(job.id, job);
        // Enqueued at `bound`: new (at the end), or one of before the tail changed in place (left out).
        else if (job.created_at === bound && (removed.has(job.id) || !checkpoint.has(job.id))) added.set(job.id, job);
      }
    }
    return { tail: { jobs: [...(tail.filter((job) => job !== undefined) as Job[]), ...added.values()], bound } };
  }

  /**
   * The queue as `enqueue` needs it under the lock, without reading every job: where the files
   * stand and the summary (from their ends, as readSummary), and a lookup of jobs by id. null
   * where the files do not hold a summary: the caller reads the queue whole.
   */
  readLight(lock: HeldLock): LightQueue | null {
    lock.assertHeld();
    const head = readCheckpointHead(this.queuePath);
    if (head === null) return null;
    // Under the lock a gap is corruption: reported, as a whole read reports it (never written after).
    const lines = this.linesAfter(head, fileVersion(this.queuePath), true)!;
    const summary = lines.records.length === 0 ? head.summary : lines.records.at(-1)!.summary;
    if (summary === undefined) return null;
    return { position: lines.position, summary, lookup: new FileLookup(this.queuePath, lines.records, head.mayHold) };
  }

  /**
   * Adds `added` at the end of the queue read light, under the lock: one journal line, when the
   * queue is past the size where every change is a checkpoint and the line fits the journal.
   * Returns null where a checkpoint is due: the caller reads the queue whole and writes it.
   */
  add(state: LightQueue, added: readonly Job[], lock: HeldLock): LogPosition | null {
    if (jobCount(state.summary) <= this.everyChangeUpTo) return null;
    const inBatch = new Set(added.map((job) => job.id));
    const unfinished = (id: string) => {
      const job = state.lookup.get(id);
      return job !== undefined && job.state !== 'completed' && job.state !== 'dead';
    };
    // A new job waits for the jobs it names that have not completed: earlier ones of its batch, and those in the queue.
    const summary = summaryAfterAdding(state.summary, added, (job) => dependenciesOf(job).filter((id) => inBatch.has(id) || unfinished(id)));
    const line = encodeRecord({ seq: state.position.seq + 1, jobs: [...added], removed: [], summary });
    if (state.position.journalBytes + line.length > state.position.checkpointBytes * this.fraction) return null;
    return this.append(state.position, line, lock);
  }

  private readCheckpoint(identity: string): QueueState {
    const bytes = readBytesIfExists(this.queuePath);
    const doc = bytes === undefined ? undefined : parseJsonText(bytes.toString('utf8'), this.queuePath);
    const { seq, journaled, jobs } = parseCheckpoint(doc, this.queuePath);
    if (journaled) rememberLines(jobs, bytes!);
    return { jobs, seq, journaled, checkpoint: identity, checkpointBytes: bytes?.length ?? 0, journalInode: null, journalBytes: 0, journalLines: 0 };
  }

  /** The journal beside a version-1 checkpoint, not read: where it is, for the next checkpoint to reset it. */
  private staleJournal(): Pick<LogPosition, 'journalInode' | 'journalBytes' | 'journalLines'> {
    let stat: BigIntStats | undefined;
    try {
      stat = statSync(this.journalPath, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      throw fileSystemError(error, 'read', this.journalPath);
    }
    return { journalInode: stat?.ino ?? null, journalBytes: Number(stat?.size ?? 0n), journalLines: 0 };
  }

  /** The journal's lines past what `base` read of it (all of them if it is another file now). */
  private readJournal(base: LogPosition): JournalBytes | null {
    let fd: number;
    try {
      fd = openSync(this.journalPath, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fileSystemError(error, 'read', this.journalPath);
    }
    try {
      const stat = fstatSync(fd, { bigint: true });
      const same = base.journalInode === stat.ino && stat.size >= BigInt(base.journalBytes);
      const from = same ? { bytes: base.journalBytes, lines: base.journalLines } : { bytes: 0, lines: 0 };
      const size = Number(stat.size) - from.bytes;
      const buffer = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, buffer, got, size - got, from.bytes + got);
        if (n === 0) break;
        got += n;
      }
      const read = parseJournal(buffer.subarray(0, got), this.journalPath, from.lines + 1);
      return { inode: stat.ino, from, read };
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes `jobs` as the new queue, under the lock: one journal line of what changed since
   * `state`, or a new checkpoint (see the head of this file). Returns the state it wrote.
   */
  async write(state: QueueState, jobs: readonly Job[], lock: HeldLock, options: { checkpoint?: boolean; changedAt?: readonly number[] } = {}): Promise<QueueState> {
    // Small is the queue the change starts from, as it is on file (a batch that makes a queue
    // large goes to queue.json at once, not to the journal), or the queue it leaves (a cancel of
    // most of a large queue, which retention then moves out: no journal is kept below the size,
    // where queue.json is current after every command). No queue.json yet: it is made first.
    // A version-1 checkpoint is rewritten as version 2 before any line goes to the journal.
    const small = state.jobs.length <= this.everyChangeUpTo || jobs.length <= this.everyChangeUpTo || state.checkpointBytes === 0 || !state.journaled;
    if (options.checkpoint || small) return this.checkpoint(state, jobs, lock);
    // Where the caller knows what may have changed (a dispatch cycle), only that is looked at.
    const known = options.changedAt !== undefined && jobs.length === state.jobs.length ? diffAt(state.jobs, jobs, options.changedAt) : undefined;
    const { jobs: changed, removed, left } = known ?? diffQueue(state.jobs, jobs);
    if (changed.length === 0 && removed.length === 0) return state;
    // At the cost of what changed (but for the first change a process writes, or while jobs name dependencies).
    const summary = summaryAfter(summaryOf(state), left, changed, () => jobs);
    const line = encodeRecord({ seq: state.seq + 1, jobs: changed, removed, summary });
    if (state.journalBytes + line.length > state.checkpointBytes * this.fraction) return this.checkpoint(state, jobs, lock);
    const written = [...jobs];
    return { ...this.append(state, line, lock), jobs: written, summary, change: known && { before: state.jobs, after: written, changedAt: known.changedAt } };
  }

  /** Appends `line` to the journal and fsyncs it; a torn line a killed writer left goes first. */
  private append(state: LogPosition, line: Buffer, lock: HeldLock): LogPosition {
    let fd: number;
    let created = false;
    try {
      try {
        fd = openSync(this.journalPath, 'r+');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        fd = openSync(this.journalPath, 'wx');
        created = true;
      }
    } catch (error) {
      throw fileSystemError(error, 'write', this.journalPath);
    }
    let stat: BigIntStats;
    try {
      stat = fstatSync(fd, { bigint: true });
      // Read under this lock, so its file and its good bytes are the ones here.
      if (!created && stat.ino !== state.journalInode) throw new Error(`${this.journalPath} changed under the lock`);
      lock.assertHeld();
      if (stat.size !== BigInt(state.journalBytes)) ftruncateSync(fd, state.journalBytes);
      let written = 0;
      while (written < line.length) written += writeSync(fd, line, written, line.length - written, state.journalBytes + written);
      fsyncSync(fd);
      if (created) fsyncDirectory(dirname(this.journalPath));
      stat = fstatSync(fd, { bigint: true });
    } catch (error) {
      throw fileSystemError(error, 'write', this.journalPath);
    } finally {
      closeSync(fd);
    }
    return {
      ...state,
      seq: state.seq + 1,
      journalInode: stat.ino,
      journalBytes: state.journalBytes + line.length,
      journalLines: state.journalLines + 1,
    };
  }

  /**
   * Rewrites queue.json whole, holding every line so far, then resets the journal if it has any
   * bytes. Version 2 when the queue is past the threshold (the next change may be a journal
   * line), else version 1: below it queue.json alone is the queue, as older queuectl expects.
   */
  async checkpoint(state: QueueState, jobs: readonly Job[], lock: HeldLock): Promise<QueueState> {
    const journaled = jobs.length > this.everyChangeUpTo;
    if (!state.journaled && state.journalBytes > 0) {
      // A stale journal (see LogPosition.journaled), whose lines may follow the seq this checkpoint
      // names (an older queuectl wrote none): gone before a version-2 checkpoint could apply them.
      state = { ...state, journalInode: this.resetJournal(lock), journalBytes: 0, journalLines: 0 };
    }
    // A journaled queue.json's head sums it up, for `status` (readSummary); a small one is read whole anyway.
    const summary = journaled ? summarizeJobs(jobs) : undefined;
    // A change that goes to queue.json without a journal line takes a number of its own: a reader
    // that applied every line up to `seq` then knows this file is not the one it holds (refolded).
    const seq = journaled && state.journaled && jobs !== state.jobs ? state.seq + 1 : state.seq;
    const parts = this.encoder.encodeParts(jobs, seq, journaled ? JOURNALED_VERSION : FORMAT_VERSION, summary, this.tailJobs);
    const stat = await writeFileDurablyAsync(this.queuePath, parts, { beforeRename: () => lock.assertHeld() });
    const written: QueueState = {
      jobs: [...jobs],
      summary,
      seq,
      journaled,
      checkpoint: versionOf(stat),
      checkpointBytes: Number(stat.size),
      journalInode: null,
      journalBytes: 0,
      journalLines: 0,
    };
    if (state.journalBytes === 0) return { ...written, journalInode: state.journalInode };
    // Only lines the checkpoint holds are in it now: a crash before this leaves them to be skipped.
    return { ...written, journalInode: this.resetJournal(lock) };
  }

  /** Renames an empty file over the journal; returns its inode. */
  private resetJournal(lock: HeldLock): bigint {
    return writeFileDurably(this.journalPath, '', { beforeRename: () => lock.assertHeld() }).ino;
  }
}
