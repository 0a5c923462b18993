/**
 * The worker managers of every host that shares a PostgreSQL store, so that `status` shows them
 * all and `worker stop --all` reaches them. A manager renews its row every few seconds; a row not
 * renewed for three times that is a manager gone (its host died, or it was killed with -9) and is
 * not listed. The local record (managers/<pid>.json) stays as well: `worker stop` signals this
 * host's managers by pid, and a manager watches its own record to notice its data dir went.
 */
import type { ManagerRecord, ManagerRegistry, StopRequest } from '../../core/ports/host.js';
import { isAlive } from '../../core/os/process-identity.js';
import type { ManagerFiles } from '../local/manager-registry.js';

const RENEW_EVERY_MS = 5_000;
const LAPSES_AFTER_MS = 3 * RENEW_EVERY_MS;
/** How long the record of a silent manager is kept, to be asked to stop (see silent). */
const FORGOTTEN_AFTER_MS = 24 * 3600 * 1000;

type Query = <R extends Record<string, unknown>>(text: string, values: unknown[]) => Promise<R[]>;

export class PgManagers implements ManagerRegistry {
  readonly renewEveryMs = RENEW_EVERY_MS;

  constructor(
    private readonly query: Query,
    /** A statement run only where the schema is there, which it does not make (`status` on a typo): no rows where it is not. */
    private readonly ifPresent: Query,
    /** The schema, quoted for SQL. */
    private readonly s: string,
    private readonly host: string,
    private readonly files: ManagerFiles,
  ) {}

  /** Whether this process has forgotten the records of its host's managers that died (see write). */
  private tidied = false;

  async write(record: ManagerRecord): Promise<void> {
    await this.files.write(record);
    if (!this.tidied) {
      // A manager of this host killed with -9 left its record, which other hosts would count as
      // silent for a day (`worker stop --all` exits 1 naming it): the first manager to start here
      // after it knows it died, and forgets it.
      this.tidied = true;
      const here = await this.query<{ record: ManagerRecord }>(`SELECT record FROM ${this.s}.managers WHERE host = $1 AND pid <> $2`, [this.host, record.pid]);
      for (const { record: other } of here) if (!isAlive(other)) await this.query(`DELETE FROM ${this.s}.managers WHERE host = $1 AND pid = $2`, [this.host, other.pid]);
    }
    await this.query(
      `INSERT INTO ${this.s}.managers (host, pid, record, seen_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (host, pid) DO UPDATE SET record = EXCLUDED.record, seen_at = now()`,
      [this.host, record.pid, JSON.stringify({ ...record, host: this.host })],
    );
  }

  async remove(pid: number): Promise<void> {
    await this.files.remove(pid);
    await this.query(`DELETE FROM ${this.s}.managers WHERE host = $1 AND pid = $2`, [this.host, pid]);
  }

  async live(): Promise<ManagerRecord[]> {
    const rows = await this.ifPresent<{ record: ManagerRecord }>(
      `SELECT record FROM ${this.s}.managers WHERE seen_at > now() - make_interval(secs => $1) ORDER BY host, pid`,
      [LAPSES_AFTER_MS / 1000],
    );
    const live: ManagerRecord[] = [];
    for (const { record } of rows) {
      // This host's pids can be checked: one that died does not wait out its lapse.
      if (record.host === this.host && !isAlive(record)) {
        await this.remove(record.pid);
        continue;
      }
      live.push(record);
    }
    return live;
  }

  async silent(): Promise<ManagerRecord[]> {
    // A host that died for good leaves its records behind: after a day they are forgotten.
    await this.ifPresent(`DELETE FROM ${this.s}.managers WHERE seen_at <= now() - make_interval(secs => $1)`, [FORGOTTEN_AFTER_MS / 1000]);
    const rows = await this.ifPresent<{ record: ManagerRecord }>(
      `SELECT record FROM ${this.s}.managers WHERE seen_at <= now() - make_interval(secs => $1) AND host <> $2 ORDER BY host, pid`,
      [LAPSES_AFTER_MS / 1000, this.host],
    );
    return rows.map((row) => row.record);
  }

  async here(): Promise<ManagerRecord[]> {
    return this.files.liveHere();
  }

  async requestStop(records: readonly ManagerRecord[], now = false): Promise<void> {
    for (const record of records) {
      await this.query(`UPDATE ${this.s}.managers SET stop_requested = true, stop_now = stop_now OR $3 WHERE host = $1 AND pid = $2`, [record.host, record.pid, now]);
    }
  }

  async stopRequested(pid: number): Promise<StopRequest> {
    const rows = await this.query<{ stop_requested: boolean; stop_now: boolean }>(`SELECT stop_requested, stop_now FROM ${this.s}.managers WHERE host = $1 AND pid = $2`, [this.host, pid]);
    const [row] = rows;
    return row?.stop_now ? 'now' : row?.stop_requested ? 'finish' : null;
  }
}
