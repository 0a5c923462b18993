/**
 * The manager's link to the store: it gathers what its workers need (jobs for idle workers,
 * starts and outcomes to record, leases to renew) and settles all of it in one dispatch cycle of
 * the store (Store.cycle: in the file store, one lock cycle). Requests that arrive while a cycle runs wait for the next one, so under
 * load each cycle carries more and the number of cycles per job falls.
 *
 * Jobs are claimed a little ahead: besides one for each idle worker, a cycle claims one more for
 * each worker whose run started less than `holdMs` ago, and holds them here, in claim order, not
 * in any worker. Whichever worker frees first takes the oldest at once, without waiting for a
 * lock cycle, so a stream of short jobs keeps every worker busy. A held job that no worker took
 * within `holdMs` goes back to the queue, where any manager's free worker can claim it: a job
 * never waits behind a busy worker for longer than that. Only young runs are held for: a worker
 * whose run has gone on longer than that is not likely to free soon. With other managers on the
 * store, a held job is out of their free workers' reach, and they may take a later or
 * lower-priority job meanwhile; so there a manager holds jobs only while its runs are short (the
 * last one to end here ended young), when each held job starts within moments. Without holding,
 * each job of a stream of short ones would wait for a dispatch cycle between two runs, which
 * halves what two managers drain (measured in the README). Held jobs are
 * `processing` with no worker (see ClaimedJob); a job's start is recorded by the next cycle
 * after its worker says it started.
 *
 * An idle manager wakes when the store reports a change (see Store.watch), so a job enqueued
 * now starts now; polling every `poll_interval` stays as the fallback for file systems without change
 * events, and a timer wakes it when the soonest delayed job is due.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../rules/config.js';
import type { LogPiece, RunLogs } from '../ports/host.js';
import type { CycleResult, RunEnd, RunRef, RunStart, Store } from '../ports/store.js';
import { queueOf, type ClaimedJob, type Job, type ProcessingJob } from '../rules/job.js';
import { reconnectDelayMs } from '../rules/backoff.js';
import { describeOutcome, type RunOutcome } from '../rules/outcome.js';
import { killRunsByToken, runAliveByToken } from '../os/run-processes.js';

/** How long a claimed job may wait in its manager for a free worker before it goes back. */
export const HOLD_MS = 100;
/** At most this many jobs are held for each young run (see claimWanted). */
const MAX_AHEAD_PER_RUN = 8;
/** A start is recorded with the next cycle, or after this long when no cycle comes sooner. */
const START_RECORD_MS = 10;
/**
 * While every worker is busy and a held job waits for each next one to free, no worker waits on
 * the next cycle: it starts this much later, also when asked for while a cycle ran, so that it
 * records the outcomes of runs that end meanwhile too (one cycle for several short runs, not one
 * each). Each cycle costs the store a transaction and this process its round trips, whatever it
 * carries: in a PostgreSQL drain of 1,000 `true` jobs on 2 managers of 2 workers, 5 ms took
 * 770–1,070 transactions and 30 ms 290–460, with 30–60% less CPU in the database and 10–40% less
 * in the managers (README, "Choosing a store"). An outcome is then recorded up to this much
 * later, and only while every worker has a job to go on with.
 */
export const GATHER_MS = 30;
/**
 * After cycles failed (the store could not be reached), leases that ran out meanwhile are left
 * alone this long once it is reached again: other managers cut off by the same outage reach it
 * within their next try (reconnectDelayMs, at most 10 s) and renew them at once. Taking them
 * back sooner would kill and run again the jobs of every host but the first one back.
 */
