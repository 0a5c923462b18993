/**
 * Shared harness for end-to-end tests: each test gets its own temp data dir, drives the real
 * CLI as installed (`dist/bundle/queuectl.js`) in real processes, waits for conditions with a deadline (never a
 * fixed sleep), and kills every process it started when it ends.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { DeadJob, Job } from '../core/rules/job.js';
import { openStore } from '../cli/context.js';

export const CLI = fileURLToPath(new URL('../bundle/queuectl.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** A temp dir for one test, removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'queuectl-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => removeDir(dir));
  return dir;
}

/**
 * A temp data dir with settings that make tests fast (short poll interval). When the test ends,
 * every process of the data dir (manager, workers, job commands) is killed and waited for
 * before the dir is removed: one hook does both, in that order, because after-hooks run in
 * registration order and a hook that throws skips the ones after it. A process left running
 * keeps the test runner alive forever, so the kill must come first and must not be skippable.
 */
export function tempDataDir(t: TestContext, config: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-test-'));
  t.after(async () => {
    try {
      await killProcessesOf(dir);
    } finally {
      removeDir(dir);
    }
  });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ poll_interval: 50, ...config }));
  return dir;
}

/** A data dir plus a work dir holding the runs log that recording jobs append to. */
export function workspace(t: TestContext, config: Record<string, unknown> = {}): { data: string; work: string; runs: string } {
  const data = tempDataDir(t, config);
  const work = tempDir(t, 'queuectl-work-');
  return { data, work, runs: join(work, 'runs.log') };
}

function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (error) {
    // A leftover temp dir is not worth failing a test over; a leftover process is (see above).
    console.error(`could not remove ${dir}: ${(error as Error).message}`);
  }
}

/** Runs `queuectl --data-dir DIR ...args` to completion. */
export function runCli(dataDir: string | null, args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const argv = dataDir === null ? [CLI, ...args] : [CLI, '--data-dir', dataDir, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`queuectl ${args.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A CLI run, for an assertion message. */
export function describeRun(args: readonly string[], result: CliResult): string {
  return `queuectl ${args.join(' ')} → exit ${result.code}\nstdout: ${JSON.stringify(result.stdout)}\nstderr: ${JSON.stringify(result.stderr)}`;
}

/** Runs the CLI and checks its exit code. */
export async function cliCode(dataDir: string, args: readonly string[], code: number, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const result = await runCli(dataDir, args, { env });
  assert.equal(result.code, code, describeRun(args, result));
  return result;
}

/** Bad input: exit 2, one `queuectl:` line on stderr matching `message`, nothing on disk changed. */
export async function rejected(dataDir: string, args: readonly string[], message: RegExp, input?: string): Promise<void> {
  const before = snapshotDir(dataDir);
  const result = await runCli(dataDir, args, input === undefined ? {} : { input });
  assert.equal(result.code, 2, describeRun(args, result));
  assert.match(result.stderr, /^queuectl: [^\n]+\n$/, describeRun(args, result));
  assert.match(result.stderr, message, describeRun(args, result));
  assert.deepEqual(snapshotDir(dataDir), before, `${args.join(' ')} changed nothing on disk`);
}

/** Runs the CLI and fails unless it exits 0. */
export async function cliOk(dataDir: string, args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const result = await runCli(dataDir, args, options);
  if (result.code !== 0) {
    throw new Error(`queuectl ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}

/** Runs the CLI with `--json` and parses its one JSON document. */
export async function cliJson<T = unknown>(dataDir: string, args: readonly string[]): Promise<T> {
  const result = await cliOk(dataDir, [...args, '--json']);
  return JSON.parse(result.stdout) as T;
}

export interface ManagerHandle {
  process: ChildProcess;
  pid: number;
  /** Everything the manager and its workers printed so far. */
  output(): string;
  /** Resolves with the exit code when the manager exits. */
  exited: Promise<number | null>;
}

/**
 * Starts `queuectl worker start --count N` in the foreground as a real process. When the test
 * ends, the manager and its workers are killed by pid (they are one process group).
 */
export function startManager(t: TestContext, dataDir: string, count: number, env: NodeJS.ProcessEnv = {}, args: readonly string[] = [], launcher: readonly string[] = []): ManagerHandle {
  // `launcher`: a command the manager runs under (unshare, for a host with processes of its own).
  const [command, ...commandArgs] = [...launcher, process.execPath, CLI, '--data-dir', dataDir, 'worker', 'start', '--count', String(count), ...args];
  const child = spawn(command!, commandArgs, {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so cleanup reaches the workers too
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const pid = child.pid!;
  startedGroups.add(pid);
  reapWhenKilled();
  t.after(() => {
    killGroup(pid);
    startedGroups.delete(pid);
    child.stdout!.destroy();
    child.stderr!.destroy();
  });
  return { process: child, pid, output: () => output, exited };
}

/** Managers this test file started whose test has not cleaned up after them yet. */
const startedGroups = new Set<number>();
let reaping = false;

/**
 * A test file that runs past its timeout is ended by the test runner (a SIGTERM, on which the
 * runner's own handler exits), and no `t.after` runs: the managers it started would run on, and
 * take a core from every later file. So when the file's process exits, however, they are killed
 * by pid; and a signal that would end it without an exit ends it with one.
 */
function reapWhenKilled(): void {
  if (reaping) return;
  reaping = true;
  process.on('exit', () => {
    for (const pid of startedGroups) killGroup(pid);
  });
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    process.once(signal, () => process.exit(code));
  }
}

export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  killProcess(-pid, signal);
}

export function killProcess(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Live processes of `dataDir`: managers and workers name it in their argv; job commands run in
 * process groups of their own, out of reach of the manager's group, and carry it in their
 * environment as QUEUECTL_DATA_DIR.
 */
export function processesOf(dataDir: string): number[] {
  const marker = `QUEUECTL_DATA_DIR=${dataDir}\0`;
  const pids: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === process.pid) continue;
    const pid = Number(entry.name);
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if ((argv.includes(dataDir) || readFileSync(`/proc/${pid}/environ`, 'utf8').includes(marker)) && processAlive(pid)) {
        pids.push(pid);
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** SIGKILLs every process of `dataDir` (and its group) until none is left, for at most 10 s. */
export async function killProcessesOf(dataDir: string): Promise<void> {
  await waitFor(
    () => {
      const pids = processesOf(dataDir);
      for (const pid of pids) {
        killGroup(pid);
        killProcess(pid); // when it leads no group of its own
      }
      return pids.length === 0;
    },
    { timeoutMs: 10_000, what: `the processes of ${dataDir} to be gone` },
  );
}

/** Alive and not a zombie (an orphan that has exited stays a zombie until pid 1 reaps it). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

/** The paths a process has open (/proc/<pid>/fd); none once it is gone. */
export function openFiles(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        return []; // closed meanwhile
      }
    });
  } catch {
    return [];
  }
}

