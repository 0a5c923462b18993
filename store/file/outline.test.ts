import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Job } from '../../core/rules/job.js';
import { completedJob, pendingJob, processingJob } from '../../test/sample-jobs.js';
import { summarizeJobs } from '../../core/rules/summary.js';
import { FileStore } from './file-store.js';
import { JobFileEncoder } from './job-file.js';
import { materialize, outlineCheckpoint, type JobOutline } from './outline.js';

const jobs: Job[] = [
  pendingJob('a', { queue: 'default', after: [], command: 'echo "quoted" \\ back {"id":"x"}' }),
  processingJob('b', { queue: 'ffmpeg', after: ['a'], created_at: '2026-11-23T09:00:01.000Z' }),
  completedJob('c', { queue: 'ffmpeg', after: ['a', 'b'], env: { state: 'dead', id: 'zz' } }),
];
const encoded = (list: readonly Job[], seq = 0) => Buffer.concat(new JobFileEncoder().encodeParts(list, seq));

test("queue.json as its writer writes it has an outline: each job's head, read without a parse, and its line parsed on demand", () => {
  for (const seq of [0, 7]) {
    const bytes = encoded(jobs, seq);
    const outline = outlineCheckpoint(bytes);
    assert.ok(outline, `seq ${seq}`);
    assert.equal(outline.seq, seq);
    assert.deepEqual([...outline.jobs.keys()], ['a', 'b', 'c']);
    for (const job of jobs) {
      const head: JobOutline = outline.jobs.get(job.id)!;
      assert.deepEqual(
        { id: head.id, state: head.state, queue: head.queue, after: head.after, created_at: head.created_at, updated_at: head.updated_at },
        { id: job.id, state: job.state, queue: job.queue, after: job.after, created_at: job.created_at, updated_at: job.updated_at },
      );
      assert.deepEqual(materialize(head, bytes, 'queue.json'), job);
    }
  }
  assert.deepEqual(outlineCheckpoint(encoded([]))?.jobs.size, 0);
  assert.deepEqual(outlineCheckpoint(encoded([], 3))?.seq, 3);
});

test('queue.json in any other shape has no outline, and is parsed whole: by jq, by hand, before the writer put the heads first', () => {
  const old = `{"version":1,"jobs":[\n${jobs.map((job) => JSON.stringify({ ...{ command: '' }, ...job })).join(',\n')}\n]}\n`;
  const shapes = [
    JSON.stringify({ version: 1, jobs }, null, 2), // jq's
    JSON.stringify({ version: 1, jobs }), // one line
    old,
    encoded(jobs).toString().replace('"id":"b"', '"id":"b\\u0062"'),
    encoded(jobs).toString().replace('},\n{"id":"b"', '},{"id":"b"'), // two jobs on a line
    encoded(jobs).toString().replace('"state":"pending"', '"state":"sleeping"'),
    encoded(jobs).toString().replace(/\]\}\n$/, ']}\n{}'),
    encoded(jobs).toString().replace('"id":"c"', '"id":"a"'), // a repeated id: for the parse to judge
  ];
  for (const shape of shapes) assert.equal(outlineCheckpoint(Buffer.from(shape)), null, shape.slice(0, 80));
});

test('list --limit, find and the heads for status give what a whole parse gives, on a journaled queue and after a checkpoint', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-outline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FileStore(dir, { everyChangeUpTo: 0, fraction: Infinity });
  await store.enqueue(
    Array.from({ length: 30 }, (_, i) => ({ command: `echo ${i}`, id: `j${i}`, ...(i % 7 === 3 ? { queue: 'other' } : {}), ...(i % 5 === 4 ? { after: [`j${i - 1}`] } : {}) })),
    { cwd: '/' },
  );
  await store.cycle({ outcomes: [], renew: [], claim: 3 }, { newToken: () => 'tok', runStarted: () => false });
  await store.enqueue([{ command: 'true', id: 'late' }], { cwd: '/' });
  await store.cancel(['j10'], { now: new Date(), hasRun: () => () => false, noteCanceled: () => undefined });
  const check = async () => {
    const whole = await store.list();
    for (const filter of [{ limit: 5 }, { limit: 40 }, { limit: 3, states: ['pending' as const] }, { limit: 4, queue: 'other' }]) {
      assert.deepEqual(await store.list(filter), (await new FileStore(dir).list({ ...filter, limit: undefined })).slice(-filter.limit), JSON.stringify(filter));
    }
    assert.deepEqual(await store.summary(), summarizeJobs(whole));
    const found = await store.find(['j1', 'late', 'nope']);
    assert.deepEqual([...found.keys()].sort(), ['j1', 'late']);
    assert.deepEqual(found.get('late')?.job, whole.find((job) => job.id === 'late'));
  };
  await check();
  assert.ok(await store.files.checkpoint());
  await check();
  // A queue.json written by hand (jq's layout) is read whole, with the same answers.
  writeFileSync(join(dir, 'queue.json'), JSON.stringify({ version: 1, jobs: await store.list() }, null, 2));
  await check();
});