const RECOVER_AFTER_OUTAGE_MS = 12_000;
/** The longest delay setTimeout takes (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DispatcherOptions {
  store: Store;
  /** The logs of the runs, for a line on a lost run and to tell whether a run started. */
  logs: RunLogs;
  /** The settings as the manager read them at its start; every cycle reads them anew. */
  config: Config;
  log: (line: string) => void;
  /** Hands a job claimed for the idle worker `pid` to it, with the settings as of the last cycle. */
  assign: (pid: number, job: ClaimedJob, config: Config) => void;
  /** The job of a run is no longer its own (taken back, canceled): the worker must stop it. */
  revoke: (pid: number, run: RunRef, reason: string) => void;
  /** How long a claimed job may wait here for a free worker. @default HOLD_MS */
  holdMs?: number;
  /** How long leases that ran out are left alone once the store is reached again after cycles failed. @default RECOVER_AFTER_OUTAGE_MS */
  recoverAfterOutageMs?: number;
  /**
   * Whether this is the only manager on the store. With others, jobs are claimed ahead only
   * while runs here are short (see claimWanted). @default () => true
   */
  alone?: () => boolean;
  /** The queues to take jobs from (`worker start --queue`); null for every queue. @default null */
  queues?: readonly string[] | null;
  /** This host's name, recorded in the lease of each run started here. */
  host?: string;
}

/** A job handed to a worker. */
interface Run {
  job: ClaimedJob;
  pid: number;
  /** When it was handed over (epoch ms): the start of its run as far as the manager knows. */
  handedMs: number;
  /** When the worker started it, once it said so. */
  startedAt: string | null;
}

/** A claimed job waiting here for the next free worker. */
interface Held {
  job: ClaimedJob;
  /** Date.now() when it was claimed. */
  since: number;
}

export class Dispatcher {
  /** Workers alive, as far as the manager knows: a claim for any other is void. */
  private readonly live = new Set<number>();
  /** Workers stopping: they run what they have and get nothing more. */
  private readonly retiring = new Set<number>();
  /** Workers with nothing to run, in the order they became idle. */
  private idle: number[] = [];
  /** Jobs handed to workers, by lease token. */
  private readonly runs = new Map<string, Run>();
  /** Jobs claimed for the next free worker, by lease token, in claim order. */
  private readonly held = new Map<string, Held>();
  /** Tokens of the outcomes the cycle in flight is recording. */
  private recording = new Set<string>();
  private starts: RunStart[] = [];
  private outcomes: RunEnd[] = [];
  private releases: RunRef[] = [];
  private claiming = true;
  private cycling = false;
  /** A cycle that waits to gather (see GATHER_MS). */
  private gatherTimer: NodeJS.Timeout | undefined;
  private again = false;
  private closed = false;
  private config: Config;
  private lastRenewal = Date.now();
  /** When the soonest delayed job becomes ready, as the last cycle saw it. */
  private nextReadyAt: string | null = null;
  private wakeTimer: NodeJS.Timeout | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private stopWatching: () => void = () => undefined;
  /** Cycles that failed in a row. */
  private failures = 0;
  /** When a cycle succeeded again after cycles failed (see RECOVER_AFTER_OUTAGE_MS); null when none failed. */
  private backSince: number | null = null;
  private idleWaiters: (() => void)[] = [];
  /** Settles when the cycles started by the last request have ended. */
  private cycleDone: Promise<void> = Promise.resolve();
  private readonly holdMs: number;
  /** How long the last lock cycle took, in ms. */
  private lastCycleMs = 0;
  /** How long a short run takes here, hand-over to outcome, in ms: a moving average of the runs that ended young. */
  private shortRunMs: number;
  /** The last run to end here ended within `holdMs` of its hand-over: runs here are short. */
  private lastRunShort = false;

  constructor(private readonly options: DispatcherOptions) {
    this.config = options.config;
    this.holdMs = options.holdMs ?? HOLD_MS;
    this.shortRunMs = this.holdMs;
  }

  start(): void {
    this.stopWatching = this.options.store.watch((change) => {
      if (change === 'config') {
        // `pause` or `resume`, or a setting: the next cycle reads it (and claims, once resumed).
        if (this.claimWanted() > 0 || this.held.size > 0) this.request();
        return;
      }
      // Canceled, taken back, restarted: a claim of this manager may be gone. Another manager's
      // dispatch cycle takes nothing from anyone, and with many managers that would be a read
      // for every cycle of every other one.
      if (change === 'jobs' && (this.runs.size > 0 || this.held.size > 0)) void this.checkHeld();
      if (this.claimWanted() > 0) this.request();
    });
  }

