/**
 * Runs left behind by workers that died with their manager (kill -9 of the whole group, a
 * crash): each job command runs in a process group of its own, so nothing kills it with its
 * worker. When its lease runs out and the job is taken back, the old run must not go on beside
 * the new one, so it is found by the lease token in its environment and killed.
 *
 * Linux only (/proc); elsewhere this finds nothing and the old run may overlap the new one,
 * which at-least-once delivery allows.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const TOKEN_VARIABLE = 'QUEUECTL_LEASE_TOKEN';

/** SIGKILLs every process (and its group) whose environment carries one of `tokens`. */
export function killRunsByToken(tokens: readonly string[]): number[] {
  if (tokens.length === 0) return [];
  const markers = tokens.map((token) => `${TOKEN_VARIABLE}=${token}\0`);
  const killed: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    if (!markers.some((marker) => environ.includes(marker))) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Not a group leader, or gone already.
      }
    }
    killed.push(pid);
  }
  return killed;
}
