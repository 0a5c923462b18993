/**
 * `npm run smoke`: the whole lifecycle through the real CLI on a temporary data dir, printing
 * each command and what it said. Exits non-zero if anything is off. Never touches your data.
 *
 * jobs that succeed, a priority job, a delayed job, a failing job that retries into the DLQ and
 * comes back with `dlq retry` once its cause is fixed, three workers in the background, and a
 * graceful stop.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { styleText } from 'node:util';

const CLI = fileURLToPath(new URL('../bundle/queuectl.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'queuectl-smoke-'));
const fixed = join(dataDir, 'fixed');
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const say = (style: Parameters<typeof styleText>[0], text: string) => console.log(color ? styleText(style, text) : text);
let failures = 0;

function queuectl(...args: string[]): { code: number | null; stdout: string } {
  say('cyan', `$ queuectl ${args.map((arg) => (/[\s"'{}]/.test(arg) ? `'${arg}'` : arg)).join(' ')}`);
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, QUEUECTL_DATA_DIR: dataDir, NO_COLOR: '1' },
  });
  const output = `${result.stdout}${result.stderr}`.trimEnd();
  if (output) console.log(output.replace(/^/gm, '  '));
  return { code: result.status, stdout: result.stdout };
}

function check(ok: boolean, what: string): void {
  if (ok) say('green', `  ✓ ${what}`);
  else {
    failures++;
    say('red', `  ✗ ${what}`);
  }
}

function json<T>(...args: string[]): T {
  const result = queuectl(...args, '--json');
  return JSON.parse(result.stdout) as T;
}

interface Job {
  id: string;
  state: string;
  attempts: number;
  run_at: string;
  started_at: string | null;
  finished_at: string | null;
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      check(false, `${what} (timed out after ${timeoutMs / 1000} s)`);
      throw new Error(`smoke: ${what} did not happen`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  check(true, what);
}

function quietJobs(): Job[] {
  const result = spawnSync(process.execPath, [CLI, 'list', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, QUEUECTL_DATA_DIR: dataDir },
  });
  return JSON.parse(result.stdout) as Job[];
}

async function main(): Promise<void> {
  say('bold', `queuectl smoke test on ${dataDir}\n`);
  check(queuectl('config', 'set', 'backoff_base', '1').code === 0, 'retries wait 1 s (backoff_base 1)');
  queuectl('config', 'set', 'poll_interval', '100');

  say('bold', '\n1. Enqueue');
  check(queuectl('enqueue', '{"id":"hello","command":"echo hello from $QUEUECTL_JOB_ID"}').code === 0, 'JSON form');
  queuectl('enqueue', '--command', 'sleep 1; echo slow done', '--id', 'slow');
  queuectl('enqueue', '--command', 'echo important', '--id', 'urgent', '--priority', '10');
  queuectl('enqueue', '--command', 'date -u +%FT%TZ', '--id', 'later', '--delay', '3s');
  check(queuectl('enqueue', '--id', 'deploy', '--after', 'slow', '--', 'echo', 'deployed after slow').code === 0, 'a job that runs after another (--after)');
  queuectl('enqueue', '--command', `test -f ${fixed} && echo fixed || { echo "not fixed yet" >&2; exit 3; }`, '--id', 'flaky', '--max-retries', '2');
  check(queuectl('enqueue', '{"command":""}').code === 2, 'bad input is refused with exit code 2');
  queuectl('list');

  say('bold', '\n2. Three workers in the background');
  check(queuectl('worker', 'start', '--count', '3', '--detach').code === 0, 'workers started');
  queuectl('status');

  say('bold', '\n3. Jobs run; the failing one retries into the DLQ');
  await waitUntil('flaky is dead after 3 runs', () => quietJobs().some((job) => job.id === 'flaky' && job.state === 'dead'));
  await waitUntil('every other job completed', () =>
    quietJobs().every((job) => job.id === 'flaky' || job.state === 'completed'),
  );
  const jobs = json<Job[]>('list');
  const flaky = jobs.find((job) => job.id === 'flaky');
  check(flaky?.attempts === 3, 'flaky ran 1 + max_retries = 3 times');
  const later = jobs.find((job) => job.id === 'later');
  check(later !== undefined && later.started_at !== null && later.started_at >= later.run_at, 'the delayed job did not start before its run_at');
  const slow = jobs.find((job) => job.id === 'slow');
  const deploy = jobs.find((job) => job.id === 'deploy');
  check(slow?.finished_at != null && deploy?.started_at != null && deploy.started_at >= slow.finished_at, 'deploy started only after slow had finished');
  queuectl('dlq', 'list');
  queuectl('logs', 'flaky');

  say('bold', '\n4. Fix the cause, retry from the DLQ');
  writeFileSync(fixed, '');
  check(queuectl('dlq', 'retry', 'flaky').code === 0, 'dlq retry');
  await waitUntil('flaky completed after the retry', () => quietJobs().some((job) => job.id === 'flaky' && job.state === 'completed'));
  check(json<Job[]>('dlq', 'list').length === 0, 'the DLQ is empty');
  queuectl('show', 'flaky');

  say('bold', '\n5. Graceful stop');
  queuectl('enqueue', '--command', 'sleep 1; echo finished while stopping', '--id', 'in-flight');
  await waitUntil('in-flight is running', () => quietJobs().some((job) => job.id === 'in-flight' && job.state === 'processing'));
  check(queuectl('worker', 'stop').code === 0, 'worker stop');
  check(json<Job>('show', 'in-flight').state === 'completed', 'the job in flight finished before the workers stopped');
  const status = json<{ workers: unknown[]; counts: Record<string, number> }>('status');
  check(status.workers.length === 0, 'no worker is left running');
  queuectl('status');
}

try {
  await main();
} catch (error) {
  failures++;
  say('red', String(error instanceof Error ? error.message : error));
  spawnSync(process.execPath, [CLI, 'worker', 'stop', '--timeout', '2'], { env: { ...process.env, QUEUECTL_DATA_DIR: dataDir } });
} finally {
  if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
}
say(failures === 0 ? 'green' : 'red', `\nsmoke: ${failures === 0 ? 'all checks passed' : `${failures} check(s) failed`}`);
process.exitCode = failures === 0 ? 0 : 1;