  /** How many claimed jobs wait here for a free worker. */
  get holding(): number {
    return this.held.size;
  }

  /** Worker `pid` was started; it says when it is ready. */
  added(pid: number): void {
    this.live.add(pid);
  }

  /** Worker `pid` has nothing to run: it takes the oldest held job now, or waits for a claim. */
  ready(pid: number): void {
    this.live.add(pid);
    if (!this.claiming || this.retiring.has(pid) || this.idle.includes(pid)) return;
    const now = Date.now();
    // One held past its bound is the next cycle's to give back: after a freeze of this process,
    // its lease may have run out and another manager may run it already. Paused, none starts.
    const fresh = [...this.held].find(([, held]) => now - held.since < this.holdMs && this.mayStart(held.job));
    if (fresh) {
      const [token, { job }] = fresh;
      this.held.delete(token);
      this.hand(pid, job);
    } else {
      this.idle.push(pid);
    }
    this.request();
  }

  /** Worker `pid` is stopping: no more jobs for it. */
  retire(pid: number): void {
    this.retiring.add(pid);
    this.idle = this.idle.filter((idle) => idle !== pid);
  }

  /** The worker started the run at `startedAt`: recorded with the next cycle. */
  started(token: string, startedAt: string): void {
    const run = this.runs.get(token);
    if (!run || run.startedAt !== null) return;
    run.startedAt = startedAt;
    this.starts.push({ id: run.job.id, token, workerPid: run.pid, startedAt, host: this.options.host });
    if (!this.cycling) this.armStartTimer();
  }

  private armStartTimer(): void {
    if (this.startTimer !== undefined || this.closed || this.starts.length === 0) return;
    this.startTimer = setTimeout(() => this.request(), START_RECORD_MS);
  }

  /**
   * A run ended: started at `startedAt` and ended at `endedAt` as its worker saw it (null: unseen,
   * the worker was lost). `log`: the end of its log, written by the cycle that records the outcome.
   */
  runEnded(ref: RunRef, outcome: RunOutcome, startedAt: string | null, endedAt: string | null, log?: LogPiece): void {
    const run = this.runs.get(ref.token);
    const workerPid = run?.pid ?? 0;
    this.starts = this.starts.filter((start) => start.token !== ref.token); // recorded with the outcome
    const handedAt = new Date(run?.handedMs ?? Date.now()).toISOString();
    const took = run === undefined ? null : Date.now() - run.handedMs;
    if (took !== null && took < this.holdMs) this.shortRunMs = 0.8 * this.shortRunMs + 0.2 * took;
    if (took !== null) this.lastRunShort = took < this.holdMs;
    this.outcomes.push({ ...ref, workerPid, host: this.options.host, startedAt: startedAt ?? run?.startedAt ?? handedAt, endedAt, outcome, ...(log === undefined ? {} : { log }) });
    this.request();
  }

  /** A worker gave back a job it did not start: the next free worker takes it. */
  released(ref: RunRef): void {
    const run = this.runs.get(ref.token);
    if (!run) return; // revoked: no longer ours anyway
    this.runs.delete(ref.token);
    this.hold(run.job, Date.now());
  }

