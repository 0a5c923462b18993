/**
 * The windows of the checkpoint and its journal, set up on disk as a crash or a race leaves
 * them: a torn append, a checkpoint renamed but its journal not reset, a reader between the two
 * files while a checkpoint happens, a corrupt journal.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import { completedJob, pendingJob } from '../../test/sample-jobs.js';
import { parseJobDocument } from './job-file.js';
import { summarizeJobs } from '../../core/rules/summary.js';
import { QueueLog, type QueueState } from './queue-log.js';

const held = { assertHeld: () => undefined };
const journalOnly = { everyChangeUpTo: 0, fraction: Infinity };
const ids = (state: QueueState | Job[]) => ('jobs' in state ? state.jobs : state).map((job) => `${job.id}:${job.state}`);

function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const queue = join(dir, 'queue.json');
  const journal = join(dir, 'queue.journal');
  const log = new QueueLog(queue, journal, journalOnly);
  /** A reader with nothing cached, as a new process is. */
  const fresh = () => new QueueLog(queue, journal, journalOnly).read(undefined, false);
  return { dir, queue, journal, log, fresh };
}

/** A reader of queue.json and its journal between whose reads a writer's new files land (renamed in, once). */
function landingBetweenReads(queue: string, journal: string, newCheckpoint: Buffer, newJournal: Buffer) {
  let landed = false;
  const reader = new QueueLog(queue, journal, journalOnly, () => {
    if (landed) return;
    landed = true;
    writeFileSync(`${queue}.1`, newCheckpoint);
    renameSync(`${queue}.1`, queue);
    writeFileSync(`${journal}.1`, newJournal);
    renameSync(`${journal}.1`, journal);
  });
  return { reader, landed: () => landed };
}

/** [a, b, c] checkpointed, then three journaled changes: b completes, a moves to the end changed, d comes. */
async function journaled(log: QueueLog) {
  const [a, b, c] = ['a', 'b', 'c'].map((id) => pendingJob(id)) as [Job, Job, Job];
  let state = await log.write(log.read(undefined, true), [a, b, c], held);
  state = await log.write(state, [a, completedJob('b'), c], held);
  const movedA = completedJob('a');
  state = await log.write(state, [state.jobs[1]!, c, movedA], held);
  state = await log.write(state, [...state.jobs, pendingJob('d')], held);
  return state;
}

test('with the journal on, a change appends one line and leaves queue.json alone; a new reader sees checkpoint plus journal', async (t) => {
  const { queue, journal, log, fresh } = setup(t);
  const state = await journaled(log);
  const checkpoint = readFileSync(queue, 'utf8');
  assert.deepEqual(JSON.parse(checkpoint).jobs.map((job: Job) => job.id), ['a', 'b', 'c'], 'queue.json is the checkpoint');
  assert.equal(readFileSync(journal, 'utf8').trimEnd().split('\n').length, 3);
  assert.equal(state.seq, 3);
  assert.deepEqual(ids(fresh()), ['b:completed', 'c:pending', 'a:completed', 'd:pending']);
});

test('a process killed in the middle of a journal append: readers ignore the torn line, the next writer cuts it off and appends', async (t) => {
  const { queue, journal, log, fresh } = setup(t);
  const state = await journaled(log);
  const good = statSync(journal).size;
  // The first half of the line a killed writer was appending (one write() call, cut short).
  appendFileSync(journal, '{"seq":4,"jobs":[{"id":"e","command":"tr');
  assert.deepEqual(ids(fresh()), ids(state), 'the torn line changes nothing');
  const reread = new QueueLog(queue, journal, journalOnly).read(undefined, true);
  const next = await log.write(reread, [...reread.jobs, pendingJob('f')], held);
  assert.equal(next.seq, 4, 'the torn line took no number');
  const lines = readFileSync(journal, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'the journal ends with a newline');
  for (const line of lines) JSON.parse(line); // every line whole
  assert.equal(statSync(journal).size, good + Buffer.byteLength(`${lines.at(-1)}\n`));
  assert.deepEqual(ids(fresh()), [...ids(state), 'f:pending']);
});