/** Rejects when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Polls `condition` every 50 ms until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The jobs of a data dir as the CLI reads them: through the store its wiring picks (the same
 * call `list --json` makes, without a process per look), so a suite that reads state this way
 * runs on any store. Queued and dead jobs, oldest first.
 */
export async function jobsOf(dataDir: string): Promise<Job[]> {
  return (await openStore(dataDir)).store.list();
}

/** The jobs not dead (what the queue holds), oldest first. */
export async function queued(dataDir: string): Promise<Job[]> {
  return (await jobsOf(dataDir)).filter((job) => job.state !== 'dead');
}

/** The dead jobs (what the DLQ holds), oldest first. */
export async function deadJobs(dataDir: string): Promise<DeadJob[]> {
  return (await jobsOf(dataDir)).filter((job): job is DeadJob => job.state === 'dead');
}

/** Every job, queued or dead, by id. */
export async function allJobs(dataDir: string): Promise<Map<string, Job>> {
  return new Map((await jobsOf(dataDir)).map((job) => [job.id, job]));
}

function readJobs(path: string): Job[] {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { jobs: Job[] }).jobs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** For the suites about the file store's files (a crash between two writes, retention): queue.json as it is. */
export function readQueueFile(dataDir: string): Job[] {
  return readJobs(join(dataDir, 'queue.json'));
}

/** dlq.json as it is (see readQueueFile). */
export function readDlqFile(dataDir: string): DeadJob[] {
  return readJobs(join(dataDir, 'dlq.json')) as DeadJob[];
}

/** Processing with its start recorded: its command runs (a claim not started yet names no worker). */
export function hasStarted(job: Job | undefined): boolean {
  return job?.state === 'processing' && job.lease.worker_pid !== null;
}

/** Waits until every job in the data dir is completed or dead. */
export function waitForAllFinished(dataDir: string, timeoutMs = 30_000): Promise<boolean> {
  return waitFor(
    async () => {
      const jobs = await jobsOf(dataDir);
      return jobs.length > 0 && jobs.every((job) => job.state === 'completed' || job.state === 'dead');
    },
    { timeoutMs, what: 'every job to finish' },
  );
}

/** A snapshot of every file under `dir` (path → content), to prove that nothing changed. */
export function snapshotDir(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (sub: string) => {
    for (const entry of readdirSafe(join(dir, sub))) {
      const rel = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else files.set(rel, readFileSync(join(dir, rel), 'utf8'));
    }
  };
  walk('');
  return files;
}

function readdirSafe(path: string): Dirent[] {
  try {
    return readdirSync(path, { withFileTypes: true });
  } catch {
    return [];
  }
}
