/**
 * The runs log that end-to-end jobs write with test/fixtures/record-run.sh: one line per event
 * of a run (job id, attempt, worker pid, shell pid, time), so a test can tell from outside
 * which runs happened, where, when and in what order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';

export const RECORD = join(FIXTURES, 'record-run.sh');

export interface Run {
  id: string;
  attempt: number;
  worker: number;
  shell: number;
  /** Epoch milliseconds (fractional). */
  at: number;
  event: 'start' | 'end' | 'term';
}

/** A job command that records its run in `runs`, sleeps `seconds` and exits with `code`. */
export function recordingJob(runs: string, seconds: number | string = 0, code = 0): string {
  return `sh '${RECORD}' '${runs}' $PPID ${seconds} ${code}`;
}

export function readRuns(path: string): Run[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, attempt, worker, shell, ns, event] = line.split(' ');
      return {
        id: id!,
        attempt: Number(attempt),
        worker: Number(worker),
        shell: Number(shell),
        at: Number(BigInt(ns!) / 1000n) / 1000,
        event: event as Run['event'],
      };
    });
}

/** The start events of job `id`, in order. */
export function starts(runs: string, id: string): Run[] {
  return readRuns(runs).filter((run) => run.id === id && run.event === 'start');
}