test('a process killed during a checkpoint, after the rename and before the journal reset: the lines queue.json holds are not applied again', async (t) => {
  const { queue, journal, log, fresh } = setup(t);
  const state = await journaled(log);
  const left = readFileSync(journal);
  const checkpointed = await log.checkpoint(state, state.jobs, held);
  assert.equal(readFileSync(journal).length, 0, 'a whole checkpoint resets the journal');
  // The crash: queue.json renamed, the journal as it was before its reset.
  writeFileSync(journal, left);
  // Applied again, the line that moved "a" to the end would move it past "c" and "d".
  assert.deepEqual(ids(fresh()), ['b:completed', 'c:pending', 'a:completed', 'd:pending']);
  // The next change follows the lines already there, numbered after them.
  const reread = new QueueLog(queue, journal, journalOnly).read(undefined, true);
  assert.equal(reread.seq, checkpointed.seq);
  const next = await log.write(reread, [...reread.jobs, pendingJob('e')], held);
  assert.equal(next.seq, 4);
  assert.deepEqual(ids(fresh()), ['b:completed', 'c:pending', 'a:completed', 'd:pending', 'e:pending']);
});

test('a reader between queue.json and the journal while a checkpoint and a new append happen reads again: never the old checkpoint with the new lines (a whole read, the summary, the tail)', async (t) => {
  const { queue, journal, log } = setup(t);
  const state = await journaled(log);
  // What a writer leaves: a new checkpoint, then a reset journal with one new line.
  const oldCheckpoint = readFileSync(queue);
  const oldJournal = readFileSync(journal);
  const writer = new QueueLog(queue, journal, journalOnly);
  const checkpointed = await writer.checkpoint(state, state.jobs, held);
  const folded = readFileSync(queue);
  const after = await writer.write(checkpointed, [...checkpointed.jobs, pendingJob('late')], held);
  const newCheckpoint = readFileSync(queue);
  const newJournal = readFileSync(journal);
  assert.deepEqual(ids(after).slice(-1), ['late:pending']);
  for (const read of ['whole', 'summary', 'tail'] as const) {
    // Back to the files before, for the reader to start on; the writer's files land between its two reads.
    writeFileSync(queue, oldCheckpoint);
    writeFileSync(journal, oldJournal);
    const { reader, landed } = landingBetweenReads(queue, journal, newCheckpoint, newJournal);
    if (read === 'whole') assert.deepEqual(ids(reader.read(undefined, false)), ids(after), 'read again: the new checkpoint with its journal');
    else if (read === 'summary') assert.deepEqual(reader.readSummary(), summarizeJobs(after.jobs));
    else assert.deepEqual(ids(reader.readTail()!.jobs), ids(after));
    assert.ok(landed(), read);
  }
  // The checkpoint alone landing (its journal reset, empty): the old head's summary lacks the lines it folded in.
  writeFileSync(queue, oldCheckpoint);
  writeFileSync(journal, oldJournal);
  const { reader, landed } = landingBetweenReads(queue, journal, folded, Buffer.alloc(0));
  assert.deepEqual(reader.readSummary(), summarizeJobs(checkpointed.jobs));
  assert.ok(landed());
});

test('a corrupt journal line before the last is reported with the path, under the lock as without it, and the journal is left as it is', async (t) => {
  const { journal, log, fresh } = setup(t);
  await journaled(log);
  const lines = readFileSync(journal, 'utf8').split('\n');
  lines[1] = lines[1]!.slice(0, 30);
  writeFileSync(journal, lines.join('\n'));
  const bytes = readFileSync(journal);
  assert.throws(() => fresh(), new RegExp(`${journal} is corrupt at line 2 .*will not overwrite it`));
  assert.throws(() => log.read(undefined, true), /corrupt at line 2/);
  assert.deepEqual(readFileSync(journal), bytes);
});

