/**
 * `npm run bench`: performance figures, each next to a baseline measured in the same run on the
 * same machine, as a ratio. Medians of several runs; these machines are noisy.
 *
 *   baselines: spawning `sh -c true` from Node at concurrency 4; start-up of `node -e 0`
 *   drain:     N `true` jobs with 4 workers (jobs/s vs the spawn rate)
 *   backlog:   the same drain with 10,000 jobs delayed far ahead sitting in the queue
 *   held:      N `true` jobs while one long job runs, with and without 10,000 jobs held behind the
 *              long one, by --after, or by the limit of its queue (parallel 1); enqueued before the
 *              N, so ahead of them in claim order
 *   pickup:    enqueue → start of the job on an idle worker
 *   handover:  a short job's end → the next one's start on that worker, while the other worker
 *              runs a long job (no job waits behind a busy worker)
 *   enqueue:   a batch of 500 jobs in one call
 *   status:    `queuectl status` vs `node -e 0`
 *   memory:    peak RSS of a worker child while draining
 *
 *   large:     a queue of 100,000 delayed jobs on file (bench-large.ts)
 *
 * Environment: BENCH_JOBS (default 1000), BENCH_RUNS (default 3), BENCH_LARGE (default 100000);
 * BENCH_ONLY=large runs only the large-queue figures, BENCH_ONLY=small all but those; BENCH_STORE=postgres://… measures the
 * PostgreSQL store instead (bench-postgres.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../cli/context.js';
import type { Store } from '../core/ports/store.js';
import { cleanUp, environmentWarning, median, nodeStartMs, row, spawnRate } from './bench-lib.js';

const CLI = fileURLToPath(new URL('../bundle/queuectl.js', import.meta.url));
const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WORKERS = 4;
const dirs: string[] = [];
const managers: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function dataDir(config: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ poll_interval: 50, ...config }));
  return dir;
}

function cli(dir: string, args: string[], input?: string): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, [CLI, '--data-dir', dir, ...args], { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`queuectl ${args.join(' ')}: ${result.stderr}`);
  return performance.now() - started;
}


/**
 * How many jobs completed, as `status` counts them (Store.summary): polled every 20 ms during a
 * drain, it reads the journal's last line, not every job. queue.json alone would not do: past
 * 10,000 jobs it is a checkpoint that a busy queue folds its journal into once a minute, and a
 * drain beside 10,000 held jobs seemed to take 60 s (17/s) while it took 5.
 */
async function countCompleted(store: Store): Promise<number> {
  const { queues } = await store.summary();
  return Object.values(queues).reduce((sum, states) => sum + states.completed, 0);
}

function startWorkers(dir: string, count: number): ChildProcess {
  const child = spawn(process.execPath, [CLI, '--data-dir', dir, 'worker', 'start', '--count', String(count)], {
    stdio: 'ignore',
    detached: true,
  });
  managers.push(child);
  return child;
}

async function stopWorkers(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Peak RSS in MB of the manager's worker children, sampled while `busy` is true. */
function sampleWorkerRss(manager: ChildProcess, peak: { mb: number }): () => void {
  const timer = setInterval(() => {
    const children = spawnSync('pgrep', ['-P', String(manager.pid)], { encoding: 'utf8' }).stdout.trim().split('\n');
    for (const pid of children.filter(Boolean)) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peak.mb = Math.max(peak.mb, kb / 1024);
      } catch {
        // exited meanwhile
      }
    }
  }, 100);
  return () => clearInterval(timer);
}

/** Seconds to drain `jobs` true-jobs with WORKERS workers, after `prefill` delayed jobs. */
async function drain(jobs: number, prefill: number, peak = { mb: 0 }): Promise<number> {
  const dir = dataDir();
  if (prefill > 0) {
    const far = new Date(Date.now() + 365 * 86_400_000).toISOString();
    cli(dir, ['enqueue', '--file', '-'], `${JSON.stringify({ command: 'true', run_at: far })}\n`.repeat(prefill));
  }
  cli(dir, ['enqueue', '--file', '-'], `${JSON.stringify({ command: 'true' })}\n`.repeat(jobs));
  const { store } = await openStore(dir); // once: polled every 20 ms
  const started = performance.now();
  const manager = startWorkers(dir, WORKERS);
  const stopSampling = sampleWorkerRss(manager, peak);
  while ((await countCompleted(store)) < jobs) await sleep(20);
  const seconds = (performance.now() - started) / 1000;
  stopSampling();
  await stopWorkers(manager);
  return seconds;
}

