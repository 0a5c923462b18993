/**
 * The queue in outline: for each job its id, state, queue, dependencies and times, read from the
 * head of its line in queue.json without parsing the rest (a parse of 100,000 jobs costs 0.5 s
 * and more in garbage collection; this, about a fifth of it). Enough for `status`, for `list
 * --limit`, which then parses only the lines it shows, and for `enqueue`, which checks ids and
 * dependencies.
 *
 * queue.json's writer puts these fields first on every line, in this order (job-file.ts). A file
 * in any other shape (written by hand, by `jq`, or before this order) has no outline: the caller
 * parses it whole, as before. The pattern is strict, every field in its safe alphabet, so what it
 * reads is what JSON.parse would.
 */
import { JOB_STATES, type Job, type JobState } from '../../core/rules/job.js';
import { foreign as corruptCheckpoint, jobProblem } from './job-file.js';

/** A job as its outline knows it: what `status`, `list --limit` and `enqueue` decide on. */
export interface JobOutline {
  id: string;
  state: JobState;
  queue: string;
  after: string[];
  created_at: string;
  updated_at: string;
  /** The whole job when it is at hand (from the journal), else null: see `materialize`. */
  job: Job | null;
  /** Where its line is in the checkpoint's bytes, when `job` is null. */
  start: number;
  end: number;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const HEAD = /^\{"version":([12]),(?:"seq":(\d{1,15}),)?(?:"summary":\{[^\n]*\},)?"jobs":\[/;
const AFTER = /^"[A-Za-z0-9._-]{1,128}"(?:,"[A-Za-z0-9._-]{1,128}")*$/;
const STATES = new Map<string, JobState>(JOB_STATES.map((state) => [state, state]));
const part = (text: string) => Buffer.from(text, 'latin1');
const ID_OPEN = part('{"id":"');
const STATE_OPEN = part('","state":"');
const QUEUE_OPEN = part('","queue":"');
const AFTER_OPEN = part('","after":[');
const CREATED_OPEN = part('],"created_at":"');
const UPDATED_OPEN = part('","updated_at":"');
const TWO_ON_A_LINE = part('},{"id":"');

/** A job of the checkpoint in outline: its times read from its line when asked for. */
class CheckpointJob implements JobOutline {
  readonly job = null;
  constructor(
    private readonly bytes: Buffer,
    readonly id: string,
    readonly state: JobState,
    readonly queue: string,
    readonly after: string[],
    readonly start: number,
    readonly end: number,
    private readonly created: number,
    private readonly updated: number,
  ) {}

  get created_at(): string {
    return latin1(this.bytes, this.created, this.bytes.indexOf(QUOTE, this.created));
  }

  get updated_at(): string {
    return latin1(this.bytes, this.updated, this.bytes.indexOf(QUOTE, this.updated));
  }
}

export interface CheckpointOutline {
  seq: number;
  /** Version 2: the journal beside it is in use (job-file.ts JOURNALED_VERSION). */
  journaled: boolean;
  jobs: Map<string, JobOutline>;
  /** The checkpoint's bytes, which the outlines' line positions point into. */
  bytes: Buffer;
}

/**
 * The outline of queue.json's `bytes`, or null when it is not in the writer's shape (parse it
 * whole). Byte by byte on the buffer, one short string per field it keeps: a pattern over the
 * whole text, or a string for each field, cost as much as the parse it saves.
 */
export function outlineCheckpoint(bytes: Buffer): CheckpointOutline | null {
  // The head is its first line (the summary in it has no newline), or the whole file when it holds no job.
  const firstLine = bytes.indexOf(NEWLINE);
  const head = HEAD.exec(latin1(bytes, 0, firstLine === -1 ? bytes.length : firstLine));
  if (head === null) return null;
  const journaled = head[1] === '2';
  const seq = head[2] === undefined ? 0 : Number(head[2]);
  // Two jobs on a line: outside a string (where quotes are escaped) only between two objects.
  if (bytes.indexOf(TWO_ON_A_LINE, head[0].length) !== -1) return null;
  const jobs = new Map<string, JobOutline>();
  let at = head[0].length;
  if (bytes[at] === 0x5d) return isEnd(bytes, at) ? { seq, journaled, jobs, bytes } : null; // "]}": no jobs
  if (bytes[at] !== NEWLINE) return null;
  at++;
  let lastQueue = { start: 0, end: 0, name: '' };
  for (;;) {
    const end = bytes.indexOf(NEWLINE, at);
    if (end === -1 || !opens(bytes, at, ID_OPEN)) return null;
    const idEnd = safeId(bytes, at + ID_OPEN.length);
    if (idEnd === -1 || !opens(bytes, idEnd, STATE_OPEN)) return null;
    const stateStart = idEnd + STATE_OPEN.length;
    const stateEnd = bytes.indexOf(QUOTE, stateStart);
    const state = STATES.get(latin1(bytes, stateStart, stateEnd));
    if (state === undefined || !opens(bytes, stateEnd, QUEUE_OPEN)) return null;
    const queueStart = stateEnd + QUEUE_OPEN.length;
    const queueEnd = safeId(bytes, queueStart);
    if (queueEnd === -1 || !opens(bytes, queueEnd, AFTER_OPEN)) return null;
    // Jobs of one queue come in runs: one string for the run.
    if (queueEnd - queueStart !== lastQueue.end - lastQueue.start || !sameBytes(bytes, lastQueue.start, queueStart, queueEnd - queueStart)) {
      lastQueue = { start: queueStart, end: queueEnd, name: bytes.toString('latin1', queueStart, queueEnd) };
    }
    const afterStart = queueEnd + AFTER_OPEN.length;
    const afterEnd = bytes.indexOf(0x5d, afterStart);
    let after = NONE;
    if (afterEnd !== afterStart) {
      const list = afterEnd === -1 ? '' : latin1(bytes, afterStart, afterEnd);
      if (!AFTER.test(list)) return null;
      after = JSON.parse(`[${list}]`) as string[];
    }
    if (!opens(bytes, afterEnd, CREATED_OPEN)) return null;
    const created = afterEnd + CREATED_OPEN.length;
    const createdEnd = bytes.indexOf(QUOTE, created);
    if (createdEnd === -1 || createdEnd > end || !opens(bytes, createdEnd, UPDATED_OPEN)) return null;
    const updated = createdEnd + UPDATED_OPEN.length;
    const updatedEnd = bytes.indexOf(QUOTE, updated);
    if (updatedEnd === -1 || updatedEnd > end || (bytes[updatedEnd + 1] !== 0x2c && bytes[updatedEnd + 1] !== 0x7d)) return null;
    const last = bytes[end - 1] !== 0x2c; // a line ends with "}," but the last
    const lineEnd = last ? end : end - 1;
    if (bytes[lineEnd - 1] !== 0x7d) return null;
    const id = latin1(bytes, at + ID_OPEN.length, idEnd);
    if (jobs.has(id)) return null; // not for the outline to judge
    jobs.set(id, new CheckpointJob(bytes, id, state, lastQueue.name, after, at, lineEnd, created, updated));
    at = end + 1;
    if (last) return isEnd(bytes, at) ? { seq, journaled, jobs, bytes } : null;
  }
}

const NONE: string[] = [];

function sameBytes(bytes: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

/** Whether `bytes` hold `part` at `at` (a loop: Buffer.compare's checks cost more than these few bytes). */
function opens(bytes: Buffer, at: number, part: Buffer): boolean {
  if (at < 0 || at + part.length > bytes.length) return false;
  for (let i = 0; i < part.length; i++) if (bytes[at + i] !== part[i]) return false;
  return true;
}

/** bytes.toString('latin1', start, end) without its argument checks, which cost more than the copy here. */
function latin1(bytes: Buffer, start: number, end: number): string {
  return (bytes as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);
}

/** The end (a quote) of an id or queue name of the safe alphabet starting at `at`, or -1. */
function safeId(bytes: Buffer, at: number): number {
  for (let i = at; i < at + 129 && i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) return i > at ? i : -1;
    const safe = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e || c === 0x5f || c === 0x2d;
    if (!safe) return -1;
  }
  return -1;
}

function isEnd(bytes: Buffer, at: number): boolean {
  return bytes.length - at <= 16 && bytes.toString('latin1', at, bytes.length).trim() === ']}';
}

/** The outline of a whole job (from the journal, or a checkpoint parsed whole). */
export function outlineOf(job: Job): JobOutline {
  return {
    id: job.id,
    state: job.state,
    queue: job.queue ?? 'default',
    after: job.after ?? [],
    created_at: job.created_at,
    updated_at: job.updated_at,
    job,
    start: 0,
    end: 0,
  };
}

/** The whole job of an outline: its own, or its line of the checkpoint parsed. */
export function materialize(outline: JobOutline, bytes: Buffer | null, path: string): Job {
  if (outline.job !== null) return outline.job;
  const line = bytes?.toString('utf8', outline.start, outline.end) ?? '';
  let job: unknown;
  try {
    job = JSON.parse(line);
  } catch (error) {
    job = (error as Error).message;
  }
  const problem = jobProblem(job);
  if (problem !== null) throw corruptCheckpoint(path, `job ${outline.id}: ${typeof job === 'string' ? job : problem}`);
  return job as Job;
}