test('a line missing from the journal (a gap in seq) is corruption for a writer under the lock', async (t) => {
  const { journal, log } = setup(t);
  await journaled(log);
  const lines = readFileSync(journal, 'utf8').split('\n');
  lines.splice(1, 1);
  writeFileSync(journal, lines.join('\n'));
  assert.throws(() => log.read(undefined, true), /corrupt at line 2 \("seq" 3 follows 1\)/);
});

/** What an older queuectl does with queue.json: it accepts version 1 only (job-file.ts before the journal). */
const olderReader = (queue: string) => parseJobDocument(JSON.parse(readFileSync(queue, 'utf8')), queue);
const versionOf = (queue: string) => (JSON.parse(readFileSync(queue, 'utf8')) as { version: unknown }).version;
/** Journal lines queue.json does not hold yet: changes an older queuectl, ignoring the journal, would drop. */
function pendingLines(queue: string, journal: string): number {
  const seq = (JSON.parse(readFileSync(queue, 'utf8')) as { seq?: number }).seq ?? 0;
  let text = '';
  try {
    text = readFileSync(journal, 'utf8');
  } catch {
    return 0;
  }
  return text.split('\n').filter((line) => line !== '' && (JSON.parse(line) as { seq: number }).seq > seq).length;
}

test('queue.json says version 2 while the journal is in use, which an older queuectl refuses; at or below the threshold it is version 1 again, the journal folded in', async (t) => {
  const { queue, journal } = setup(t);
  const log = new QueueLog(queue, journal, { everyChangeUpTo: 3, fraction: Infinity });
  const jobs = ['a', 'b', 'c', 'd', 'e'].map((id) => pendingJob(id));
  /** After every step: no line queue.json lacks next to a queue.json an older queuectl would take and rewrite. */
  const safe = () => {
    if (pendingLines(queue, journal) > 0) assert.throws(() => olderReader(queue), /version 2, expected 1/);
  };
  let state = await log.write(log.read(undefined, true), jobs.slice(0, 3), held);
  assert.equal(versionOf(queue), 1, 'a small queue stays readable by older queuectl');
  olderReader(queue);
  state = await log.write(state, jobs.slice(0, 4), held); // crosses the threshold: a checkpoint
  assert.equal(versionOf(queue), 2);
  assert.throws(() => olderReader(queue), new RegExp(`${queue} is not a queuectl job file \\(version 2, expected 1\\)`));
  state = await log.write(state, jobs, held); // journaled
  assert.equal(pendingLines(queue, journal), 1);
  safe();
  state = await log.write(state, jobs.slice(0, 3), held); // shrinks, journaled: the queue it starts from is large
  safe();
  state = await log.write(state, [...jobs.slice(0, 2), completedJob('c')], held); // from a small queue: a checkpoint
  assert.equal(versionOf(queue), 1, 'back below the threshold, version 1');
  assert.equal(readFileSync(journal).length, 0, 'the journal folded in and reset');
  assert.deepEqual(olderReader(queue).map((job) => `${job.id}:${job.state}`), ['a:pending', 'b:pending', 'c:completed']);
  assert.deepEqual(ids(new QueueLog(queue, journal).read(undefined, false)), ids(state));
});

test('a large queue.json of version 1 (an older queuectl wrote it) gets no journal line: the first change rewrites it as version 2', async (t) => {
  const { queue, journal } = setup(t);
  const jobs = ['a', 'b', 'c', 'd', 'e'].map((id) => pendingJob(id));
  writeFileSync(queue, `{"version":1,"jobs":[\n${jobs.map((job) => JSON.stringify(job)).join(',\n')}\n]}\n`);
  const log = new QueueLog(queue, journal, { everyChangeUpTo: 3, fraction: Infinity });
  const state = await log.write(log.read(undefined, true), [...jobs, pendingJob('f')], held);
  assert.equal(pendingLines(queue, journal), 0, 'nothing in a journal an older queuectl would ignore');
  assert.equal(versionOf(queue), 2);
  const next = await log.write(state, [...state.jobs, pendingJob('g')], held);
  assert.equal(pendingLines(queue, journal), 1, 'from then on, journaled');
  writeFileSync(queue, `{"version":1,"jobs":[\n${next.jobs.map((job) => JSON.stringify(job)).join(',\n')}\n]}\n`);
  writeFileSync(journal, '');
  assert.equal(log.readLight(held), null, "enqueue reads it whole: a version 1 queue.json has no summary, and its change is a checkpoint");
  assert.deepEqual(ids(new QueueLog(queue, journal).read(undefined, false)), ids(next));
});

