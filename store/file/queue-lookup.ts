/**
 * Jobs of the queue found by id without reading every job: in queue.json's bytes, each job's
 * line found by its opening (`{"id":"<id>","`, which only a line's start holds: an id's
 * alphabet has no quote), then the journal's lines that name the id, in order. What `enqueue`
 * needs of a queue of 100,000 jobs: whether an id is taken, and what became of a dependency.
 */
import type { Job } from '../../core/rules/job.js';
import { readBytesIfExists } from '../local/durable-file.js';
import { foreign as corruptCheckpoint, jobProblem } from './job-file.js';
import { parseJournal, type JournalRecord } from './journal.js';
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
 * A lookup in queue.json at `queuePath` (a checkpoint that holds journal lines up to `seq`) and
 * the journal's lines after it, up to `journalBytes`. Each file is read once, when first needed;
 * under the lock, so that neither changes meanwhile.
 */
export class FileLookup implements QueueLookup {
  private checkpoint: Buffer | undefined;
  /** Where each job's line starts in the checkpoint, once searches for one line at a time add up (a batch's ids). */
  private lines: Map<string, number> | undefined;
  private searches = 0;
  private journal: { bytes: Buffer; records?: JournalRecord[] } | undefined;

  constructor(
    private readonly queuePath: string,
    private readonly journalPath: string,
    private readonly seq: number,
    private readonly journalBytes: number,
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
    if (this.journalBytes === 0) return undefined;
    const journal = (this.journal ??= { bytes: readBytesIfExists(this.journalPath)?.subarray(0, this.journalBytes) ?? Buffer.alloc(0) });
    if (journal.bytes.indexOf(`"${id}"`) === -1) return undefined;
    journal.records ??= parseJournal(journal.bytes, this.journalPath).records.filter((record) => record.seq > this.seq);
    let latest: Job | null | undefined;
    for (const record of journal.records) {
      if (record.removed.includes(id)) latest = null;
      const job = record.jobs.find((candidate) => candidate.id === id);
      if (job !== undefined) latest = job;
    }
    return latest;
  }
}
