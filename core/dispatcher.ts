/**
 * The manager's link to the store: it gathers what its workers need (jobs for idle workers,
 * outcomes to record, leases to renew) and settles all of it in one lock cycle (see
 * dispatch-cycle.ts). Requests that arrive while a cycle runs wait for the next one, so under
 * load each cycle carries more and the number of cycles per job falls.
 *
 * An idle manager wakes on a change of queue.json (fs.watch), so a job enqueued now starts
 * now; polling every `poll_interval` stays as the fallback for file systems without change
 * events, and a timer wakes it when the soonest delayed job is due.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import type { Config } from './config.js';
import { dispatchCycle, type CycleResult, type RunRef } from './dispatch-cycle.js';
import type { Job, ProcessingJob } from './job.js';
import { describeOutcome, type RunOutcome } from './outcome.js';
import { killRunsByToken } from './run-processes.js';
import type { QueueStore } from '../store/queue-store.js';

export interface DispatcherOptions {
  store: QueueStore;
  log: (line: string) => void;
  /** Hands a job claimed for the worker `pid` to it. */
  assign: (pid: number, job: ProcessingJob) => void;
  /** The job of a run is no longer its own (taken back, canceled): the worker must stop it. */
  revoke: (pid: number, run: RunRef, reason: string) => void;
}

interface Outcome extends RunRef {
  outcome: RunOutcome;
  /** When the worker started the command; null when the run was lost with its worker. */
  startedAt: string | null;
  seconds: number | null;
}

interface Held {
  id: string;
  /** The worker the job was handed to. */
  pid: number;
  /** Whether the worker has started it (else it waits behind the worker's current run). */
  started: boolean;
}

/** Wait before a cycle that failed (a corrupt file, a lock held too long) is tried again. */
const RETRY_AFTER_ERROR_MS = 1_000;