test('a stale journal beside a version-1 queue.json (a crash before its reset) is never applied, even after an older queuectl rewrote queue.json without "seq"', async (t) => {
  const { queue, journal } = setup(t);
  const log = new QueueLog(queue, journal, { everyChangeUpTo: 3, fraction: Infinity });
  const jobs = ['a', 'b', 'c', 'd'].map((id) => pendingJob(id));
  let state = await log.write(log.read(undefined, true), jobs, held); // version 2, seq 0
  state = await log.write(state, [...jobs, pendingJob('e')], held); // line 1
  state = await log.write(state, jobs.slice(0, 3), held); // line 2: d and e leave
  const left = readFileSync(journal);
  state = await log.write(state, jobs.slice(0, 3), held);
  await log.checkpoint(state, state.jobs, held); // version 1, journal reset
  assert.equal(versionOf(queue), 1);
  writeFileSync(journal, left); // the crash: the journal as it was before its reset
  // An older queuectl completes "a" and rewrites queue.json as it always did: version 1, no "seq".
  writeFileSync(queue, `{"version":1,"jobs":[\n${[completedJob('a'), jobs[1], jobs[2]].map((job) => JSON.stringify(job)).join(',\n')}\n]}\n`);
  const expected = ['a:completed', 'b:pending', 'c:pending'];
  assert.deepEqual(ids(new QueueLog(queue, journal).read(undefined, false)), expected, 'lines 1 and 2 are not applied to it');
  assert.deepEqual([...new QueueLog(queue, journal).readOutline(false).jobs.values()].map((job) => `${job.id}:${job.state}`), expected);
  // The next change that makes the queue large writes version 2, and the stale lines are gone first.
  const reread = log.read(undefined, true);
  const grown = await log.write(reread, [...reread.jobs, pendingJob('x'), pendingJob('y')], held);
  assert.equal(versionOf(queue), 2);
  assert.equal(readFileSync(journal).length, 0);
  assert.deepEqual(ids(new QueueLog(queue, journal).read(undefined, false)), [...expected, 'x:pending', 'y:pending']);
  assert.deepEqual(ids(grown), [...expected, 'x:pending', 'y:pending']);
});

/** What the light reads say (summary, tail, and an enqueue's lookup), against the queue read whole by a fresh reader. */
function lightMatchesWhole(queue: string, journal: string, why: string) {
  const reader = new QueueLog(queue, journal, journalOnly);
  const whole = reader.read(undefined, false).jobs;
  const summary = reader.readSummary();
  if (summary !== null) assert.deepEqual(summary, summarizeJobs(whole), `${why}: summary`);
  const tail = reader.readTail();
  if (tail !== null) assert.deepEqual(ids(tail.jobs), ids(whole), `${why}: tail (all of a small queue)`);
  const light = reader.readLight(held);
  if (light !== null) for (const job of whole) assert.equal(light.lookup.get(job.id)?.state, job.state, `${why}: lookup of ${job.id}`);
  return { summary, tail, light };
}

