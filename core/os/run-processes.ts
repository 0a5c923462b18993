/**
 * Finding and stopping the processes of one job's run from outside the worker that started it:
 * for `queuectl cancel`, and for a manager taking back a job whose run outlived its worker
 * (each job command runs in a process group of its own, so nothing kills it with its worker).
 * Every run has QUEUECTL_DATA_DIR and QUEUECTL_JOB_ID in its environment and its children
 * inherit them, so /proc/<pid>/environ names the run's processes, even those
 * that left its process group. Each one's process group gets SIGTERM, then SIGKILL after a
 * grace period, as the runner does on a timeout.
 *
 * Linux only: where there is no /proc nothing is found; the manager of the run then has its
 * worker stop it when its next lock cycle finds the lease gone (the manager renews leases, not
 * the worker).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { LocalRun } from '../rules/orphans.js';
import { readProcStat } from './proc-stat.js';
import { sendSignal } from './signals.js';

export interface RunProcess {
  pid: number;
  /** Its process group: the run's `sh` leads one, a child that called setsid leads another. */
  pgid: number;
}

/** The job whose run a process environment (`/proc/<pid>/environ`, NUL-separated) is, in data dir `root`. */
export function runJobId(environ: string, root: string): string | undefined {
  const vars = environ.split('\0');
  if (!vars.includes(`QUEUECTL_DATA_DIR=${root}`)) return undefined;
  return valueOf(vars, 'QUEUECTL_JOB_ID');
}

/** The live processes of job `id`'s run in data dir `root` (never this process). */
export function findRunProcesses(root: string, id: string): RunProcess[] {
  return findRunProcessesOfJobs(root, [id]).get(id)!;
}

/** The live processes of the runs of several jobs, in one pass over /proc. */
export function findRunProcessesOfJobs(root: string, ids: readonly string[]): Map<string, RunProcess[]> {
  const found = new Map(ids.map((id): [string, RunProcess[]] => [id, []]));
  if (ids.length === 0) return found;
  for (const { key, pid, pgid } of findProcesses((environ) => runJobId(environ, root))) found.get(key)?.push({ pid, pgid });
  return found;
}

/** How close to the end of the grace a process still alive counts as one that SIGTERM did not stop. */
const GRACE_END_MS = 500;

/** Every run carries its lease token here, so that its processes can be found by claim. */
export const TOKEN_VARIABLE = 'QUEUECTL_LEASE_TOKEN';

/**
 * SIGKILLs every process (and its process group) of the runs claimed with `tokens`: runs left
 * behind by workers that died with their manager, whose jobs were taken back. Returns the pids.
 */
export function killRunsByToken(tokens: readonly string[]): number[] {
  if (tokens.length === 0) return [];
  const wanted = new Set(tokens.map((token) => `${TOKEN_VARIABLE}=${token}`));
  const found = findProcesses((environ) => environ.split('\0').find((variable) => wanted.has(variable)));
  const ownGroup = ownProcessGroup();
  for (const { pid, pgid } of found) {
    if (pgid > 1 && pgid !== ownGroup) sendSignal(-pgid, 'SIGKILL');
    sendSignal(pid, 'SIGKILL');
  }
  return found.map(({ pid }) => pid);
}

/** Whether any process of the run claimed with `token` is alive (never on a system without /proc). */
export function runAliveByToken(token: string): boolean {
  return runDataDirsByToken([token]).has(token);
}

/**
 * For the runs claimed with `tokens` that have a live process: the data dir (QUEUECTL_DATA_DIR)
 * it runs under, '' if it has none. On a store that several data dirs of one host share, a run
 * may be under another than the one that asks. One pass over /proc.
 */
export function runDataDirsByToken(tokens: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  if (tokens.length === 0) return found;
  const wanted = new Set(tokens.map((token) => `${TOKEN_VARIABLE}=${token}`));
  const processes = findProcesses((environ) => {
    const vars = environ.split('\0');
    const token = vars.find((variable) => wanted.has(variable));
    if (token === undefined) return undefined;
    const dataDir = valueOf(vars, 'QUEUECTL_DATA_DIR') ?? '';
    return { token: token.slice(TOKEN_VARIABLE.length + 1), dataDir };
  });
  for (const { key } of processes) found.set(key.token, key.dataDir);
  return found;
}

/**
 * The runs of store `store` (their QUEUECTL_STORE, as their managers gave it) going on on this
 * host: those whose `sh`, the leader of the run's process group, lives. A run whose `sh` has
 * ended is over, even if something it started in the background goes on (a daemon a job meant
 * to leave running). One pass over /proc.
 */
