/**
 * The test database of the PostgreSQL end-to-end tests (QUEUECTL_TEST_POSTGRES; .ci/run starts
 * one), and "hosts" on it: managers with data directories of their own (their logs and
 * registries) that share only the database, each test in a schema of its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import type { Job } from '../../core/rules/job.js';
import { startRelay, type Relay } from '../network-cut.js';
import { describeRun, runCli, startManager, tempDataDir, waitFor } from '../helpers.js';

export const url = process.env.QUEUECTL_TEST_POSTGRES ?? '';

/** The suites' option: skipped, with the reason, without a test database. */
export const needsPostgres = { skip: url === '' ? 'no PostgreSQL: set QUEUECTL_TEST_POSTGRES=postgres://… (.ci/run starts one)' : false };

/** A schema of its own in the test database (`prefix` and random), dropped when the test ends. */
export function testSchema(t: TestContext, prefix: string): string {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  t.after(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });
  return schema;
}

/** A queue of its own in the test database: the environment that picks it, and hosts on it. */
export function queue(t: TestContext) {
  const schema = testSchema(t, 'queuectl_e2e');
  const env = { QUEUECTL_STORE: `${url}${url.includes('?') ? '&' : '?'}schema=${schema}` };
  /**
   * A host: a data directory of its own on the shared queue, and a name of its own (QUEUECTL_HOST).
   * `server`: the database's URL as this host reaches it, when not directly (through a relay).
   */
  const host = (name = `host-${randomBytes(3).toString('hex')}`, server = url) => {
    const data = tempDataDir(t);
    const hostEnv = { QUEUECTL_STORE: `${server}${server.includes('?') ? '&' : '?'}schema=${schema}`, QUEUECTL_HOST: name };
    const run = (args: readonly string[], input?: string) => runCli(data, args, { env: hostEnv, ...(input === undefined ? {} : { input }) });
    const ok = async (args: readonly string[], input?: string) => {
      const result = await run(args, input);
      assert.equal(result.code, 0, describeRun(args, result));
      return result;
    };
    const json = async <T>(args: readonly string[]) => JSON.parse((await ok([...args, '--json'])).stdout) as T;
    const job = async (id: string) => {
      const result = await run(['show', id, '--json']);
      return result.code === 0 ? (JSON.parse(result.stdout) as Job) : undefined;
    };
    /** The job once it completed, as this host sees it. */
    const completed = (id: string, timeoutMs = 30_000) =>
      waitFor(
        async () => {
          const found = await job(id);
          return found?.state === 'completed' ? found : undefined;
        },
        { timeoutMs, what: `${id} to complete` },
      );
    /** Waits until `status` on this host lists `count` workers (of every host). */
    const workersShown = (count: number, what: string, timeoutMs?: number) =>
      waitFor(async () => (await json<{ workers: unknown[] }>(['status'])).workers.length === count, { what, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    /**
     * A manager of this host, its workers and their runs. `ownProcesses`: in a PID namespace with a
     * /proc of its own (ISOLATION), so that, as on another machine, it neither sees nor kills the
     * processes of the other hosts.
     */
    const manager = (count: number, { ownProcesses = false } = {}) => startManager(t, data, count, hostEnv, [], ownProcesses ? ISOLATION : []);
    return { name, data, run, ok, json, job, completed, workersShown, manager };
  };
  return { env, schema, host };
}

/** What a host's manager runs under to have processes of its own: a PID namespace and its /proc (root only). */
const ISOLATION = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];

/** The option of tests that need hosts with processes of their own: skipped, with the reason, where they cannot be had. */
export const needsIsolation = {
  skip: spawnSync(ISOLATION[0]!, [...ISOLATION.slice(1), 'true']).status === 0 ? false : `needs ${ISOLATION.join(' ')} (as root) for a host with processes of its own`,
};

/** A relay to the test server (see network-cut.ts), closed after the test, and the server's URL through it. */
export async function relayTo(t: TestContext): Promise<{ relay: Relay; through: string }> {
  const server = new URL(url);
  const relay = await startRelay(server.hostname, Number(server.port || 5432));
  t.after(() => relay.close());
  return { relay, through: Object.assign(new URL(url), { port: String(relay.port) }).toString() };
}
