/**
 * One transaction on one connection, with as few round trips as its statements allow. On a
 * loaded machine each round trip costs a wake-up of the server's backend and then of this
 * process, and a dispatch cycle's latency is mostly the count of them: so BEGIN goes with the
 * first statements, several statements go at once where the next one does not depend on the
 * last one's answer (`batch`), writes that nobody reads back wait for the next batch or the
 * COMMIT (`defer`), and the COMMIT carries the version's move and the notification.
 */
import type pg from 'pg';

type Row = pg.QueryResultRow;

export class Transaction {
  /** What the transaction changed (named by its store): the others are told once it commits. */
  readonly changes = new Set<string>();
  private begun = false;
  private deferred: string[] = [];

  constructor(readonly client: pg.PoolClient) {}

  /** One statement with parameters (the extended protocol): one round trip, after anything deferred. */
  async query<R extends Row>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    const before = this.takeLeading();
    if (before.length > 0) await this.client.query(before.join(';\n'));
    return this.client.query<R>(text, values);
  }

  /**
   * Several statements, their values written in as literals (see sql.ts), in one round trip:
   * the rows of each, in order, undefined for a statement given as null (skipped). Deferred
   * writes go first.
   */
  async batch(statements: readonly (string | null)[]): Promise<(Row[] | undefined)[]> {
    const leading = this.takeLeading();
    const sent = statements.filter((statement): statement is string => statement !== null);
    if (sent.length === 0 && leading.length === 0) return statements.map(() => undefined);
    const results = await this.send([...leading, ...sent]);
    const mine = results.slice(leading.length);
    let next = 0;
    return statements.map((statement) => (statement === null ? undefined : mine[next++]!.rows));
  }

  /** A write whose result nobody reads: it goes with the next statement sent, or with the COMMIT. */
  defer(statement: string): void {
    this.deferred.push(statement);
  }

  /**
   * Commits what was deferred and done, in one round trip with `after`: statements that run once
   * the transaction committed, in a transaction of their own (what others must see only once
   * the change is there to be read).
   */
  async commit(after: readonly string[] = []): Promise<void> {
    if (!this.begun && this.deferred.length === 0) return; // nothing was sent: nothing to commit
    await this.send([...this.takeLeading(), 'COMMIT', ...after]);
  }

  async rollback(): Promise<void> {
    this.deferred = [];
    if (this.begun) await this.client.query('ROLLBACK');
  }

  /** BEGIN, if not sent yet, and the deferred writes. */
  private takeLeading(): string[] {
    const leading = this.begun ? [] : ['BEGIN'];
    this.begun = true;
    leading.push(...this.deferred);
    this.deferred = [];
    return leading;
  }

  private async send(statements: readonly string[]): Promise<pg.QueryResult[]> {
    const result = (await this.client.query(statements.join(';\n'))) as pg.QueryResult | pg.QueryResult[];
    return Array.isArray(result) ? result : [result];
  }
}
