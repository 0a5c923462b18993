/**
 * `queue.journal`, the log of changes beside the checkpoint `queue.json` (see queue-log.ts). One
 * line per transaction, appended under the lock and fsynced before the transaction counts:
 *
 *   {"seq":8,"jobs":[{…whole job…},…],"removed":["id",…],"summary":{…}}
 *
 * `jobs` are the jobs the transaction added or changed, whole, in queue order; `removed` the ids
 * that left queue.json (to dlq.json, the archive, or deleted). Applying a line removes first,
 * then puts each job in place of the one with its id, or at the end. `seq` numbers the lines:
 * the checkpoint names the last one it holds, so lines left by a crash between a checkpoint's
 * rename and the journal's reset are skipped, never applied twice. `summary` is the queue summed
 * up after the line (rules/summary.ts): `status` reads the last line, not the queue.
 *
 * A line is written whole by one write() call, but a process killed in the middle of it leaves
 * part of it: the bytes after the last newline, or a last line that is not JSON. That line was
 * never acknowledged (its fsync had not returned): it is ignored, and the next writer cuts it
 * off before appending. Anything wrong before the last line is corruption, reported with the
 * path and never written over.
 */
import { QueuectlError } from '../../core/rules/errors.js';
import { jobProblem } from './job-file.js';
import type { JobsSummary } from '../../core/rules/summary.js';
import type { QueueChange } from './queue-diff.js';

export interface JournalRecord extends QueueChange {
  seq: number;
  /** The queue summed up after this line (rules/summary.ts), for `status` to read from the last line alone. Absent from lines of before it. */
  summary?: JobsSummary;
}

export interface JournalRead {
  records: JournalRecord[];
  /** Bytes of `buffer` up to the end of the last good line: where the next line is to go. */
  consumed: number;
}

const NEWLINE = 0x0a;

/** The line of one transaction, newline included. */
export function encodeRecord(record: JournalRecord): Buffer {
  const head = `{"seq":${record.seq},"jobs":[`;
  const jobs = record.jobs.map((job) => JSON.stringify(job)).join(',');
  const summary = record.summary === undefined ? '' : `,"summary":${JSON.stringify(record.summary)}`;
  return Buffer.from(`${head}${jobs}],"removed":${JSON.stringify(record.removed)}${summary}}\n`);
}

export function corruptJournal(path: string, line: number, why: string): QueuectlError {
  return new QueuectlError(
    `${path} is corrupt at line ${line} (${why}); queuectl will not overwrite it: fix it or move it away`,
    'ECORRUPT',
  );
}

/**
 * The records of `buffer` (journal bytes from a line's start), the torn last line left out.
 * `firstLine` numbers the first line of `buffer` in the file, for messages.
 */
export function parseJournal(buffer: Buffer, path: string, firstLine = 1): JournalRead {
  const records: JournalRecord[] = [];
  let start = 0;
  let consumed = 0;
  for (let line = firstLine; start < buffer.length; line++) {
    const end = buffer.indexOf(NEWLINE, start);
    if (end === -1) break; // torn: no newline yet, or never
    let value: unknown;
    try {
      value = JSON.parse(buffer.toString('utf8', start, end));
    } catch (error) {
      // The last line, cut short by a kill: never acknowledged.
      if (buffer.indexOf(NEWLINE, end + 1) === -1) break;
      throw corruptJournal(path, line, `not JSON: ${(error as Error).message}`);
    }
    const problem = recordProblem(value);
    if (problem !== null) throw corruptJournal(path, line, problem);
    records.push(value as JournalRecord);
    start = end + 1;
    consumed = start;
  }
  return { records, consumed };
}

function recordProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const { seq, jobs, removed, summary } = value as Record<string, unknown>;
  if (summary !== undefined && !isSummary(summary)) return '"summary" is not a summary of jobs';
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return `"seq" is not a whole number from 1 up: ${JSON.stringify(seq)}`;
  if (!Array.isArray(jobs)) return '"jobs" is not an array';
  if (!Array.isArray(removed) || removed.some((id) => typeof id !== 'string')) return '"removed" is not an array of ids';
  for (let i = 0; i < jobs.length; i++) {
    const problem = jobProblem(jobs[i]);
    if (problem !== null) return `job ${i + 1}: ${problem}`;
  }
  return null;
}

/** The shape of a summary as written (rules/summary.ts): enough that a reader can trust its fields' types. */
export function isSummary(value: unknown): value is JobsSummary {
  if (typeof value !== 'object' || value === null) return false;
  const { queues, running, waiting, dependents } = value as Record<string, unknown>;
  if (typeof queues !== 'object' || queues === null || !Array.isArray(running) || typeof dependents !== 'number') return false;
  if (typeof waiting !== 'object' || waiting === null) return false;
  const { jobs, after } = waiting as Record<string, unknown>;
  return typeof jobs === 'number' && Array.isArray(after) && Object.values(queues).every((counts) => typeof counts === 'object' && counts !== null);
}
