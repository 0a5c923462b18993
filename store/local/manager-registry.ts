/**
 * The worker registry: one file per running manager, `managers/<pid>.json`, listing its
 * worker children. `worker stop` and `status` find managers here. A file whose process is gone
 * (killed with -9) is recognised as stale: the pid is checked, and on Linux so is the process
 * start time, so a reused pid is not mistaken for a manager.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagerRecord, ManagerRegistry, StopRequest } from '../../core/ports/host.js';
import { isAlive } from '../../core/os/process-identity.js';
import { mkdirInExisting, readJsonIfExists, writeFileDurably } from './durable-file.js';

export class ManagerFiles implements ManagerRegistry {
  /** Pids are checked: a record needs no renewal. */
  readonly renewEveryMs = null;

  /** What this process last wrote as each record: a record renewed unchanged is not written again. */
  private readonly written = new Map<number, string>();

  /** `dir`: the data directory's `managers/`. */
  constructor(private readonly dir: string) {}

  /** Where the record of manager `pid` is. */
  recordPath(pid: number): string {
    return join(this.dir, `${pid}.json`);
  }

  /**
   * Writes the record (durably: each write waits for the disk, which under load holds a
   * manager's event loop up for milliseconds). Where records are renewed (a store many hosts
   * share), the same record comes again every few seconds: it is already here.
   */
  async write(record: ManagerRecord): Promise<void> {
    const text = `${JSON.stringify(record, null, 2)}\n`;
    if (this.written.get(record.pid) === text) return;
    mkdirInExisting(this.dir);
    writeFileDurably(this.recordPath(record.pid), text);
    this.written.set(record.pid, text);
  }

  async remove(pid: number): Promise<void> {
    this.written.delete(pid);
    rmSync(this.recordPath(pid), { force: true });
  }

  async live(): Promise<ManagerRecord[]> {
    return this.liveHere();
  }

  async here(): Promise<ManagerRecord[]> {
    return this.liveHere();
  }

  async silent(): Promise<ManagerRecord[]> {
    return []; // a pid is checked, never taken on trust
  }

  /** The managers of this data directory whose process is alive. */
  liveHere(): ManagerRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((name) => /^\d+\.json$/.test(name));
    } catch {
      return [];
    }
    const live: ManagerRecord[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      let record: ManagerRecord | undefined;
      try {
        record = readJsonIfExists(path) as ManagerRecord | undefined;
      } catch {
        continue; // not ours to judge: leave a foreign file alone
      }
      if (!record) continue;
      if (isAlive(record)) live.push(record);
      else rmSync(path, { force: true });
    }
    return live.sort((a, b) => a.pid - b.pid);
  }

  async requestStop(): Promise<void> {
    // Every manager of a data directory is on this host: `worker stop` signals them.
  }

  async stopRequested(): Promise<StopRequest> {
    return null;
  }
}
