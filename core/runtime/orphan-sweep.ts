/**
 * A manager's look, every few seconds, at the runs of its store on its own host, for those that
 * lost their claim while no one was left here to stop them: on a store that many hosts share, a
 * job whose manager and worker died (`kill -9` of the manager's process group, the OOM killer)
 * is taken back after its lease by a manager of any host, which kills what the lost run left
 * running only where it can see it, on its own host. The run lives on here; this kills it (the
 * rule: core/rules/orphans.ts). A manager that starts looks at once.
 */
import type { Store } from '../ports/store.js';
import { runsToKill } from '../rules/orphans.js';
import { findRunsOfStore, killRunsByToken } from '../os/run-processes.js';

/** How often a manager looks: a lost run goes on beside the job's new run for up to this long. */
export const ORPHAN_SWEEP_MS = 2_000;

export interface OrphanSweepOptions {
  store: Store;
  /** The QUEUECTL_STORE the store's runs carry, by which they are told from other stores' runs. */
  runsOf: string;
  log: (line: string) => void;
  everyMs?: number;
}

/** Starts looking; returns what stops it. */
export function sweepOrphanedRuns({ store, runsOf, log, everyMs = ORPHAN_SWEEP_MS }: OrphanSweepOptions): () => void {
  let lostSince = new Map<string, number>();
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const runs = findRunsOfStore(runsOf);
      if (runs.length === 0) {
        lostSince = new Map();
        return;
      }
      // Nothing at all: the data is gone, which says nothing of whose runs these are.
      const current = await store.current([...new Set(runs.map(({ id }) => id))]);
      if (current === null) return;
      const decided = runsToKill(runs, current, lostSince, Date.now());
      lostSince = decided.lostSince;
      if (decided.kill.length === 0) return;
      const killed = killRunsByToken(decided.kill.map(({ token }) => token));
      const ids = [...new Set(decided.kill.map(({ id }) => id))].join(', ');
      if (killed.length > 0) log(`killed ${killed.length} process(es) left running on this host by lost run(s) of ${ids}: their claims are gone`);
    } catch {
      // A store out of reach: the dispatcher's cycles say so; the next look tries again.
    } finally {
      sweeping = false;
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
