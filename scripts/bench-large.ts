/**
 * The file store with a large queue on file (`npm run bench`, or `BENCH_ONLY=large`): with
 * BENCH_LARGE (100,000) pending jobs delayed far ahead, what a single change and a read cost
 * against `node -e 0`, and how fast 300 quick jobs drain against an empty file. The same
 * figures at 10,000 jobs, where every change still rewrites queue.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { totalCounts } from '../core/rules/summary.js';
import { FileStore } from '../store/file/file-store.js';
import { cleanUp, median, nodeStartMs, row } from './bench-lib.js';

const CLI = fileURLToPath(new URL('../bundle/queuectl.js', import.meta.url));
const LARGE = Number(process.env.BENCH_LARGE ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DRAIN = 300;
const WORKERS = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchLarge(): Promise<void> {
  const dirs: string[] = [];
  const managers: ChildProcess[] = [];
  const dataDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-large-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ poll_interval: 50 }));
    return dir;
  };
  const copyOf = (dir: string): string => {
    const copy = dataDir();
    cpSync(dir, copy, { recursive: true });
    return copy;
  };
  const cli = (dir: string, args: string[], input?: string): number => {
    const started = performance.now();
    const result = spawnSync(process.execPath, [CLI, '--data-dir', dir, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (result.status !== 0) throw new Error(`queuectl ${args.join(' ')}: ${result.stderr}`);
    return performance.now() - started;
  };
  const delayed = (count: number) => {
    const far = new Date(Date.now() + 365 * 86_400_000).toISOString();
    return `${JSON.stringify({ command: 'true', run_at: far })}\n`.repeat(count);
  };

  /** Jobs per second of DRAIN `true` jobs on WORKERS workers, on a copy of `from` (or an empty dir). */
  const drain = async (from: string | null): Promise<number> => {
    const dir = from === null ? dataDir() : copyOf(from);
    cli(dir, ['enqueue', '--file', '-'], `${JSON.stringify({ command: 'true' })}\n`.repeat(DRAIN));
    const store = new FileStore(dir);
    // As `status` counts them (the summary at the ends of the files): polled every 50 ms, a read
    // that applies each journal line to 100,000 jobs would take a good part of a core from the drain.
    const completed = async () => totalCounts(await store.summary()).completed;
    const started = performance.now();
    const manager = spawn(process.execPath, [CLI, '--data-dir', dir, 'worker', 'start', '--count', String(WORKERS)], { stdio: 'ignore', detached: true });
    managers.push(manager);
    while ((await completed()) < DRAIN) await sleep(50);
    const seconds = (performance.now() - started) / 1000;
    const exited = new Promise((resolve) => manager.once('exit', resolve));
    manager.kill('SIGTERM');
    await exited;
    return DRAIN / seconds;
  };

  try {
    const firstNode = Array.from({ length: 5 }, nodeStartMs);
    const batchMs: number[] = [];
    let large = '';
    for (let i = 0; i < RUNS; i++) {
      const dir = dataDir();
      batchMs.push(cli(dir, ['enqueue', '--file', '-'], delayed(LARGE)));
      large = dir;
    }
    const medium = dataDir();
    cli(medium, ['enqueue', '--file', '-'], delayed(10_000));

    // `node -e 0` between the runs of each command, so that a baseline and its figure share the machine's mood.
    const nodeRuns: number[] = [];
    const timed = (run: () => number) =>
      median(
        Array.from({ length: RUNS + 2 }, () => {
          nodeRuns.push(nodeStartMs());
          return run();
        }),
      );
    const figures = (dir: string) => {
      const work = copyOf(dir);
      let n = 0;
      const enqueue = timed(() => cli(work, ['enqueue', '--command', 'true', '--id', `one-${n++}`]));
      const status = timed(() => cli(work, ['status']));
      const list = timed(() => cli(work, ['list', '--limit', '20']));
      return { enqueue, status, list };
    };
    const big = figures(large);
    const mid = figures(medium);
    const node = median([...nodeRuns, ...firstNode]);
    const emptyRates: number[] = [];
    const largeRates: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      emptyRates.push(await drain(null));
      largeRates.push(await drain(large));
    }
    const empty = median(emptyRates);
    const loaded = median(largeRates);
    const n = LARGE.toLocaleString('en');
    const ms = (value: number) => `${value.toFixed(0)} ms`;
    const nodeMs = `${node.toFixed(0)} ms node`;
    console.log(`\nlarge queue: ${n} pending delayed jobs on file, median of ${RUNS}+ runs\n`);
    console.log(row('figure', 'value', 'baseline', 'ratio', 'goal'));
    console.log(row(`enqueue --file, ${n} jobs`, ms(median(batchMs)), '3000 ms goal', (median(batchMs) / 3000).toFixed(2), '≤ 1'));
    console.log(row(`enqueue, ${n} on file`, ms(big.enqueue), nodeMs, (big.enqueue / node).toFixed(2), '≤ 3× node -e 0'));
    console.log(row(`status, ${n} on file`, ms(big.status), nodeMs, (big.status / node).toFixed(2), '≤ 2.5× node -e 0'));
    console.log(row(`list --limit 20, ${n} on file`, ms(big.list), nodeMs, (big.list / node).toFixed(2), '≤ 3× node -e 0'));
    console.log(row(`drain ${DRAIN}, ${n} on file`, `${loaded.toFixed(0)}/s`, `${empty.toFixed(0)}/s empty`, (loaded / empty).toFixed(2), '≥ 0.5× empty'));
    console.log(row('enqueue, 10,000 on file', ms(mid.enqueue), nodeMs, (mid.enqueue / node).toFixed(2), 'no worse than before'));
    console.log(row('status, 10,000 on file', ms(mid.status), nodeMs, (mid.status / node).toFixed(2), 'no worse than before'));
    console.log(row('list --limit 20, 10,000 on file', ms(mid.list), nodeMs, (mid.list / node).toFixed(2), 'no worse than before'));
    console.log(`\nruns: enqueue --file ${batchMs.map((v) => v.toFixed(0)).join(', ')} ms; drain empty ${emptyRates.map((r) => r.toFixed(0)).join(', ')}/s, ` +
      `with ${n} on file ${largeRates.map((r) => r.toFixed(0)).join(', ')}/s`);
  } finally {
    cleanUp(managers, dirs);
  }
}