export class Dispatcher {
  /** One entry per job a worker can take now (a worker has up to two: one to run, one next). */
  private slots: number[] = [];
  /** Workers alive, as far as the manager knows: a slot or claim of any other is void. */
  private readonly live = new Set<number>();
  /** Workers forked but not ready yet: while there are any, no worker gets a second job. */
  private readonly starting = new Set<number>();
  /** Workers stopping: they run what they have and get nothing more. */
  private readonly retiring = new Set<number>();
  /** Tokens of the outcomes the cycle in flight is recording. */
  private recording = new Set<string>();
  /** Jobs claimed and handed to workers, by lease token. */
  private readonly running = new Map<string, Held>();
  private outcomes: Outcome[] = [];
  private releases: RunRef[] = [];
  /** queue.json was changed by another process, which may still hold the lock. */
  private changeSeen = false;
  private claiming = true;
  private cycling = false;
  private again = false;
  private closed = false;
  private config: Config;
  private lastRenewal = Date.now();
  private wakeTimer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private lastError = '';
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: DispatcherOptions) {
    this.config = options.store.readConfig();
  }

  start(): void {
    const { paths } = this.options.store;
    try {
      this.watcher = watch(paths.root, (_event, filename) => {
        if (filename === 'queue.json') {
          if (!this.options.store.queueChangedElsewhere()) return;
          this.changeSeen = true;
        } else if (filename !== '.lock' || !this.changeSeen) {
          return;
        }
        // The writer renamed queue.json with the lock still held: a cycle now would only wait
        // out proper-lockfile's retry delay. Its release (an event on .lock) is the moment.
        if (existsSync(paths.lock)) return;
        this.changeSeen = false;
        if (this.running.size > 0) this.checkHeld();
        if (this.slots.length > 0 && this.claiming) this.request();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No change events here: polling alone finds new jobs.
    }
  }

  /** Worker `pid` was started; it says when it is ready. */
  added(pid: number): void {
    this.live.add(pid);
    this.starting.add(pid);
  }

  /** Worker `pid` can take `count` more jobs. */
  ready(pid: number, count = 1): void {
    this.live.add(pid);
    this.starting.delete(pid);
    if (!this.claiming || this.retiring.has(pid)) return;
    for (let i = 0; i < count; i++) this.slots.push(pid);
    this.request();
  }

  /** Worker `pid` is stopping: no more jobs for it. */
  retire(pid: number): void {
    this.retiring.add(pid);
    this.starting.delete(pid);
    this.slots = this.slots.filter((slot) => slot !== pid);
  }

  /** The worker started the run. */
  started(token: string): void {
    const held = this.running.get(token);
    if (held) held.started = true;
  }

  /** A run ended. */
  finished(run: RunRef, outcome: RunOutcome, startedAt: string | null, seconds: number | null): void {
    this.outcomes.push({ ...run, outcome, startedAt, seconds });
    this.request();
  }

  /** A worker gave back a job it did not start: it goes back to the queue, no attempt counted. */
  released(run: RunRef): void {
    if (!this.running.delete(run.token)) return; // revoked: no longer ours anyway
    this.releases.push(run);
    this.request();
  }

  /**
   * Worker `pid` is gone: its run is recorded as lost (an attempt), the jobs queued behind it
   * go back (no attempt). The first job it held counts as started even without its "started"
   * message, which a worker killed right after the spawn may never have sent: a job that kills
   * its own worker must use up its attempts, not loop forever.
   */
  gone(pid: number, reason: string): void {
    const wasLeaving = this.retiring.delete(pid);
    this.live.delete(pid);
    this.starting.delete(pid);
    this.slots = this.slots.filter((slot) => slot !== pid);
    const lost: string[] = [];
    // A worker that was stopping gave back what it did not start: only a "started" counts.
    let first = !wasLeaving;
    // A Map iterates in insertion order: the order the jobs were handed to the worker.
    for (const [token, held] of this.running) {
      if (held.pid !== pid || this.hasOutcome(token)) continue;
      if (held.started || first) {
        lost.push(token);
        this.finished({ id: held.id, token }, { kind: 'lost', reason }, null, null);
      } else {
        this.released({ id: held.id, token });
      }
      first = false;
    }
    // Its command runs in a group of its own, which the manager kills when it knows the group;
    // this finds it when the worker died before it could say.
    killRunsByToken(lost);
  }

  /** No more claims: running jobs finish and are recorded. */
  stopClaiming(): void {
    this.claiming = false;
    this.slots = [];
  }

  /** Resolves once no run is in progress and every outcome is written (or given up on). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.wakeTimer);
    this.watcher?.close();
  }

  private hasOutcome(token: string): boolean {
    return this.recording.has(token) || this.outcomes.some((outcome) => outcome.token === token);
  }

  private isIdle(): boolean {
    return this.running.size === 0 && this.outcomes.length === 0 && this.releases.length === 0 && !this.cycling;
  }

  private request(): void {
    if (this.closed) return;
    if (this.cycling) {
      this.again = true;
      return;
    }
    this.cycling = true;
    clearTimeout(this.wakeTimer);
    // setImmediate, not now: events of the same turn (four workers reporting) share the cycle.
    setImmediate(() => void this.cycle());
  }

  private async cycle(): Promise<void> {
    let delay: number | null;
    do {
      this.again = false;
      delay = await this.runOnce();
    } while (this.again && !this.closed);
    this.cycling = false;
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.scheduleWake(delay);
  }

  /** One lock cycle. Returns how long until the next one is needed (null: only on events). */
  private async runOnce(): Promise<number | null> {
    const outcomes = this.outcomes;
    const release = this.releases;
    this.outcomes = [];
    this.releases = [];
    const claimFor = this.claiming ? this.takeSlots() : [];
    const started = Date.now();
    const renewDue = this.running.size > 0 && started - this.lastRenewal >= this.renewEveryMs();
    const ending = new Set(outcomes.map((outcome) => outcome.token));
    const held = [...this.running].filter(([token]) => !ending.has(token)).map(([token, run]) => ({ id: run.id, token }));
    const renew = renewDue ? held : [];
    if (outcomes.length === 0 && release.length === 0 && claimFor.length === 0 && renew.length === 0) return this.nextWakeMs(null);
    // Every cycle checks the jobs it does not renew as well: a change by another process that
    // this cycle is first to read (a cancel) is acted on now, not at the next renewal.
    const verify = renewDue ? [] : held;

    let result: CycleResult;
    this.recording = new Set(outcomes.map((outcome) => outcome.token));
    try {
      result = await this.options.store.transact((tx) => {
        const cycle = dispatchCycle(tx, { outcomes, release, renew, verify, claimFor }, new Date(), randomUUID);
        this.config = tx.config();
        return cycle;
      });
    } catch (error) {
      // Nothing was written: keep the requests for the next try.
      this.outcomes.unshift(...outcomes);
      this.releases.unshift(...release);
      if (this.claiming) this.slots.unshift(...claimFor.filter((pid) => this.live.has(pid)));
      this.reportError(error);
      return RETRY_AFTER_ERROR_MS;
    } finally {
      this.recording = new Set();
    }
    this.lastError = '';
    if (renewDue) this.lastRenewal = started;
    this.apply(result, outcomes, claimFor);
    return this.nextWakeMs(result.nextReadyAt);
  }

  private apply(result: CycleResult, outcomes: readonly Outcome[], claimFor: readonly number[]): void {
    const { log } = this.options;
    outcomes.forEach((run, index) => {
      this.running.delete(run.token);
      const job = result.recorded[index];
      if (job) log(describeRecorded(job, run));
      else log(`${run.id}: ${result.dropped[index]}; this run's outcome is dropped (${describeOutcome(run.outcome)})`);
    });
    for (const run of result.lost) this.revoke(run, run.because === 'canceled' ? 'it was canceled' : 'the job was taken back');
    result.claimed.forEach((job, index) => {
      const pid = claimFor[index]!;
      if (!this.live.has(pid) || this.retiring.has(pid) || !this.claiming) {
        // Its worker died or began to stop while the cycle ran: the job goes back at once, no
        // attempt counted.
        this.releases.push({ id: job.id, token: job.lease.token });
        this.request();
        return;
      }
      this.running.set(job.lease.token, { id: job.id, pid, started: false });
      this.options.assign(pid, job);
    });
    if (this.claiming) {
      this.slots.push(...claimFor.slice(result.claimed.length).filter((pid) => this.live.has(pid) && !this.retiring.has(pid)));
    }
    if (result.recovered.length > 0) {
      for (const { job, token } of result.recovered) {
        log(`took back ${job.id}: ${job.last_error} -> ${job.state}`);
        if (this.running.has(token)) this.revoke({ id: job.id, token }, 'its lease ran out');
      }
      const killed = killRunsByToken(result.recovered.map(({ token }) => token));
      if (killed.length > 0) log(`killed ${killed.length} process(es) still running lost runs: ${killed.join(', ')}`);
    }
  }

  /**
   * After another process changed queue.json: are the jobs handed to workers still theirs? A
   * job canceled while it waits in its worker must not start; one canceled while it runs is
   * killed by `cancel` itself, and its worker is told here. Read without the lock: a job's
   * claim only ever goes away, so a file that no longer holds it is proof enough.
   */
  private checkHeld(): void {
    let jobs: readonly Job[];
    try {
      jobs = this.options.store.readQueue();
    } catch {
      return; // a broken file: the next cycle reports it
    }
    const ids = new Set([...this.running.values()].map((held) => held.id));
    const current = new Map<string, Job>();
    for (const job of jobs) if (ids.has(job.id)) current.set(job.id, job);
    for (const [token, held] of this.running) {
      const job = current.get(held.id);
      if (job?.state === 'processing' && job.lease.token === token) continue;
      if (this.hasOutcome(token)) continue; // ended: the cycle says what happened
      this.revoke({ id: held.id, token }, job?.state === 'canceled' ? 'it was canceled' : 'the job was taken back');
    }
  }

  private revoke(run: RunRef, reason: string): void {
    const holder = this.running.get(run.token);
    if (!holder) return;
    this.running.delete(run.token);
    this.options.log(`${run.id}: stopping its run on worker ${holder.pid}: ${reason}`);
    this.options.revoke(holder.pid, run, reason);
  }

  /**
   * The free slots in the order they get jobs: a worker with nothing to do before a worker
   * that would queue the job behind its current run, so no worker idles while another holds
   * two jobs. While a worker is still starting, no worker gets a second job: the starting one
   * will want it.
   */
  private takeSlots(): number[] {
    const load = new Map<number, number>();
    for (const held of this.running.values()) load.set(held.pid, (load.get(held.pid) ?? 0) + 1);
    const ranked = this.slots.map((pid) => {
      const rank = load.get(pid) ?? 0;
      load.set(pid, rank + 1);
      return { pid, rank };
    });
    const now = ranked.filter(({ rank }) => rank === 0 || this.starting.size === 0);
    this.slots = ranked.filter(({ rank }) => rank > 0 && this.starting.size > 0).map(({ pid }) => pid);
    return now.sort((a, b) => a.rank - b.rank).map(({ pid }) => pid);
  }

  private renewEveryMs(): number {
    return (this.config.lease * 1000) / 3;
  }

  /** The next timed wake: a due renewal, the poll interval, or the soonest delayed job. */
  private nextWakeMs(nextReadyAt: string | null): number | null {
    let delay = Infinity;
    if (this.running.size > 0) delay = this.lastRenewal + this.renewEveryMs() - Date.now();
    if (this.slots.length > 0 && this.claiming) {
      delay = Math.min(delay, this.config.poll_interval);
      if (nextReadyAt !== null) delay = Math.min(delay, Date.parse(nextReadyAt) - Date.now());
    }
    return delay === Infinity ? null : Math.max(delay, 5);
  }

  private scheduleWake(delay: number | null): void {
    clearTimeout(this.wakeTimer);
    if (delay === null || this.closed) return;
    this.wakeTimer = setTimeout(() => this.request(), delay);
  }

  /** Logs an error once until a different one occurs, so a broken file does not flood the log. */
  private reportError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message === this.lastError) return;
    this.lastError = message;
    this.options.log(`error: ${message}`);
  }
}

function describeRecorded(job: Job, run: Outcome): string {
  const after = run.seconds === null ? '' : ` after ${run.seconds.toFixed(2)} s`;
  switch (job.state) {
    case 'completed':
      return `${job.id}: completed${after}`;
    case 'failed':
      return `${job.id}: failed${after}: ${job.last_error}; retry at ${job.run_at}`;
    case 'dead':
      return `${job.id}: dead${after}: ${job.last_error}; moved to the DLQ`;
    default:
      return `${job.id}: ${job.state}${after}`;
  }
}