/**
 * Seconds to drain `jobs` true-jobs while a long job runs on one of the WORKERS workers, `held`
 * jobs waiting for it: by --after, or in its queue, limited to one job at a time.
 */
async function drainBesideLong(jobs: number, held: number, by: 'after' | 'limit' = 'after'): Promise<number> {
  const dir = dataDir(by === 'limit' ? { queues: { one: { parallel: 1 } } } : {});
  cli(dir, ['enqueue', '--id', 'long', '--queue', 'one', '--', 'sleep', '3600']);
  const waiting = by === 'after' ? { after: ['long'] } : { queue: 'one' };
  if (held > 0) cli(dir, ['enqueue', '--file', '-'], `${JSON.stringify({ command: 'true', ...waiting })}\n`.repeat(held));
  cli(dir, ['enqueue', '--file', '-'], `${JSON.stringify({ command: 'true' })}\n`.repeat(jobs));
  const { store } = await openStore(dir);
  const started = performance.now();
  const manager = startWorkers(dir, WORKERS);
  while ((await countCompleted(store)) < jobs) await sleep(20);
  const seconds = (performance.now() - started) / 1000;
  const exited = new Promise((resolve) => manager.once('exit', resolve));
  cli(dir, ['worker', 'stop', '--timeout', '0']); // kills the long job too
  await exited;
  return seconds;
}

/**
 * Milliseconds from a job's entry into the queue (its created_at, taken under the enqueue's
 * lock) to the start of its command on an idle worker (started_at once the run is recorded:
 * the worker's own time of the spawn, not the claim).
 */
async function pickupMs(samples: number): Promise<number[]> {
  const dir = dataDir({ poll_interval: 500 });
  const { store } = await openStore(dir);
  const manager = startWorkers(dir, 1);
  await sleep(1500); // let the worker start and go idle
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    cli(dir, ['enqueue', '--command', 'true', '--id', `pickup-${i}`]);
    for (;;) {
      const job = (await store.find([`pickup-${i}`])).get(`pickup-${i}`)?.job;
      if (job?.state === 'completed' && job.started_at) {
        latencies.push(Date.parse(job.started_at) - Date.parse(job.created_at));
        break;
      }
      await sleep(5);
    }
    await sleep(200 + Math.random() * 300); // land at a random point of the poll cycle
  }
  await stopWorkers(manager);
  return latencies;
}

/**
 * Milliseconds from the end of one short job to the start of the next on the same worker, while
 * the manager's other worker is busy with a long job: what a job waits when a worker frees.
 */
async function handoverMs(count: number): Promise<number[]> {
  const dir = dataDir();
  const lines = [JSON.stringify({ command: 'sleep 60', id: 'long' }), ...Array.from({ length: count }, (_, i) => JSON.stringify({ command: 'sleep 0.05', id: `short-${i}` }))];
  cli(dir, ['enqueue', '--file', '-'], `${lines.join('\n')}\n`);
  const manager = startWorkers(dir, 2);
  type Times = { id: string; state: string; started_at: string; finished_at: string };
  let shorts: Times[] = [];
  const { store } = await openStore(dir);
  for (;;) {
    const jobs = (await store.list()) as Times[];
    shorts = jobs.filter((job) => job.id.startsWith('short-'));
    if (shorts.every((job) => job.state === 'completed')) break;
    await sleep(50);
  }
  const exited = new Promise((resolve) => manager.once('exit', resolve));
  cli(dir, ['worker', 'stop', '--timeout', '0']); // kills the long job too
  await exited;
  shorts.sort((a, b) => (a.started_at < b.started_at ? -1 : 1));
  return shorts.slice(1).map((job, i) => Date.parse(job.started_at) - Date.parse(shorts[i]!.finished_at));
}