test('the light reads (summary, tail, lookup) across the windows: a torn append, lines a crash left after a checkpoint, a reader mid-checkpoint', async (t) => {
  const { queue, journal, log } = setup(t);
  const state = await journaled(log);
  assert.notEqual(lightMatchesWhole(queue, journal, 'journaled').summary, null, 'a journaled queue is summed up at its ends');
  // Torn by a kill mid-append: the line before it is the last word.
  appendFileSync(journal, '{"seq":4,"jobs":[{"id":"e","command":"tr');
  assert.notEqual(lightMatchesWhole(queue, journal, 'torn').summary, null);
  // A light writer (enqueue) cuts the torn line off and appends after the last whole one.
  const light = new QueueLog(queue, journal, journalOnly).readLight(held)!;
  assert.ok(log.add(light, [pendingJob('e')], held));
  assert.deepEqual(ids(lightMatchesWhole(queue, journal, 'appended after a torn line').tail!.jobs).slice(-1), ['e:pending']);
  // A last line that is not JSON though whole (its newline made it to disk): torn, as for a whole read.
  const before = readFileSync(journal);
  appendFileSync(journal, '{"seq":6,"jobs":[ garbage\n');
  assert.notEqual(lightMatchesWhole(queue, journal, 'garbage last line').summary, null);
  // The same line before another: corruption, which every light read reports as the whole read does, and enqueue writes nothing after.
  appendFileSync(journal, before.toString().split('\n').at(-2)! + '\n');
  const corrupt = readFileSync(journal);
  const reader = new QueueLog(queue, journal, journalOnly);
  for (const read of [() => reader.read(undefined, false), () => reader.readSummary(), () => reader.readTail(), () => reader.readLight(held)]) {
    assert.throws(read, /queue\.journal is corrupt at line \d+ \(not JSON/);
  }
  assert.ok(readFileSync(journal).equals(corrupt));
  writeFileSync(journal, before);
  // queue.json cut short: the light reads leave it to the whole read, which reports it.
  const whole = readFileSync(queue);
  writeFileSync(queue, whole.subarray(0, whole.length - 100));
  assert.deepEqual([reader.readSummary(), reader.readTail(), reader.readLight(held)], [null, null, null]);
  assert.throws(() => reader.read(undefined, false), /queue\.json/);
  writeFileSync(queue, whole);
  // Lines of a queuectl that wrote no summary: the whole read.
  writeFileSync(journal, before.toString().replace(/,"summary":\{.*\}\}\n$/, '}\n'));
  assert.equal(lightMatchesWhole(queue, journal, 'a line without a summary').summary, null);
  writeFileSync(journal, before);
  // A checkpoint renamed, its journal not reset: the old lines are the checkpoint's own.
  const reread = new QueueLog(queue, journal, journalOnly).read(undefined, true);
  await log.checkpoint(reread, reread.jobs, held);
  writeFileSync(journal, before);
  assert.notEqual(lightMatchesWhole(queue, journal, 'stale lines').summary, null);
  const stale = new QueueLog(queue, journal, journalOnly).readLight(held)!;
  assert.equal(stale.position.seq, reread.seq, 'the next line follows the checkpoint');
  assert.ok(log.add(stale, [pendingJob('f')], held));
  assert.deepEqual(ids(lightMatchesWhole(queue, journal, 'after stale lines').tail!.jobs).slice(-2), ['e:pending', 'f:pending']);
  assert.ok(state.summary);
});

test("another writer's fold of the lines a reader holds costs the reader no parse; a checkpoint that holds a change never journaled is read anew", async (t) => {
  const { queue, journal, log } = setup(t);
  let state = await journaled(log);
  const reader = new QueueLog(queue, journal, journalOnly);
  let seen = reader.read(undefined, false);
  state = await log.checkpoint(state, state.jobs, held); // a fold: the same jobs, the same seq
  const after = reader.read(seen, false);
  assert.equal(after.jobs, seen.jobs, 'kept: no parse, the same jobs');
  assert.equal(after.checkpoint, state.checkpoint);
  // A change written straight into queue.json (no journal line), then a line after it.
  state = await log.write(state, [...state.jobs, pendingJob('x')], held, { checkpoint: true });
  assert.equal(state.seq, seen.seq + 1, 'the change takes a number of its own');
  seen = reader.read(after, false);
  assert.deepEqual(ids(seen), ids(state), 'read anew, with the change');
  state = await log.write(state, [...state.jobs, pendingJob('y')], held);
  assert.deepEqual(ids(reader.read(seen, false)), ids(state));
});
