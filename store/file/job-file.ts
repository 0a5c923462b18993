/**
 * The format of queue.json, dlq.json and archive files: `{"version": 1, "jobs": [ … ]}`,
 * one job per line so that `less` and `grep` work as well as `jq`.
 */
import { QueuectlError } from '../../core/rules/errors.js';
import { isJobState, type Job } from '../../core/rules/job.js';
import type { JobsSummary } from '../../core/rules/summary.js';
import { idFilter } from './id-filter.js';

export const FORMAT_VERSION = 1;
/**
 * queue.json's version while its journal is in use (queue-log.ts): an older queuectl, which
 * knows nothing of the journal, refuses it ("version 2, expected 1") rather than rewrite it and
 * drop the journal's changes. Below the journal's threshold queue.json is version 1, as ever.
 */
export const JOURNALED_VERSION = 2;

/**
 * Each job's line, UTF-8 encoded, kept for as long as the job object lives. Jobs are never
 * mutated (every transition makes a new object), so a line stays right, and a file where one
 * job changed costs the encoding of that job alone.
 */
const lines = new WeakMap<Job, Buffer>();
const HEAD = Buffer.from(`{"version":${FORMAT_VERSION},"jobs":[\n`);
const SEPARATOR = Buffer.from(',\n');
const TAIL = Buffer.from('\n]}\n');
const EMPTY = Buffer.from(`{"version":${FORMAT_VERSION},"jobs":[]}\n`);
/** Jobs per cached block of a file. */
const BLOCK = 256;

function lineOf(job: Job): Buffer {
  let line = lines.get(job);
  if (line === undefined) {
    // The fields of a job's outline first, in its order (outline.ts): readers that need only
    // them read the head of the line and parse nothing else.
    const { id, state, queue, after, created_at, updated_at, ...rest } = job;
    line = Buffer.from(JSON.stringify({ id, state, queue, after, created_at, updated_at, ...rest }));
    lines.set(job, line);
  }
  return line;
}

/**
 * Takes each job's line from `bytes`, the file `jobs` were parsed from, when it holds one job per
 * line as the writer puts them: a checkpoint after a parse then encodes only the jobs that
 * changed since (at 100,000 jobs, the rest costs half a second). The bytes are the line the job
 * was parsed from, so they are that job whatever their layout.
 */
export function rememberLines(jobs: readonly Job[], bytes: Buffer): void {
  let start = bytes.indexOf(0x0a) + 1;
  if (start === 0) return;
  const found: Buffer[] = [];
  for (let i = 0; i < jobs.length; i++) {
    const end = bytes.indexOf(0x0a, start);
    if (end === -1) return;
    const last = i === jobs.length - 1;
    // Each line but the last ends with the comma that separates it from the next.
    if (bytes[end - 1] !== (last ? 0x7d : 0x2c)) return;
    found.push(bytes.subarray(start, last ? end : end - 1));
    start = end + 1;
  }
  if (bytes.toString('latin1', start).trim() !== ']}') return;
  jobs.forEach((job, i) => lines.set(job, found[i]!));
}

function encodeBlock(jobs: readonly Job[]): Buffer {
  const parts: Buffer[] = [];
  jobs.forEach((job, index) => {
    if (index > 0) parts.push(SEPARATOR);
    parts.push(lineOf(job));
  });
  return Buffer.concat(parts);
}

/** The file's bytes: `{"version":1,"jobs":[` then one job per line. */
export function serializeJobs(jobs: readonly Job[]): Buffer {
  return new JobFileEncoder().encode(jobs);
}

/**
 * Encodes one file again and again, reusing what did not change: the jobs sit in blocks of
 * 256 by position, and a block whose jobs are all the same objects as last time is reused
 * whole. Joining 10,000 cached lines one by one costs more than the write itself (measured:
 * ~17 ms a cycle); joining 40 blocks, of which a cycle typically changes one or two, does not.
 */
export class JobFileEncoder {
  private blocks: { jobs: readonly Job[]; bytes: Buffer }[] = [];

  encode(jobs: readonly Job[]): Buffer {
    return Buffer.concat(this.encodeParts(jobs));
  }

  /**
   * The file's bytes in parts, to be written as they are (writev), without joining megabytes first.
   * `seq`: for queue.json, the last line of queue.journal it holds (see queue-log.ts); written
   * into its head once there was one, so that a file that never had a journal reads as before.
   * `version`: JOURNALED_VERSION for a queue.json whose journal is in use. `summary`: the jobs
   * summed up, for `status` to read from the head alone (queue-log.ts readSummary), with where
   * the last `tailJobs` jobs start, for `list --limit` (tailOf), and which ids it may hold, for
   * `enqueue` (id-filter.ts).
   */
  encodeParts(jobs: readonly Job[], seq = 0, version = FORMAT_VERSION, summary?: JobsSummary, tailJobs = TAIL_JOBS): Buffer[] {
    const plain = seq === 0 && version === FORMAT_VERSION && summary === undefined;
    const described =
      summary === undefined
        ? ''
        : `"summary":${JSON.stringify(summary)},"tail":${JSON.stringify(tailOf(jobs, tailJobs))},"id_filter":${JSON.stringify(idFilter(jobs.map((job) => job.id), jobs.length))},`;
    const head = `{"version":${version},${seq === 0 ? '' : `"seq":${seq},`}${described}"jobs":[`;
    if (jobs.length === 0) return [plain ? EMPTY : Buffer.from(`${head}]}\n`)];
    const blocks: { jobs: readonly Job[]; bytes: Buffer }[] = [];
    const parts: Buffer[] = [plain ? HEAD : Buffer.from(`${head}\n`)];
    for (let start = 0, index = 0; start < jobs.length; start += BLOCK, index++) {
      const slice = jobs.slice(start, start + BLOCK);
      const cached = this.blocks[index];
      const block = cached && sameJobs(cached.jobs, slice) ? cached : { jobs: slice, bytes: encodeBlock(slice) };
      blocks.push(block);
      if (index > 0) parts.push(SEPARATOR);
      parts.push(block.bytes);
    }
    parts.push(TAIL);
    this.blocks = blocks;
    return parts;
  }
}

