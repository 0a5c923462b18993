/**
 * `queuectl wait [ids…] [--timeout S] [--json]`, and the waiting half of `enqueue --wait`.
 * On a terminal, a progress line on stderr; nothing of that when stderr is not a terminal.
 */
import { parseDurationMs } from '../../core/rules/parse.js';
import { isFinished, type Job } from '../../core/rules/job.js';
import { waitExitCode, type Watched } from '../../core/rules/wait.js';
import { waitForJobs, type WaitReport } from '../../core/operations/wait.js';
import { optionText, type CommandContext } from '../context.js';
import { StallNotes, WorkerCheck } from '../worker-check.js';
import { formatDuration, paintState, printJobsJson } from '../output.js';

/** At most this many jobs are named in the summary; the rest are counted. */
const SUMMARY_LINES = 20;

export async function waitCommand(ctx: CommandContext, ids: readonly unknown[]): Promise<void> {
  const timeoutText = optionText(ctx, 'timeout');
  const timeoutMs = timeoutText === undefined ? null : parseDurationMs(timeoutText, '--timeout');
  const report = await waitWithProgress(ctx, ids.map(String), timeoutMs);
  if (ctx.json) printJobsJson(finalJobs(report));
  else printSummary(report, timeoutMs);
  process.exitCode = waitExitCode(report.tally);
}

/** The jobs as they ended (or stand, after a timeout), in the order waited for. */
export function finalJobs(report: WaitReport): Job[] {
  return report.watched.map((entry) => entry.job);
}

export async function waitWithProgress(ctx: CommandContext, ids: readonly string[], timeoutMs: number | null): Promise<WaitReport> {
  const workers = new WorkerCheck(ctx);
  await workers.look();
  const progress = process.stderr.isTTY ? new ProgressLine(workers) : undefined;
  const notes = new StallNotes(ctx, workers);
  const onProgress = (report: WaitReport) => {
    // On a terminal, the progress line says when no worker runs.
    notes.say({ noWorker: !progress, before: () => progress?.clear() });
    progress?.draw(report);
  };
  try {
    return await waitForJobs(ctx.store, { ids, timeoutMs, onProgress });
  } finally {
    progress?.clear();
  }
}


class ProgressLine {
  private drawn = false;

  constructor(private readonly workers: WorkerCheck) {}

  draw({ tally, pace }: WaitReport): void {
    const failed = tally.dead + tally.canceled + tally.gone;
    const parts = [`waiting: ${tally.finished}/${tally.total} done`];
    if (failed > 0) parts.push(`${failed} failed`);
    if (pace.perSecond !== null) parts.push(rate(pace.perSecond));
    parts.push(`ETA ${pace.etaMs === null ? '-' : formatDuration(pace.etaMs)}`);
    if (this.workers.none()) parts.push('no worker is running (queuectl worker start)');
    const columns = process.stderr.columns || 80; // 0 on a terminal that reports no size
    process.stderr.write(`\r\u001b[K${parts.join(' · ').slice(0, Math.max(10, columns - 1))}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) process.stderr.write('\r\u001b[K');
  }
}

function rate(perSecond: number): string {
  if (perSecond >= 1) return `${perSecond.toFixed(1)} jobs/s`;
  if (perSecond * 60 >= 1) return `${(perSecond * 60).toFixed(1)} jobs/min`;
  return `${(perSecond * 3600).toFixed(1)} jobs/h`;
}

/** What `wait` says at the end; `timeoutMs` is the --timeout given, if any. */
/** `out`: stderr where stdout is for something else (`enqueue --print-id --wait`: the id alone). */
export function printSummary(report: WaitReport, timeoutMs: number | null = null, out: NodeJS.WritableStream = process.stdout): void {
  const { tally, watched } = report;
  const plural = (n: number) => `${n} job${n === 1 ? '' : 's'}`;
  const lines: string[] = [];
  if (tally.total === 0) {
    lines.push('no unfinished jobs to wait for');
  } else if (report.timedOut) {
    lines.push(`timed out${timeoutMs === null ? '' : ` after ${formatDuration(timeoutMs)}`}: ${tally.unfinished} of ${plural(tally.total)} not finished`);
    lines.push(...named(watched.filter((entry) => !entry.gone && !isFinished(entry.job))));
  } else if (tally.completed === tally.total) {
    lines.push(tally.total === 1 ? `${watched[0]!.id} completed` : `all ${plural(tally.total)} completed`);
  } else {
    const counts = [
      `${tally.completed} completed`,
      `${tally.dead} dead`,
      `${tally.canceled} canceled`,
      ...(tally.gone > 0 ? [`${tally.gone} pruned before it was seen finished`] : []),
    ];
    lines.push(`${plural(tally.total)} finished: ${counts.join(', ')}`);
    lines.push(...named(watched.filter((entry) => entry.gone || entry.job.state !== 'completed')));
  }
  out.write(`${lines.join('\n')}\n`);
}

function named(entries: readonly Watched[]): string[] {
  const shown = entries.slice(0, SUMMARY_LINES);
  const width = Math.max(0, ...shown.map(({ id }) => id.length));
  const lines = shown.map(({ id, job, gone }) => {
    if (gone) return `  ${id.padEnd(width)}  pruned: outcome unknown`;
    // `canceled: its dependency …` says its state itself: not `canceled: canceled: …`.
    const error = job.last_error?.startsWith(`${job.state}: `) ? job.last_error.slice(job.state.length + 2) : job.last_error;
    const why = error === null ? '' : `: ${error}`;
    return `  ${id.padEnd(width)}  ${paintState(job.state)}${why}`;
  });
  if (entries.length > SUMMARY_LINES) lines.push(`  … and ${entries.length - SUMMARY_LINES} more`);
  return lines;
}
