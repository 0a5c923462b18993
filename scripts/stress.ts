/**
 * `npm run stress`: crash safety under fire. N workers under several managers run M jobs while
 * random kill -9s hit worker children (mid-job when one is busy) and whole managers with their
 * children (each killed manager is replaced by a new one). Afterwards, from the runs log that
 * every job appends to (`<id> <attempt> <shell pid> <epoch ns> start|end`) and the lock log that
 * every queuectl process writes (QUEUECTL_LOCK_LOG), it checks that
 *
 *   - every job is stored exactly once, completed, and ran at least once to its end;
 *   - re-runs (runs beyond one per job) never exceed the worker processes killed;
 *   - no two processes ever held the lock at once (a holder killed inside its lock cycle is
 *     taken over only after it died);
 *
 * prints a summary table and exits non-zero if a check fails. Reproducible kill schedule with
 * --seed (the timing of the machine still varies).
 *
 *   npm run stress -- --workers 4 --jobs 200 --kills 20 --seed 1 [--managers 2] [--data-dir DIR]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkLockLog } from './lock-log.js';
import { dataPaths } from '../store/file/paths.js';

const CLI = fileURLToPath(new URL('../bundle/queuectl.js', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    managers: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '200' },
    kills: { type: 'string', default: '20' },
    seed: { type: 'string' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log('usage: npm run stress -- [--workers 4] [--managers 2] [--jobs 200] [--kills 20] [--seed N] [--data-dir DIR]');
  process.exit(0);
}

function count(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(`stress: --${name} must be a whole number from ${min} up, got "${text}"`);
    process.exit(2);
  }
  return value;
}
const WORKERS = count('workers', flags.workers, 1);
const MANAGERS = Math.min(count('managers', flags.managers, 1), WORKERS);
const JOBS = count('jobs', flags.jobs, 1);
const KILLS = count('kills', flags.kills, 0);
const SEED = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : count('seed', flags.seed, 0);
/** Seconds a claim holds: above the lock's 5 s stale period plus a renewal interval, so a lock left by a kill cannot expire the leases of live workers. */
const LEASE_S = 10;
/** A killed manager is one kill in this many. */
const MANAGER_KILL_ODDS = 5;

/** mulberry32: a small seeded generator, so that --seed replays the same kill schedule. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const random = generator(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const keepData = flags['data-dir'] !== undefined;
const dataDir = flags['data-dir'] ?? mkdtempSync(join(tmpdir(), 'queuectl-stress-'));
mkdirSync(dataDir, { recursive: true });
if (readdirSync(dataDir).length > 0) {
  console.error(`stress: ${dataDir} is not empty; give an empty or new --data-dir`);
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'queuectl-stress-work-'));
const runsLog = join(work, 'runs.log');
const lockLog = join(work, 'lock.log');
const managersLog = join(work, 'managers.log');
const jobScript = join(work, 'job.sh');
const env = { ...process.env, QUEUECTL_LOCK_LOG: lockLog, NO_COLOR: '1' };

function cli(args: string[]): string {
  const result = spawnSync(process.execPath, [CLI, '--data-dir', dataDir, ...args], { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`queuectl ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

interface Status {
  counts: Record<string, number>;
  workers: { pid: number; manager_pid: number; job: string | null }[];
}

// ---------------------------------------------------------------- setup

writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ poll_interval: 100, lease: LEASE_S, backoff_base: 1, max_backoff: 1 }));
writeFileSync(
  jobScript,
  [
    '#!/bin/sh',
    '# usage: job.sh RUNS SECONDS; appends "<id> <attempt> <shell pid> <epoch ns> start|end" to RUNS',
    'echo "$QUEUECTL_JOB_ID $QUEUECTL_ATTEMPT $$ $(date +%s%N) start" >> "$1"',
    'sleep "$2"',
    'echo "$QUEUECTL_JOB_ID $QUEUECTL_ATTEMPT $$ $(date +%s%N) end" >> "$1"',
    '',
  ].join('\n'),
);
const ids = Array.from({ length: JOBS }, (_, i) => `s${String(i + 1).padStart(String(JOBS).length, '0')}`);
const durations = ids.map(() => 0.05 + random() * 0.45);
writeFileSync(
  join(work, 'jobs.ndjson'),
  // Enough retries that no number of kills can send a job to the DLQ.
  ids.map((id, i) => JSON.stringify({ id, command: `sh '${jobScript}' '${runsLog}' ${durations[i]!.toFixed(2)}`, max_retries: KILLS + 10 })).join('\n'),
);
cli(['enqueue', '--file', join(work, 'jobs.ndjson')]);

const started = performance.now();
/** Each running manager and how many workers it keeps. */
const managers = new Map<ChildProcess, number>();
let managerStarts = 0;
const logFd = openSync(managersLog, 'a');