export function findRunsOfStore(store: string): LocalRun[] {
  const storeVariable = `QUEUECTL_STORE=${store}`;
  const processes = findProcesses((environ) => {
    const vars = environ.split('\0');
    if (!vars.includes(storeVariable)) return undefined;
    const token = valueOf(vars, TOKEN_VARIABLE);
    const id = valueOf(vars, 'QUEUECTL_JOB_ID');
    return token === undefined || id === undefined ? undefined : { token, id };
  });
  const runs: LocalRun[] = [];
  for (const { pid, pgid, ppid, key } of processes) {
    if (pid !== pgid) continue;
    // Its worker, its parent, died: it was handed to init (1) or a subreaper, or its parent is gone meanwhile.
    const workerGone = ppid <= 1 || readProcStat(ppid) === null;
    runs.push({ id: key.id, token: key.token, workerGone });
  }
  return runs;
}

/** The value of variable `name` in an environment split into its `NAME=value` entries. */
function valueOf(vars: readonly string[], name: string): string | undefined {
  return vars.find((variable) => variable.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** Live processes (not this one) for which `keyOf` finds a key in their environment, with it. */
function findProcesses<K>(keyOf: (environ: string) => K | undefined): (RunProcess & { ppid: number; key: K })[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: (RunProcess & { ppid: number; key: K })[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const key = keyOf(readFileSync(`/proc/${pid}/environ`, 'utf8'));
      if (key === undefined) continue;
      const stat = readProcStat(pid);
      if (stat && stat.state !== 'Z') found.push({ pid, pgid: stat.pgid, ppid: stat.ppid, key });
    } catch {
      // Gone meanwhile, or another user's process.
    }
  }
  return found;
}

function ownProcessGroup(): number | null {
  return readProcStat('self')?.pgid ?? null;
}

export interface StopOptions {
  /** Milliseconds between SIGTERM and SIGKILL. */
  graceMs: number;
  /**
   * Keep looking until this instant (epoch ms) even while nothing is found: a run claimed a
   * moment ago may not have started its command yet.
   */
  watchUntil?: number;
  /**
   * The run's processes as found when the stop was decided (for cancel: under the lock, before
   * the cancel was written). Their worker learns of the cancel as soon as it is written and may
   * end them first; they were stopped all the same, and count among `pids`.
   */
  found?: readonly RunProcess[];
  /**
   * For this long from the start, only watch: the run's own worker, told by its manager, stops it
   * and writes in its log why (a cancel), which a signal from here, coming first, would leave it
   * unable to say. What is left after that is signalled from here. @default 0
   */
  ownerFirstMs?: number;
  /** How long to wait for the processes to go after SIGKILL. @default 2000 */
  killWaitMs?: number;
  pollMs?: number;
}

export interface StopResult {
  /** Every process of the run that was stopped: signalled here, or found and gone meanwhile. */
  pids: number[];
  /**
   * Whether some outlived SIGTERM to the end of the grace period, so SIGKILL stopped them: this
   * one's, or that of the run's worker, which stops a run it loses with the same grace.
   */
  killed: boolean;
  /** Processes still there at the end (not ours to kill, or stuck in the kernel). */
  remaining: number[];
}

/**
 * Stops every process of job `id`'s run: SIGTERM to each one's process group, SIGKILL to the
 * ones still there after `graceMs`; processes that appear meanwhile are caught by the next
 * scan. Resolves when none is left. This process's own group (a job that cancels itself) is
 * never signalled as a whole: its other members are signalled one by one.
 */
export async function stopRunProcesses(root: string, id: string, options: StopOptions): Promise<StopResult> {
  const { graceMs, watchUntil = 0, found = [], ownerFirstMs = 0, killWaitMs = 2_000, pollMs = 50 } = options;
  const ownGroup = ownProcessGroup();
  const start = Date.now();
  const signalFrom = start + ownerFirstMs;
  const seen = new Set<number>(found.map(({ pid }) => pid));
  const termed = new Set<number>();
  let killAt = signalFrom + graceMs;
  let killed = false;
  for (;;) {
    const processes = findRunProcesses(root, id);
    const now = Date.now();
    // Once some were found and none is left, the run has started and is over; until then, keep
    // looking through `watchUntil` in case its command has not started yet.
    if (processes.length === 0 && (seen.size > 0 || now >= watchUntil)) return { pids: [...seen], killed, remaining: [] };
    if (now < signalFrom) {
      for (const { pid } of processes) seen.add(pid);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      continue;
    }
    if (processes.length > 0 && termed.size === 0) killAt = now + graceMs; // the grace starts with the first signal
    const signal: NodeJS.Signals = now >= killAt ? 'SIGKILL' : 'SIGTERM';
    // Alive at the end of the grace: whoever's SIGKILL comes first (the worker's may, by a few
    // milliseconds, or by up to ownerFirstMs where the worker's SIGTERM came first), it is what
    // stops them.
    if (processes.length > 0 && now >= Math.min(killAt, start + graceMs) - GRACE_END_MS) killed = true;
    for (const { pid, pgid } of processes) {
      seen.add(pid);
      if (signal === 'SIGTERM' && termed.has(pid)) continue;
      termed.add(pid);
      if (pgid > 1 && pgid !== ownGroup) sendSignal(-pgid, signal);
      sendSignal(pid, signal);
    }
    if (killed && now >= killAt + killWaitMs) {
      return { pids: [...seen], killed, remaining: processes.map((process_) => process_.pid) };
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