async function main(): Promise<void> {
  const warning = environmentWarning();
  if (warning !== null) console.log(warning);
  console.log(`queuectl bench: ${JOBS} jobs, ${WORKERS} workers, median of ${RUNS} runs, node ${process.version}\n`);
  const spawnRates: number[] = [];
  for (let i = 0; i < RUNS; i++) spawnRates.push(await spawnRate(Math.min(JOBS, 500), WORKERS));
  const rawRate = median(spawnRates);
  const nodeStart = median(Array.from({ length: 7 }, nodeStartMs));

  const peak = { mb: 0 };
  const drainRates: number[] = [];
  for (let i = 0; i < RUNS; i++) drainRates.push(JOBS / (await drain(JOBS, 0, peak)));
  const drainRate = median(drainRates);

  const backlogRates: number[] = [];
  for (let i = 0; i < RUNS; i++) backlogRates.push(JOBS / (await drain(JOBS, 10_000)));
  const backlogRate = median(backlogRates);

  const besideLong: number[] = [];
  const besideHeld: number[] = [];
  const besideLimited: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    besideLong.push(JOBS / (await drainBesideLong(JOBS, 0)));
    besideHeld.push(JOBS / (await drainBesideLong(JOBS, 10_000, 'after')));
    besideLimited.push(JOBS / (await drainBesideLong(JOBS, 10_000, 'limit')));
  }
  const longRate = median(besideLong);
  const heldRate = median(besideHeld);
  const limitedRate = median(besideLimited);

  const pickups = await pickupMs(9);
  const handovers = await handoverMs(30);

  const batch = `${JSON.stringify({ command: 'true' })}\n`.repeat(500);
  const enqueueMs = median(Array.from({ length: RUNS }, () => cli(dataDir(), ['enqueue', '--file', '-'], batch)));
  const statusDir = dataDir();
  cli(statusDir, ['enqueue', '--file', '-'], batch);
  const statusMs = median(Array.from({ length: 7 }, () => cli(statusDir, ['status'])));

  console.log(row('figure', 'value', 'baseline', 'ratio', 'goal'));
  console.log(row('drain (true jobs)', `${drainRate.toFixed(0)}/s`, `${rawRate.toFixed(0)}/s spawn`, (drainRate / rawRate).toFixed(2), '≥ 0.5× spawn rate'));
  console.log(row('drain with 10,000 delayed in file', `${backlogRate.toFixed(0)}/s`, `${drainRate.toFixed(0)}/s drain`, (drainRate / backlogRate).toFixed(2), '≤ 3× slower'));
  console.log(row('drain with 10,000 held (--after)', `${heldRate.toFixed(0)}/s`, `${longRate.toFixed(0)}/s none held`, (longRate / heldRate).toFixed(2), '≤ 1.5× slower'));
  console.log(row('drain with 10,000 held (parallel 1)', `${limitedRate.toFixed(0)}/s`, `${longRate.toFixed(0)}/s none held`, (longRate / limitedRate).toFixed(2), '≤ 1.5× slower'));
  console.log(row('pickup by an idle worker', `${median(pickups).toFixed(0)} ms`, '50 ms goal', (median(pickups) / 50).toFixed(2), '≤ 1 (median)'));
  console.log(row('next job on a freed worker', `${median(handovers).toFixed(0)} ms`, '100 ms goal', (median(handovers) / 100).toFixed(2), '≤ 1 (median)'));
  console.log(row('enqueue --file, 500 jobs', `${enqueueMs.toFixed(0)} ms`, `${nodeStart.toFixed(0)} ms node`, (enqueueMs / nodeStart).toFixed(2), '≤ 300 ms'));
  console.log(row('status', `${statusMs.toFixed(0)} ms`, `${nodeStart.toFixed(0)} ms node`, (statusMs / nodeStart).toFixed(2), '≤ 2× node -e 0'));
  console.log(row('worker child peak RSS', `${peak.mb.toFixed(0)} MB`, '80 MB goal', (peak.mb / 80).toFixed(2), '≤ 1'));
  console.log(`\nruns: spawn ${spawnRates.map((r) => r.toFixed(0)).join(', ')}/s; drain ${drainRates.map((r) => r.toFixed(0)).join(', ')}/s; ` +
    `backlog ${backlogRates.map((r) => r.toFixed(0)).join(', ')}/s; beside a long job ${besideLong.map((r) => r.toFixed(0)).join(', ')}/s, ` +
    `with 10,000 held ${besideHeld.map((r) => r.toFixed(0)).join(', ')}/s, by a limit ${besideLimited.map((r) => r.toFixed(0)).join(', ')}/s; pickup ${pickups.map((p) => p.toFixed(0)).join(', ')} ms; ` +
    `handover max ${Math.max(...handovers).toFixed(0)} ms`);
}

try {
  const store = process.env.BENCH_STORE ?? '';
  if (store.startsWith('postgres')) await (await import('./bench-postgres.js')).benchPostgres(store);
  else {
    const only = process.env.BENCH_ONLY;
    if (only !== 'large') await main();
    if (only !== 'small') await (await import('./bench-large.js')).benchLarge();
  }
} finally {
  cleanUp(managers, dirs);
}
