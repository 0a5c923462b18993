/**
 * The jobs summed up as `status` shows them: how many per queue and state, which runs are going
 * and where, and what waits for a dependency. Pure. A store that cannot afford to read every job
 * for `status` keeps the summary beside its jobs and brings it up to date with each change
 * (`summaryAfter`, `summaryAfterAdding`), at the cost of what changed.
 */
import { unfinishedDependencies, waitingOn } from './dependencies.js';
import { dependenciesOf, isRunning, queueOf, zeroCounts, type Job, type JobHead, type JobState } from './job.js';

/** A run going on: its job, and the worker that runs it. */
export interface RunningJob {
  id: string;
  /** The host of the worker; null for runs recorded before queuectl kept it (this host's). */
  host: string | null;
  worker_pid: number;
}

export interface JobsSummary {
  /** Jobs per queue and state. A queue with no job has no entry. */
  queues: Record<string, Record<JobState, number>>;
  /** Runs going on (a claim a manager holds for its next free worker is not one), by job id. */
  running: RunningJob[];
  /** Pending jobs waiting for a dependency to complete (`--after`), and the dependencies they wait for. */
  waiting: { jobs: number; after: string[] };
  /** How many jobs but dead ones name dependencies: while none does, no change can make one wait. */
  dependents: number;
}

/** A job as much as the summary needs of it: its head, and its lease if it is processing. */
export type SummedJob = Job | JobHead;

/** The summary of `jobs` (the queue and the DLQ), read in full. */
export function summarizeJobs(jobs: readonly SummedJob[]): JobsSummary {
  const summary: JobsSummary = { queues: {}, running: [], waiting: NOT_WAITING, dependents: 0 };
  for (const job of jobs) count(summary, job, 1);
  return { ...summary, running: byId(jobs.filter(isRunning).map(runningOf)), waiting: waitingOf(jobs) };
}

/**
 * The summary after a change: the jobs of `left` (as they were) gave way to those of `came` (as
 * they are now; a job in both changed). `all` gives every job after the change: asked only when
 * jobs name dependencies, for what waits (which a dependency that completes changes for others).
 */
export function summaryAfter(before: JobsSummary, left: readonly SummedJob[], came: readonly SummedJob[], all: () => readonly SummedJob[]): JobsSummary {
  const summary: JobsSummary = { queues: copyQueues(before.queues), running: before.running, waiting: before.waiting, dependents: before.dependents };
  for (const job of left) count(summary, job, -1);
  for (const job of came) count(summary, job, 1);
  if (left.some(isRunning) || came.some(isRunning)) {
    const gone = new Set(left.filter(isRunning).map((job) => job.id));
    const comes = came.filter(isRunning);
    for (const job of comes) gone.add(job.id);
    summary.running = byId([...before.running.filter((run) => !gone.has(run.id)), ...comes.map(runningOf)]);
  }
  if ((before.dependents > 0 || summary.dependents > 0) && changesWaiting(before, left, came)) summary.waiting = waitingOf(all());
  return summary;
}

/**
 * Whether a change can change what waits: a job that names dependencies changed, or a job that
 * others wait for, or a job came back from completed (restarted) or came anew, for which jobs
 * that name it may wait again. A run of jobs without dependencies beside jobs held by one never
 * does: their changes cost no pass over the queue.
 */
function changesWaiting(before: JobsSummary, left: readonly SummedJob[], came: readonly SummedJob[]): boolean {
  const awaited = new Set(before.waiting.after);
  const was = new Map(left.map((job) => [job.id, job]));
  for (const job of left) if (namesDependencies(job) || awaited.has(job.id)) return true;
  for (const job of came) {
    if (namesDependencies(job) || awaited.has(job.id)) return true;
    const old = was.get(job.id);
    if (job.state !== 'completed' && (old === undefined || old.state === 'completed')) return true;
  }
  return false;
}

function namesDependencies(job: SummedJob): boolean {
  return dependenciesOf(job).length > 0;
}

/**
 * The summary after new pending jobs were added, each waiting for the dependencies that
 * `waitsFor` gives (already enqueued, not completed, enqueued before it). A new job changes what
 * no other job waits for: a job waits only for the job of that id enqueued before it.
 */
export function summaryAfterAdding(before: JobsSummary, added: readonly SummedJob[], waitsFor: (job: SummedJob) => readonly string[]): JobsSummary {
  const summary: JobsSummary = { queues: copyQueues(before.queues), running: before.running, waiting: before.waiting, dependents: before.dependents };
  const after = new Set(before.waiting.after);
  let waitingJobs = before.waiting.jobs;
  for (const job of added) {
    count(summary, job, 1);
    const on = waitsFor(job);
    if (on.length === 0) continue;
    waitingJobs++;
    for (const id of on) after.add(id);
  }
  if (waitingJobs !== before.waiting.jobs) summary.waiting = { jobs: waitingJobs, after: [...after] };
  return summary;
}

/** The summary with the jobs of `dead` (the DLQ's, which wait for nothing) counted too. */
export function withDeadJobs(summary: JobsSummary, dead: readonly SummedJob[]): JobsSummary {
  if (dead.length === 0) return summary;
  const counted: JobsSummary = { ...summary, queues: copyQueues(summary.queues) };
  for (const job of dead) count(counted, job, 1);
  return counted;
}

/** How many jobs of each state, across the queues. */
export function totalCounts(summary: JobsSummary): Record<JobState, number> {
  const total = zeroCounts();
  for (const counts of Object.values(summary.queues)) for (const state of Object.keys(total) as JobState[]) total[state] += counts[state];
  return total;
}

const NOT_WAITING: JobsSummary['waiting'] = { jobs: 0, after: [] };

function count(summary: JobsSummary, job: SummedJob, by: 1 | -1): void {
  const name = queueOf(job);
  const counts = (summary.queues[name] ??= zeroCounts());
  counts[job.state] += by;
  if (by === -1 && Object.values(counts).every((n) => n === 0)) delete summary.queues[name];
  // A dead job waits for nothing; retried, it comes back as a change.
  if (job.state !== 'dead' && namesDependencies(job)) summary.dependents += by;
}

function copyQueues(queues: JobsSummary['queues']): JobsSummary['queues'] {
  const copy: JobsSummary['queues'] = {};
  for (const [name, counts] of Object.entries(queues)) copy[name] = { ...counts };
  return copy;
}

function byId(runs: RunningJob[]): RunningJob[] {
  return runs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function runningOf(job: SummedJob): RunningJob {
  const { lease } = job as Extract<Job, { state: 'processing' }>;
  return { id: job.id, host: lease.host ?? null, worker_pid: lease.worker_pid! };
}

/** What waits: pending jobs with a dependency not completed, and those dependencies (the DLQ's dead jobs wait for nothing). */
function waitingOf(jobs: readonly SummedJob[]): JobsSummary['waiting'] {
  const queue = jobs.filter((job) => job.state !== 'dead');
  const unfinished = unfinishedDependencies(queue);
  if (unfinished.size === 0) return NOT_WAITING;
  let waiting = 0;
  const after = new Set<string>();
  for (const job of queue) {
    if (job.state !== 'pending') continue;
    const on = waitingOn(job, unfinished);
    if (on.length === 0) continue;
    waiting++;
    for (const id of on) after.add(id);
  }
  return { jobs: waiting, after: [...after] };
}