  /**
   * Worker `pid` is gone: its run is recorded as lost (an attempt), even without its "started"
   * message, which a worker killed right after the spawn may never have sent: a job that kills
   * its own worker must use up its attempts, not loop forever. A worker that was stopping gave
   * back what it did not start, so for it only a "started" counts.
   */
  gone(pid: number, reason: string): void {
    const wasLeaving = this.retiring.delete(pid);
    this.live.delete(pid);
    this.idle = this.idle.filter((idle) => idle !== pid);
    const lost: string[] = [];
    for (const [token, run] of this.runs) {
      if (run.pid !== pid || this.hasOutcome(token)) continue;
      if (wasLeaving && run.startedAt === null) {
        // Most likely given back unstarted. Killed between its spawn and saying so, it would
        // have left its command running, which the kill below ends: so the claim goes back to
        // the queue (a new claim gets a new token) rather than to another worker.
        lost.push(token);
        this.runs.delete(token);
        this.releases.push({ id: run.job.id, token });
        this.request();
        continue;
      }
      lost.push(token);
      this.runEnded({ id: run.job.id, token }, { kind: 'lost', reason }, null, null);
    }
    // Its command runs in a group of its own, which the manager kills when it knows the group;
    // this finds it when the worker died before it could say.
    killRunsByToken(lost);
  }

  /** No more claims: held jobs go back, running jobs finish and are recorded. */
  stopClaiming(): void {
    this.claiming = false;
    this.idle = [];
    this.releaseHeld();
    if (this.releases.length > 0) this.request();
  }

  /** Resolves once no run is in progress and every outcome is written (or given up on). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once the cycle in flight, if any, is done, with the cycles it went on to (for tests). */
  cycled(): Promise<void> {
    return this.cycling ? this.cycleDone : Promise.resolve();
  }