function startManager(workers: number): void {
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'worker', 'start', '--count', String(workers)], {
    env,
    stdio: ['ignore', logFd, logFd],
    detached: true, // its own process group: the manager and its workers die together
  });
  managers.set(child, workers);
  managerStarts++;
  child.once('exit', () => managers.delete(child));
}
const share = (index: number) => Math.floor(WORKERS / MANAGERS) + (index < WORKERS % MANAGERS ? 1 : 0);
for (let i = 0; i < MANAGERS; i++) startManager(share(i));

// ---------------------------------------------------------------- kills

/** Every kill: pid → monotonic times (ns, the lock log's clock) it was killed at. */
const killedAt = new Map<number, bigint[]>();
let workerKills = 0;
let managerKills = 0;
let workersKilledWithManagers = 0;

function kill(pid: number): void {
  const at = process.hrtime.bigint();
  try {
    process.kill(pid, 'SIGKILL');
    killedAt.set(pid, [...(killedAt.get(pid) ?? []), at]);
  } catch {
    // Gone already.
  }
}

/** Members of a process group (field 5 of /proc/<pid>/stat). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) members.push(Number(name));
    } catch {
      // Gone.
    }
  }
  return members;
}

function isWorkerProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-process');
  } catch {
    return false;
  }
}

/** Every job completed or dead (completed ones may have left for the archive). */
const drainedIn = (current: Status) => ['pending', 'processing', 'failed'].every((state) => (current.counts[state] ?? 0) === 0);

const expectedSeconds = (JOBS * 0.275) / WORKERS + 2;
const killGap = (expectedSeconds * 1000) / (KILLS + 1);
let kills = 0;
const deadline = Date.now() + 10 * 60_000;
let status: Status = JSON.parse(cli(['status', '--json'])) as Status;
while (!drainedIn(status)) {
  if (Date.now() > deadline) break;
  await sleep(kills < KILLS ? killGap * (0.5 + random()) : 250);
  status = JSON.parse(cli(['status', '--json'])) as Status;
  if (kills >= KILLS || drainedIn(status)) continue;
  const live = [...managers.keys()].filter((manager) => manager.pid !== undefined && manager.exitCode === null);
  if (random() * MANAGER_KILL_ODDS < 1 && live.length > 0) {
    const victim = pick(live);
    const members = groupMembers(victim.pid!);
    for (const pid of members) kill(pid);
    managerKills++;
    workersKilledWithManagers += members.filter((pid) => pid !== victim.pid).length;
    const workers = managers.get(victim)!;
    managers.delete(victim);
    startManager(workers);
    kills++;
  } else {
    const busy = status.workers.filter((worker) => worker.job !== null && isWorkerProcess(worker.pid));
    const candidates = busy.length > 0 ? busy : status.workers.filter((worker) => isWorkerProcess(worker.pid));
    if (candidates.length === 0) continue;
    kill(pick(candidates).pid);
    workerKills++;
    kills++;
  }
}
const drained = drainedIn(status);

// ---------------------------------------------------------------- stop

spawnSync(process.execPath, [CLI, '--data-dir', dataDir, 'worker', 'stop', '--timeout', '10'], { env, stdio: 'ignore' });
for (const manager of managers.keys()) if (manager.pid !== undefined) for (const pid of groupMembers(manager.pid)) kill(pid);
// Commands orphaned by a killed manager finish on their own (they last under half a second).
const orphansDeadline = Date.now() + 10_000;
while (processesOf(dataDir).length > 0 && Date.now() < orphansDeadline) await sleep(100);
for (const pid of processesOf(dataDir)) kill(pid);
closeSync(logFd);
const wallSeconds = (performance.now() - started) / 1000;

