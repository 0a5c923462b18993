/** What both benches (`bench.ts`, `bench-postgres.ts`) measure their figures against, and how they print them. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The median of each figure over the baseline measured with it (runs paired by index). */
export function medianRatio(figures: readonly number[], baselines: readonly number[]): number {
  return median(figures.map((figure, i) => figure / baselines[i]!));
}

/** Runs paired by index, for the closing line of a bench: `baseline → figure, …`. */
export function pairs(baselines: readonly number[], figures: readonly number[]): string {
  return baselines.map((baseline, i) => `${baseline.toFixed(0)} → ${figures[i]!.toFixed(0)}`).join(', ');
}

/** Jobs per second of spawning `sh -c true` at the given concurrency. */
export async function spawnRate(count: number, concurrency: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      await new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', () => resolve());
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return count / ((performance.now() - started) / 1000);
}

/**
 * A warning for the head of a bench's output, if the environment makes every Node start slower:
 * `NODE_EXTRA_CA_CERTS` has each one, `node -e 0` too, read the file (about 70 ms a start on the
 * 2-core VMs), which flatters the ratios against `node -e 0`. CI runs under `env -i`.
 */
export function environmentWarning(): string | null {
  const found = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'].filter((name) => (process.env[name] ?? '') !== '');
  if (found.length === 0) return null;
  return `note: ${found.join(' and ')} set: every Node start, node -e 0 too, pays for it, which flatters the ratios against node -e 0; CI runs without (env -i)\n`;
}

export function nodeStartMs(): number {
  const started = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - started;
}

/** One line of the table: a figure, its baseline, their ratio, the goal. */
export function row(name: string, value: string, baseline: string, ratio: string, goal: string): string {
  return `${name.padEnd(34)} ${value.padStart(14)} ${baseline.padStart(16)} ${ratio.padStart(8)}   ${goal}`;
}

/** Kills what a bench started (each manager with its process group) and removes its data dirs. */
export function cleanUp(managers: readonly ChildProcess[], dirs: readonly string[]): void {
  for (const manager of managers) {
    try {
      process.kill(-manager.pid!, 'SIGKILL');
    } catch {
      // stopped already
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