  /**
   * No cycle starts from now on. Resolves once the cycle in flight, if any, has written its files
   * and released the lock (its writes span several turns of the event loop).
   */
  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.wakeTimer);
    clearTimeout(this.startTimer);
    clearTimeout(this.gatherTimer);
    this.stopWatching();
    return this.cycling ? this.cycleDone : Promise.resolve();
  }

  /** Whether a job claimed here may start now: neither everything nor its queue is paused. */
  private mayStart(job: ClaimedJob): boolean {
    return !this.config.paused && this.config.queues[queueOf(job)]?.paused !== true;
  }

  private hand(pid: number, job: ClaimedJob): void {
    this.runs.set(job.lease.token, { job, pid, handedMs: Date.now(), startedAt: null });
    this.options.assign(pid, job, this.config);
  }

  private hold(job: ClaimedJob, since: number): void {
    if (!this.claiming || !this.mayStart(job)) {
      this.releases.push({ id: job.id, token: job.lease.token });
      this.request();
      return;
    }
    const pid = this.idle.shift();
    if (pid !== undefined) this.hand(pid, job);
    else {
      this.held.set(job.lease.token, { job, since });
      this.scheduleWake(this.nextWakeMs());
    }
  }

  /**
   * How many jobs a cycle should claim now: one per idle worker, and some per young run to hold
   * for (with other managers on the store, only while the last run to end here was short): one, or as many as such runs end while a lock cycle goes on, when cycles take longer
   * than short runs (a large queue), so that a cycle carries more outcomes and claims and fewer
   * cycles are needed.
   */
  private claimWanted(): number {
    if (!this.claiming) return 0;
    const now = Date.now();
    // Runs going on now: one that ended waits in `runs` for its outcome to be recorded, and
    // counting it (a slow cycle lets a worker end several) claimed dozens ahead for 4 workers.
    let young = 0;
    for (const [token, run] of this.runs) {
      if (!this.retiring.has(run.pid) && now - run.handedMs < this.holdMs && !this.hasOutcome(token)) young++;
    }
    if (young > 0 && !this.lastRunShort && !(this.options.alone?.() ?? true)) young = 0;
    // Until the next cycle brings more, a worker runs what is held for it: for as long as a cycle
    // takes, and the moment a cycle waits to gather outcomes (GATHER_MS) before it starts.
    const perRun = Math.min(MAX_AHEAD_PER_RUN, Math.max(1, Math.ceil((this.lastCycleMs + GATHER_MS) / Math.max(1, this.shortRunMs))));
    return this.idle.length + Math.max(0, young * perRun - this.held.size);
  }

  private hasOutcome(token: string): boolean {
    return this.recording.has(token) || this.outcomes.some((outcome) => outcome.token === token);
  }

  private isIdle(): boolean {
    return (
      this.runs.size === 0 &&
      this.held.size === 0 &&
      this.outcomes.length === 0 &&
      this.releases.length === 0 &&
      this.starts.length === 0 &&
      !this.cycling
    );
  }

  private request(now = false): void {
    if (this.closed) return;
    if (this.cycling) {
      this.again = true;
      return;
    }
    if (!now && this.mayGather()) {
      this.gatherTimer ??= setTimeout(() => {
        this.gatherTimer = undefined;
        this.request(true);
      }, GATHER_MS);
      return;
    }
    clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    this.cycling = true;
    clearTimeout(this.wakeTimer);
    // setImmediate, not now: events of the same turn (four workers reporting) share the cycle.
    this.cycleDone = new Promise((resolve) => setImmediate(() => void this.cycle().then(resolve)));
  }

  private async cycle(): Promise<void> {
    let delay: number | null = null;
    // Closed (the manager is done), no cycle starts: one asked for just before must not write.
    while (!this.closed) {
      this.again = false;
      delay = await this.runOnce();
      // What came while it ran gathers a moment more, as a request does (see GATHER_MS): a
      // stream of short runs then takes a cycle for every few runs, not one for each.
      if (!this.again || this.mayGather()) break;
    }
    const gather = this.again;
    this.cycling = false;
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.scheduleWake(delay);
    this.armStartTimer(); // starts reported while the cycle ran
    if (gather) this.request();
  }

  /**
   * Whether a cycle may wait a moment (GATHER_MS) for more to record: no worker waits on it
   * (each busy one has a held job to take when it frees) and nothing goes back to the queue.
   */
  private mayGather(): boolean {
    return this.idle.length === 0 && this.held.size > 0 && this.releases.length === 0 && GATHER_MS > 0;
  }

  /** Held jobs that waited past the bound go back to the queue, for any manager's free worker. */
  private expireHeld(now: number): void {
    this.releaseHeld(({ since }) => now - since >= this.holdMs);
  }

  /** Held jobs (those `which` picks, else all) go back to the queue with the next cycle. */
  private releaseHeld(which: (held: Held) => boolean = () => true): void {
    for (const [token, held] of this.held) {
      if (!which(held)) continue;
      this.held.delete(token);
      this.releases.push({ id: held.job.id, token });
    }
  }

  /** One lock cycle. Returns how long until the next one is needed (null: only on events). */
  private async runOnce(): Promise<number | null> {
    clearTimeout(this.startTimer);
    this.startTimer = undefined;
    const started = Date.now();
    this.expireHeld(started);
    const starts = this.starts;
    const outcomes = this.outcomes;
    const release = this.releases;
    this.starts = [];
    this.outcomes = [];
    this.releases = [];
    // Before the claim is reckoned: runs whose outcomes this cycle records have ended, and
    // counted as going on, each would have claimed up to MAX_AHEAD_PER_RUN more (a slow cycle
    // on a large queue gathers many: 400 held for 3 workers).
    this.recording = new Set(outcomes.map((outcome) => outcome.token));
    const claim = this.claimWanted();
    const renewDue = (this.runs.size > 0 || this.held.size > 0) && started - this.lastRenewal >= this.renewEveryMs();
    const ending = new Set(outcomes.map((outcome) => outcome.token));
    const current = [
      ...[...this.runs].filter(([token]) => !ending.has(token)).map(([token, run]) => ({ id: run.job.id, token })),
      ...[...this.held].map(([token, { job }]) => ({ id: job.id, token })),
    ];
    const renew = renewDue ? current : [];
    if (starts.length === 0 && outcomes.length === 0 && release.length === 0 && claim === 0 && renew.length === 0) {
      this.recording = new Set();
      return this.nextWakeMs();
    }
    // Every cycle checks the jobs it does not renew as well: a change by another process that
    // this cycle is first to read (a cancel) is acted on now, not at the next renewal.
    const verify = renewDue ? [] : current;

    let result: CycleResult;
    try {
      result = await this.options.store.cycle(
        { starts, outcomes, release, renew, verify, claim, queues: this.options.queues ?? null, recoverExpired: this.mayRecoverExpired(started) },
        { newToken: randomUUID, runStarted: (job) => this.runStarted(job) },
      );
      this.config = result.config;
    } catch (error) {
      // Nothing was written: keep the requests for the next try.
      this.starts.unshift(...starts);
      this.outcomes.unshift(...outcomes);
      this.releases.unshift(...release);
      this.reportError(error);
      // A corrupt file, a lock held too long, a database that went away: tried again with a backoff.
      return reconnectDelayMs(this.failures++);
    } finally {
      this.recording = new Set();
    }
    if (this.failures > 0) {
      this.backSince = Date.now();
      this.options.log(`the store answers again, after ${this.failures} failed cycle(s)`);
    }
    this.failures = 0;
    this.lastCycleMs = Date.now() - started;
    if (renewDue) this.lastRenewal = started;
    this.nextReadyAt = result.nextReadyAt;
    this.apply(result, outcomes);
    if ([...this.held.values()].some(({ job }) => !this.mayStart(job))) {
      // Paused meanwhile (all, or the job's queue): what was held for the next free worker goes back.
      this.releaseHeld(({ job }) => !this.mayStart(job));
      this.again = true;
    }
    // Workers now busy want jobs held for them: claim those at once while there are ready jobs.
    if (result.claimed.length === claim && this.claimWanted() > 0) this.again = true;
    return this.nextWakeMs();
  }

  private apply(result: CycleResult, outcomes: readonly RunEnd[]): void {
    const { log } = this.options;
    outcomes.forEach((run, index) => {
      this.runs.delete(run.token);
      const job = result.recorded[index];
      if (job) log(describeRecorded(job, run));
      else log(`${run.id}: ${result.lostClaims[index]}; this run's outcome is dropped (${describeOutcome(run.outcome)})`);
      // A run that ended with its worker has no line of its own saying how: say it here.
      if (job && run.outcome.kind === 'lost') this.noteLostRun(job, run.token);
    });
    for (const job of result.canceled) log(`${job.id}: ${job.last_error}`);
    for (const run of result.lost) this.revoke(run, run.because === 'canceled' ? 'it was canceled' : 'the job was taken back');
    const now = Date.now();
    for (const job of result.claimed) this.hold(job, now);
    if (result.recovered.length > 0) {
      for (const { job, token } of result.recovered) {
        log(`took back ${job.id}: ${job.last_error ?? 'its claim had not started'} -> ${job.state}`);
        if (job.state === 'failed' || job.state === 'dead') this.noteLostRun(job, token);
        this.revoke({ id: job.id, token }, 'its lease ran out');
      }
      const killed = killRunsByToken(result.recovered.map(({ token }) => token));
      if (killed.length > 0) log(`killed ${killed.length} process(es) still running lost runs: ${killed.join(', ')}`);
    }
  }

  /**
   * After another process changed the jobs: are the jobs held here and handed to workers still
   * ours? A job canceled while it waits for a worker must not start; one canceled while it runs
   * is killed by `cancel` itself, and its worker is told here. Read without the lock: a job's
   * claim only ever goes away, so a store that no longer holds it is proof enough.
   */
  private async checkHeld(): Promise<void> {
    const asked = new Set([...this.runs.keys(), ...this.held.keys()]);
    const ids = [...[...this.runs.values()].map((run) => run.job.id), ...[...this.held.values()].map((held) => held.job.id)];
    let current: ReadonlyMap<string, Job> | null;
    try {
      current = await this.options.store.current(ids);
    } catch {
      return; // a broken store: the next cycle reports it
    }
    // Nothing at all while this manager holds claims: the data was deleted, which is the
    // manager's to handle (see Host.watchLoss), not proof that the jobs were taken back.
    if (current === null) return;
    for (const [token, { job: claimed }] of [...this.runs, ...this.held]) {
      if (!asked.has(token)) continue; // claimed after the read: the read cannot judge it
      const job = current.get(claimed.id);
      if (job?.state === 'processing' && job.lease.token === token) continue;
      if (this.hasOutcome(token)) continue; // ended: the cycle says what happened
      this.revoke({ id: claimed.id, token }, job?.state === 'canceled' ? 'it was canceled' : 'the job was taken back');
    }
  }

  private revoke(ref: RunRef, reason: string): void {
    if (this.held.delete(ref.token)) {
      this.options.log(`${ref.id}: dropped before it started: ${reason}`);
      return;
    }
    const run = this.runs.get(ref.token);
    if (!run) return;
    this.runs.delete(ref.token);
    this.starts = this.starts.filter((start) => start.token !== ref.token);
    this.options.log(`${ref.id}: stopping its run on worker ${run.pid}: ${reason}`);
    this.options.revoke(run.pid, ref, reason);
  }

  /** The job's log says how its last run (the claim `token`) ended: lost, with why. */
  private noteLostRun(job: Job, token: string): void {
    const why = (job.last_error ?? '').replace(/^worker lost: /, '');
    const line = `--- queuectl: run ${job.attempts} of ${job.max_retries + 1} lost: ${why}`;
    try {
      this.options.logs.appendToRun(job.id, line, token);
    } catch {
      // No log (it never got to open one): nothing to add to.
    }
  }

  /**
   * Whether the run of an expired claim started though no cycle recorded it (its manager died
   * a moment after the worker spawned it): a process of it is alive, or its log has its header.
   */
  private runStarted(job: ProcessingJob): boolean {
    return runAliveByToken(job.lease.token) || this.options.logs.showsRun(job.id, job.lease.token);
  }

  /** Whether a cycle starting at `now` may take back leases that ran out (see RECOVER_AFTER_OUTAGE_MS). */
  private mayRecoverExpired(now: number): boolean {
    if (this.failures > 0) return false; // the store may be back for this cycle only
    return this.backSince === null || now - this.backSince >= (this.options.recoverAfterOutageMs ?? RECOVER_AFTER_OUTAGE_MS);
  }

  private renewEveryMs(): number {
    return (this.config.lease * 1000) / 3;
  }

  /** The next timed wake: a due renewal, a held job's bound, the poll interval, or the soonest delayed job. */
  private nextWakeMs(): number | null {
    const { nextReadyAt } = this;
    let delay = Infinity;
    const now = Date.now();
    if (this.runs.size > 0 || this.held.size > 0) delay = this.lastRenewal + this.renewEveryMs() - now;
    for (const { since } of this.held.values()) {
      delay = Math.min(delay, since + this.holdMs - now);
      break; // the oldest comes first
    }
    if (this.claimWanted() > 0) {
      delay = Math.min(delay, this.config.poll_interval);
      if (nextReadyAt !== null) delay = Math.min(delay, Date.parse(nextReadyAt) - now);
    }
    // setTimeout takes at most 2^31 - 1 ms; a longer delay would fire at once, again and again.
    return delay === Infinity ? null : Math.min(Math.max(delay, 5), MAX_TIMER_MS);
  }

  private scheduleWake(delay: number | null): void {
    if (this.cycling) return; // the cycle schedules its own wake when it ends
    clearTimeout(this.wakeTimer);
    if (delay === null || this.closed) return;
    this.wakeTimer = setTimeout(() => this.request(), delay);
  }

  /** Says why a cycle failed: the manager's log says each error once while they repeat (errorsOnce), not each retry. */
  private reportError(error: unknown): void {
    this.options.log(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function describeRecorded(job: Job, run: RunEnd): string {
  const seconds = run.endedAt === null ? null : (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000;
  const after = seconds === null ? '' : ` after ${seconds.toFixed(2)} s`;
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