/** Job commands carry the data dir in their environment as QUEUECTL_DATA_DIR. */
function processesOf(dir: string): number[] {
  const marker = `QUEUECTL_DATA_DIR=${dir}\0`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/environ`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

// ---------------------------------------------------------------- checks

interface StoredJob {
  id: string;
  state: string;
  attempts: number;
}
const readJobs = (path: string): StoredJob[] =>
  existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { jobs: StoredJob[] }).jobs : [];
// Every copy of every job in the file store's files, to find one lost or stored twice by a crash.
const files = dataPaths(dataDir);
const archived = existsSync(files.archive) ? readdirSync(files.archive).filter((name) => name.endsWith('.json')).flatMap((name) => readJobs(join(files.archive, name))) : [];
const stored = [...readJobs(files.queue), ...readJobs(files.dlq), ...archived];

interface RunEvent {
  id: string;
  attempt: number;
  shell: number;
  ns: bigint;
  event: string;
}
const runs: RunEvent[] = readFileSync(runsLog, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => {
    const [id, attempt, shell, ns, event] = line.split(' ');
    return { id: id!, attempt: Number(attempt), shell: Number(shell), ns: BigInt(ns!), event: event! };
  });
const startsOf = new Map<string, RunEvent[]>();
const endedShells = new Set<number>();
for (const run of runs) {
  if (run.event === 'start') startsOf.set(run.id, [...(startsOf.get(run.id) ?? []), run]);
  else endedShells.add(run.shell);
}
const totalRuns = runs.filter((run) => run.event === 'start').length;
const reRuns = totalRuns - JOBS;
const workersKilled = workerKills + workersKilledWithManagers;

// Runs of one job that overlapped in time: at-least-once delivery after a killed manager left
// its commands running (informational: the orphan cleanup is not there yet).
let overlappingRuns = 0;
for (const [, jobRuns] of startsOf) {
  const spans = jobRuns.map((start) => {
    const end = runs.find((run) => run.shell === start.shell && run.event === 'end');
    return { from: start.ns, to: end?.ns ?? start.ns };
  });
  spans.forEach((a, i) => spans.forEach((b, j) => (i < j && a.from < b.to && b.from < a.to ? overlappingRuns++ : 0)));
}

const lock = checkLockLog(readFileSync(lockLog, 'utf8'), killedAt);
const storedIds = stored.map((job) => job.id);
const notCompleted = stored.filter((job) => job.state !== 'completed').map((job) => `${job.id} (${job.state})`);
const missing = ids.filter((id) => !storedIds.includes(id));
const duplicates = storedIds.filter((id, i) => storedIds.indexOf(id) !== i);
const neverRan = ids.filter((id) => !startsOf.has(id));
const neverEnded = ids.filter((id) => !(startsOf.get(id) ?? []).some((run) => endedShells.has(run.shell)));

const checks: [string, boolean, string][] = [
  ['all jobs drained in time', drained, drained ? '' : `still not done after 10 min: ${JSON.stringify(status.counts)}`],
  ['every job stored exactly once', missing.length === 0 && duplicates.length === 0, `missing: ${missing.join(' ')} duplicated: ${duplicates.join(' ')}`],
  ['every job completed', notCompleted.length === 0, notCompleted.slice(0, 10).join(', ')],
  ['every job ran at least once to its end', neverRan.length === 0 && neverEnded.length === 0, `never ran: ${neverRan.join(' ')} never ended: ${neverEnded.join(' ')}`],
  ['re-runs ≤ workers killed', reRuns <= workersKilled, `${reRuns} re-runs for ${workersKilled} killed workers`],
  ['no two lock holders at once', lock.overlaps.length === 0 && lock.maxHolders <= 1, `${lock.overlaps.length} overlaps`],
  ['lock log consistent', lock.problems.length === 0, lock.problems.slice(0, 5).join('; ')],
];

const seconds = (ns: bigint) => (Number(ns / 1_000_000n) / 1000).toFixed(1);
const rows: [string, string][] = [
  ['seed', String(SEED)],
  ['workers', `${WORKERS} under ${MANAGERS} manager(s), lease ${LEASE_S} s`],
  ['jobs', `${JOBS} (0.05–0.5 s each)${archived.length > 0 ? `, ${archived.length} of them archived by retention` : ''}`],
  ['runs', `${totalRuns}`],
  ['kills', `${kills}: ${workerKills} worker children, ${managerKills} managers with ${workersKilledWithManagers} children (${managerStarts - MANAGERS} restarts)`],
  ['re-runs', `${reRuns} (≤ ${workersKilled} workers killed)`],
  ['runs of a job at once', `${overlappingRuns} (commands orphaned by a killed manager)`],
  ['lock acquisitions', `${lock.acquisitions}`],
  [
    'killed holding the lock',
    `${lock.abandoned.length}${lock.takeoverWaits.length > 0 ? ` (taken over after ${lock.takeoverWaits.map(seconds).join(', ')} s)` : ''}`,
  ],
  ['max lock overlap', `${lock.overlaps.length} (max holders at once: ${lock.maxHolders})`],
  ['wall time', `${wallSeconds.toFixed(1)} s`],
];
const width = Math.max(...rows.map(([key]) => key.length));
console.log(`queuectl stress: ${dataDir}`);
for (const [key, value] of rows) console.log(`  ${key.padEnd(width)}  ${value}`);
console.log('');
for (const [name, ok, detail] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'}  ${name}${ok || !detail ? '' : `: ${detail}`}`);

const failed = checks.some(([, ok]) => !ok);
if (failed) {
  console.log(`\nkept for inspection: ${dataDir} and ${work} (runs.log, lock.log, managers.log)`);
} else {
  if (!keepData) rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
