/**
 * `BENCH_STORE=postgres://… npm run bench`: the figures of the PostgreSQL store, each next to a
 * baseline of the same run, in a schema of its own per figure (dropped after).
 *
 *   drain:    1,000 `true` jobs, 4 workers under 2 managers (as two hosts would run them), against
 *             spawning `sh -c true` at concurrency 4
 *   pickup:   enqueue → start of the job on an idle worker (median of 9)
 *   backlog:  the same drain with 1,000,000 jobs delayed far ahead in the table, against none
 *   enqueue:  one `queuectl enqueue -- true`, against `node -e 0`
 *
 * Each run of a figure is paired with a run of its baseline right before it; the ratio printed is
 * the median of the pairs' ratios.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { environmentWarning, median, medianRatio, nodeStartMs, pairs, row, spawnRate } from './bench-lib.js';

const CLI = fileURLToPath(new URL('../bundle/queuectl.js', import.meta.url));
const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchPostgres(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const dirs: string[] = [];
  const schemas: string[] = [];
  const managers: ChildProcess[] = [];

  /** A queue of its own: the store URL, and a data dir for each host. */
  const queue = () => {
    const schema = `queuectl_bench_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    const store = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
    const host = () => {
      const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-pg-'));
      dirs.push(dir);
      return dir;
    };
    return { schema, store, host };
  };
  const cli = (store: string, dir: string, args: string[], input?: string): number => {
    const started = performance.now();
    const result = spawnSync(process.execPath, [CLI, '--data-dir', dir, '--store', store, ...args], { input, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`queuectl ${args.join(' ')}: ${result.stderr}`);
    return performance.now() - started;
  };
  const startWorkers = (store: string, dir: string, count: number): ChildProcess => {
    const child = spawn(process.execPath, [CLI, '--data-dir', dir, '--store', store, 'worker', 'start', '--count', String(count)], { stdio: 'ignore', detached: true });
    managers.push(child);
    return child;
  };
  const stop = async (child: ChildProcess) => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  /**
   * Transactions committed in the database so far (pg_stat_database): those of a drain are the
   * managers', once their sessions ended (a session reports its counts as it ends, or each
   * second), less this process's own polls and this look.
   */
  const commits = async (): Promise<number> =>
    Number((await admin.query<{ n: string }>(`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`)).rows[0]!.n);
  /** Transactions of each drain (see commits), in the order they ran. */
  const transactions: number[] = [];
  /** How many of `ids` completed: looked up by id, so that the probe costs the same beside a million jobs. */
  const completed = async (schema: string, ids: readonly string[]): Promise<number> =>
    Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".jobs WHERE id = ANY($1) AND state = 'completed'`, [ids])).rows[0]!.n);

  /**
   * A queue of JOBS true-jobs, after `backlog` delayed jobs, ready to drain: `run` gives the
   * seconds 2 managers of 2 workers each take to drain it (their start included).
   */
  const drainable = async (backlog: number): Promise<{ run: () => Promise<number> }> => {
    const { schema, store, host } = queue();
    const here = host();
    cli(store, here, ['config', 'set', 'poll_interval', '50']);
    if (backlog > 0) await fillBacklog(admin, schema, backlog);
    const ids = Array.from({ length: JOBS }, (_, i) => `drain-${i}`);
    cli(store, here, ['enqueue', '--file', '-'], ids.map((id) => `${JSON.stringify({ id, command: 'true' })}\n`).join(''));
    return {
      run: async () => {
        const before = await commits();
        let polls = 0;
        const started = performance.now();
        const both = [startWorkers(store, here, 2), startWorkers(store, host(), 2)];
        while ((polls++, await completed(schema, ids)) < JOBS) await sleep(50);
        const seconds = (performance.now() - started) / 1000;
        await Promise.all(both.map(stop));
        transactions.push((await commits()) - before - polls - 1);
        return seconds;
      },
    };
  };

  try {
    const warning = environmentWarning();
    if (warning !== null) console.log(warning);
    console.log(`queuectl bench, PostgreSQL store: ${JOBS} jobs, 2 managers × 2 workers, median of ${RUNS} runs, node ${process.version}\n`);
    // Each figure is paired with its baseline, measured right before it: the speed of these
    // machines drifts from one minute to the next (the spawn floor was 942/s and 782/s seven
    // minutes apart on 2026-12-02), so a baseline taken apart from its figure skews their ratio.
    // The ratio shown is the median of the pairs' ratios.

    // First, on a server at rest: after a drain it vacuums the jobs table, and after the backlog's
    // million rows it checkpoints and vacuums for a minute or more. That load is no enqueue's cost.
    const enqueues: number[] = [];
    const nodeStarts: number[] = [];
    {
      const { store, host } = queue();
      const here = host();
      // The schema is made by the first use, and the code cache of `enqueue` where there was none:
      // a command's first run after an install compiles it all (README, Start-up).
      cli(store, here, ['enqueue', '--', 'true']);
      for (let i = 0; i < 9; i++) {
        nodeStarts.push(nodeStartMs());
        enqueues.push(cli(store, here, ['enqueue', '--', 'true']));
      }
    }
    const enqueueMs = median(enqueues);
    const nodeStart = median(nodeStarts);
    const enqueueRatio = medianRatio(enqueues, nodeStarts);

    const spawnRates: number[] = [];
    const drainRates: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const queued = await drainable(0);
      spawnRates.push(await spawnRate(Math.min(JOBS, 500), 4));
      drainRates.push(JOBS / (await queued.run()));
    }
    const drainTransactions = transactions.splice(0);
    const rawRate = median(spawnRates);
    const drainRate = median(drainRates);
    const drainRatio = medianRatio(drainRates, spawnRates);

    const pickups: number[] = [];
    {
      const { store, host } = queue();
      const here = host();
      cli(store, here, ['config', 'set', 'poll_interval', '500']);
      const manager = startWorkers(store, here, 1);
      await sleep(1500); // started and idle
      for (let i = 0; i < 9; i++) {
        cli(store, here, ['enqueue', '--id', `pickup-${i}`, '--', 'true']);
        for (;;) {
          const found = spawnSync(process.execPath, [CLI, '--data-dir', here, '--store', store, 'show', `pickup-${i}`, '--json'], { encoding: 'utf8' });
          const job = JSON.parse(found.stdout) as { state: string; created_at: string; started_at: string | null };
          if (job.state === 'completed' && job.started_at) {
            pickups.push(Date.parse(job.started_at) - Date.parse(job.created_at));
            break;
          }
          await sleep(20);
        }
        await sleep(200 + Math.random() * 300); // land at a random point of the poll cycle
      }
      await stop(manager);
    }

    const backlogRates: number[] = [];
    const pairedRates: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [beside, alone] = [await drainable(BACKLOG), await drainable(0)];
      pairedRates.push(JOBS / (await alone.run()));
      backlogRates.push(JOBS / (await beside.run()));
    }
    const backlogRate = median(backlogRates);
    const backlogRatio = medianRatio(pairedRates, backlogRates);


    console.log(row('figure', 'value', 'baseline', 'ratio', 'goal'));
    console.log(row('drain (true jobs)', `${drainRate.toFixed(0)}/s`, `${rawRate.toFixed(0)}/s spawn`, drainRatio.toFixed(2), '≥ 0.5× spawn rate'));
    console.log(row('pickup by an idle worker', `${median(pickups).toFixed(0)} ms`, '50 ms goal', (median(pickups) / 50).toFixed(2), '≤ 1 (median)'));
    console.log(row(`drain with ${BACKLOG.toLocaleString('en')} waiting`, `${backlogRate.toFixed(0)}/s`, `${median(pairedRates).toFixed(0)}/s none`, backlogRatio.toFixed(2), '≤ 1.5× slower'));
    console.log(row('enqueue (one job)', `${enqueueMs.toFixed(0)} ms`, `${nodeStart.toFixed(0)} ms node`, enqueueRatio.toFixed(2), '≤ 2.5× node -e 0'));
    console.log(
      `\nruns, in pairs (baseline → figure): spawn → drain ${pairs(spawnRates, drainRates)}/s; ` +
        `transactions per drain ${drainTransactions.join(', ')}; ` +
        `none → with the backlog ${pairs(pairedRates, backlogRates)}/s; pickup ${pickups.map((p) => p.toFixed(0)).join(', ')} ms; ` +
        `node -e 0 → enqueue ${pairs(nodeStarts, enqueues)} ms`,
    );
  } finally {
    for (const manager of managers) {
      try {
        process.kill(-manager.pid!, 'SIGKILL');
      } catch {
        // stopped already
      }
    }
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** `count` pending jobs due in a year, written straight into the table (an enqueue of a million would measure the enqueue). */
async function fillBacklog(admin: pg.Client, schema: string, count: number): Promise<void> {
  const far = new Date(Date.now() + 365 * 86_400_000).toISOString();
  const now = new Date().toISOString();
  const doc = {
    command: 'true', state: 'pending', attempts: 0, max_retries: 3, priority: 0, queue: 'default', after: [], run_at: far, timeout: null,
    cwd: '/', env: null, env_id: null, created_at: now, updated_at: now, started_at: null, finished_at: null, exit_code: null, last_error: null, lease: null,
  };
  await admin.query(
    `INSERT INTO "${schema}".jobs (id, state, queue, priority, run_at, created_at, doc)
     SELECT 'backlog-' || n, 'pending', 'default', 0, $1, $2, $3::jsonb || jsonb_build_object('id', 'backlog-' || n)
     FROM generate_series(1, $4::int) AS n`,
    [far, now, JSON.stringify(doc), count],
  );
  // Settled as a table that grew over time would be: vacuumed (else autovacuum works through the
  // million rows during the drain) and analyzed.
  await admin.query(`VACUUM ANALYZE "${schema}".jobs`);
}
