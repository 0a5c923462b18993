/**
 * Jobs of the queue found by id without reading every job: in queue.json's bytes, each job's
 * line found by its opening (`{"id":"<id>","`, which only a line's start holds: an id's
 * alphabet has no quote), then the journal's lines that name the id, in order. What `enqueue`
 * needs of a queue of 100,000 jobs: whether an id is taken, and what became of a dependency.
 */
import type { Job } from '../../core/rules/job.js';
import { readBytesIfExists } from '../local/durable-file.js';
import { foreign as corruptCheckpoint, jobProblem } from './job-file.js';
import type { JournalRecord } from './journal.js';
import { outlineOf, type JobOutline } from './outline.js';

export interface QueueLookup {
  get(id: string): JobOutline | undefined;
  has(id: string): boolean;
}

/** A lookup over the map of a queue read in outline. */
export function lookupIn(jobs: ReadonlyMap<string, JobOutline>): QueueLookup {
  return { get: (id) => jobs.get(id), has: (id) => jobs.has(id) };
}

const NEWLINE = 0x0a;
const SEARCHES_BEFORE_INDEX = 8;
const LINE_OPEN = Buffer.from('\n{"id":"');

/** Where each job's line starts (at the newline before it), by id. */
function lineStarts(bytes: Buffer): Map<string, number> {
  const starts = new Map<string, number>();
  for (let at = bytes.indexOf(LINE_OPEN); at !== -1; at = bytes.indexOf(LINE_OPEN, at + 1)) {
    const from = at + LINE_OPEN.length;
    starts.set(bytes.toString('latin1', from, bytes.indexOf(0x22, from)), at);
  }
  return starts;
}

/**
 * A lookup in queue.json at `queuePath` and `lines`, the journal's lines after it, in order. The
 * checkpoint is read once, when first needed: under the lock, or by a reader that checks the
 * file did not change meanwhile.
 */
export class FileLookup implements QueueLookup {
  private checkpoint: Buffer | undefined;
  /** Where each job's line starts in the checkpoint, once searches for one line at a time add up (a batch's ids). */
  private lines: Map<string, number> | undefined;
  private searches = 0;
  /** Each job the journal names, as its last line naming it left it (null: it left the queue). */
  private latest: Map<string, Job | null> | undefined;

  constructor(
    private readonly queuePath: string,
    private readonly journal: readonly JournalRecord[],
    /** Whether the checkpoint may hold an id (its head's filter), when it says: a "no" spares reading it. */
    private readonly mayHold: ((id: string) => boolean) | null = null,
  ) {}

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  get(id: string): JobOutline | undefined {
    const latest = this.inJournal(id);
    if (latest !== undefined) return latest === null ? undefined : outlineOf(latest);
    const job = this.inCheckpoint(id);
    return job === undefined ? undefined : outlineOf(job);
  }

  private inCheckpoint(id: string): Job | undefined {
    if (this.mayHold !== null && !this.mayHold(id)) return undefined;
    const bytes = (this.checkpoint ??= readBytesIfExists(this.queuePath) ?? Buffer.alloc(0));
    // One search costs a pass over the bytes (12 ms over 40 MB); an index of every line, a few.
    if (this.lines === undefined && ++this.searches > SEARCHES_BEFORE_INDEX) this.lines = lineStarts(bytes);
    const at = this.lines === undefined ? bytes.indexOf(`\n{"id":"${id}","`) : (this.lines.get(id) ?? -1);
    if (at === -1) return undefined;
    const end = bytes.indexOf(NEWLINE, at + 1);
    // A line ends with "}," but the last one.
    let last = end === -1 ? bytes.length : end;
    if (bytes[last - 1] === 0x2c) last--;
    let job: unknown;
    try {
      job = JSON.parse(bytes.toString('utf8', at + 1, last));
    } catch (error) {
      job = (error as Error).message;
    }
    const problem = jobProblem(job);
    if (problem !== null) throw corruptCheckpoint(this.queuePath, `job ${id}: ${typeof job === 'string' ? job : problem}`);
    return job as Job;
  }

  /** The job as the journal's last line naming it left it: null when it left the queue, undefined when no line names it. */
  private inJournal(id: string): Job | null | undefined {
    if (this.latest === undefined) {
      this.latest = new Map();
      for (const record of this.journal) {
        for (const gone of record.removed) this.latest.set(gone, null);
        for (const job of record.jobs) this.latest.set(job.id, job);
      }
    }
    return this.latest.get(id);
  }
}