/** The jobs at the end of queue.json that `list --limit` reads (queue-log.ts readTail). */
export const TAIL_JOBS = 1_000;

/**
 * Where the last TAIL_JOBS jobs start (`from`: bytes after the head's line), and `bound`, the
 * latest enqueue time of the jobs before them: a listing of the most recent jobs that are all
 * enqueued at `bound` or later needs no job before `from`.
 */
export interface QueueTail {
  from: number;
  bound: string;
}

function tailOf(jobs: readonly Job[], tailJobs: number): QueueTail {
  let from = 0;
  let bound = '';
  for (let i = 0; i < jobs.length - tailJobs; i++) {
    const job = jobs[i]!;
    if (job.created_at > bound) bound = job.created_at;
    from += lineOf(job).length + SEPARATOR.length;
  }
  return { from, bound };
}

function sameJobs(a: readonly Job[], b: readonly Job[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function foreign(path: string, why: string): QueuectlError {
  return new QueuectlError(
    `${path} is not a queuectl job file (${why}); queuectl will not overwrite it: fix it or move it away`,
    'ECORRUPT',
  );
}

/**
 * queue.json: its jobs, `seq`, the last journal line it holds (0 when it names none), and
 * `journaled`, whether it is version 2: only then does the journal beside it hold changes.
 */
export function parseCheckpoint(doc: unknown, path: string): { seq: number; jobs: Job[]; journaled: boolean } {
  const journaled = doc !== undefined && (doc as { version?: unknown } | null)?.version === JOURNALED_VERSION;
  const jobs = parseJobDocument(doc, path, journaled ? JOURNALED_VERSION : FORMAT_VERSION);
  const seq = doc === undefined ? undefined : (doc as { seq?: unknown }).seq;
  if (seq === undefined) return { seq: 0, jobs, journaled };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw foreign(path, `"seq" is not a whole number: ${JSON.stringify(seq)}`);
  return { seq, jobs, journaled };
}

/**
 * Checks the parsed document's shape: the version, and for each job the fields every reader
 * relies on. A file that fails is reported with its path and never written over.
 */
export function parseJobDocument(doc: unknown, path: string, expected = FORMAT_VERSION): Job[] {
  if (doc === undefined) return [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw foreign(path, 'not an object');
  const { version, jobs } = doc as { version?: unknown; jobs?: unknown };
  if (version !== expected) throw foreign(path, `version ${JSON.stringify(version)}, expected ${expected}`);
  if (!Array.isArray(jobs)) throw foreign(path, '"jobs" is not an array');
  jobs.forEach((job: unknown, index) => {
    const problem = jobProblem(job);
    if (problem) throw foreign(path, `job ${index + 1}: ${problem}`);
  });
  return jobs as Job[];
}

/**
 * The jobs of `bytes`, whole lines of queue.json's jobs as its writer puts them (one per line,
 * each but the last followed by a comma), up to the file's end (`]}`).
 */
export function parseLines(bytes: Buffer, path: string): Job[] {
  const jobs: Job[] = [];
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    let last = end;
    if (bytes[last - 1] === 0x2c) last--;
    const text = bytes.toString('utf8', start, last);
    start = end + 1;
    if (text === ']}') break;
    let job: unknown;
    try {
      job = JSON.parse(text);
    } catch (error) {
      throw foreign(path, (error as Error).message);
    }
    const problem = jobProblem(job);
    if (problem !== null) throw foreign(path, `job ${jobs.length + 1} of its tail: ${problem}`);
    jobs.push(job as Job);
  }
  return jobs;
}

export function jobProblem(job: unknown): string | null {
  if (typeof job !== 'object' || job === null) return 'not an object';
  const j = job as Record<string, unknown>;
  if (typeof j.id !== 'string') return '"id" is not a string';
  if (typeof j.state !== 'string' || !isJobState(j.state)) return `unknown state ${JSON.stringify(j.state)}`;
  if (typeof j.command !== 'string') return '"command" is not a string';
  if (typeof j.run_at !== 'string') return '"run_at" is not a string';
  if (typeof j.attempts !== 'number' || typeof j.max_retries !== 'number' || typeof j.priority !== 'number') {
    return '"attempts", "max_retries" or "priority" is not a number';
  }
  if (j.state === 'processing' && (typeof j.lease !== 'object' || j.lease === null)) return 'processing without a lease';
  // It names a file in envs/: nothing else may get into that path.
  if (j.env_id !== undefined && j.env_id !== null && (typeof j.env_id !== 'string' || !/^[0-9a-f]{32}$/.test(j.env_id))) {
    return `"env_id" is not an environment id: ${JSON.stringify(j.env_id)}`;
  }
  return null;
}
