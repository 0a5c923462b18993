/**
 * On the PostgreSQL store, hosts that die or are cut off from the database, and a server that
 * goes away: through the real CLI and real processes, with a relay between a host and the server
 * where the network must fail (network-cut.ts). See postgres-hosts.ts for the hosts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { findRunProcesses } from '../../core/os/run-processes.js';
import { describeRun, killGroup, processAlive, waitFor, withDeadline } from '../helpers.js';
import { needsIsolation, needsPostgres, queue, relayTo, url } from './postgres-hosts.js';

describe('the PostgreSQL store: hosts that die or are cut off, a server that goes away', needsPostgres, () => {
  test('a manager killed with -9 on one host: a manager on another host takes its job back after the lease', { timeout: 90_000 }, async (t) => {
    const shared = queue(t);
    const first = shared.host();
    const second = shared.host();
    await first.ok(['config', 'set', 'lease', '2']);
    // Hangs on its first run; completes on the next.
    await first.ok(['enqueue', '--id', 'survivor', '--', 'sh', '-c', 'if [ "$QUEUECTL_ATTEMPT" = 1 ]; then sleep 600; fi']);
    const doomed = first.manager(1);
    await waitFor(async () => (await first.job('survivor'))?.started_at != null, { timeoutMs: 20_000, what: 'the first run to start' });
    const firstRun = await waitFor(() => (findRunProcesses(first.data, 'survivor').length > 0 ? findRunProcesses(first.data, 'survivor') : undefined), { what: "the first run's processes" });
    process.kill(doomed.pid, 'SIGKILL'); // the manager alone: its worker sees it go and kills the run
    await withDeadline(doomed.exited, 10_000, 'the killed manager to exit');
    await waitFor(() => firstRun.every(({ pid }) => !processAlive(pid)), { timeoutMs: 10_000, what: 'the first run to be killed by its worker' });
    second.manager(1);
    const job = await second.completed('survivor');
    assert.equal(job.attempts, 2, 'the lost run counts');
    assert.match((await second.ok(['logs', 'survivor'])).stdout, /run 2 of 4 started/);
    killGroup(doomed.pid);
  });

  test('a manager killed with -9 with its workers: once another host took the job back, a manager of the first host kills what the lost run left running there', { timeout: 90_000, ...needsIsolation }, async (t) => {
    const shared = queue(t);
    const first = shared.host('first');
    const second = shared.host('second');
    await first.ok(['config', 'set', 'lease', '2']);
    // Hangs on its first run; completes on the next.
    await first.ok(['enqueue', '--id', 'survivor', '--', 'sh', '-c', 'if [ "$QUEUECTL_ATTEMPT" = 1 ]; then sleep 600; fi']);
    const doomed = first.manager(1);
    // Its start recorded: another host cannot see the run to tell it started (it would come back uncounted).
    await waitFor(async () => (await first.job('survivor'))?.started_at != null, { timeoutMs: 20_000, what: 'the first run to start' });
    const firstRun = await waitFor(() => (findRunProcesses(first.data, 'survivor').length > 0 ? findRunProcesses(first.data, 'survivor') : undefined), {
      what: "the first run's processes",
    });
    killGroup(doomed.pid); // manager and worker: no one is left on this host to stop the run
    await withDeadline(doomed.exited, 10_000, 'the killed manager to exit');
    // Another machine: its manager sees none of this host's processes, so it cannot kill the lost run.
    const other = second.manager(1, { ownProcesses: true });
    const job = await second.completed('survivor').catch((error: Error) => {
      throw new Error(`${error.message}; the other host's manager said:\n${other.output()}`);
    });
    assert.equal(job.attempts, 2, 'the lost run counts');
    assert.ok(firstRun.some(({ pid }) => processAlive(pid)), 'the other host could not reach the lost run (else this test shows nothing)');
    const next = first.manager(1);
    await waitFor(() => firstRun.every(({ pid }) => !processAlive(pid)), { timeoutMs: 10_000, what: 'the lost run to be killed on its host' });
    await waitFor(() => /killed \d+ process\(es\) left running on this host by lost run\(s\) of survivor: their claims are gone/.test(next.output()), {
      what: 'the manager of the first host to say so',
    });
    assert.deepEqual(await first.job('survivor'), job, 'the job, done on the other host, is left as it was');
  });

  test('a manager killed with -9: the next manager of its host forgets its record, so worker stop --all from another host does not wait on it', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host('here');
    const there = shared.host('there');
    const doomed = here.manager(1);
    await there.workersShown(1, 'the first manager to show');
    process.kill(doomed.pid, 'SIGKILL');
    await withDeadline(doomed.exited, 10_000, 'the killed manager to exit');
    killGroup(doomed.pid); // its worker too
    // A minute later, as far as the database can tell: past the 15 s in which a manager still counts as live.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    t.after(() => admin.end());
    const aged = await admin.query(`UPDATE "${shared.schema}".managers SET seen_at = now() - interval '1 minute' WHERE pid = $1`, [doomed.pid]);
    assert.equal(aged.rowCount, 1);
    const next = here.manager(1);
    await waitFor(async () => next.output().includes('started 1 worker'), { what: 'the next manager of the host to start' });
    const stop = await there.run(['worker', 'stop', '--all']);
    assert.equal(stop.code, 0, describeRun(['worker', 'stop', '--all'], stop));
    assert.doesNotMatch(stop.stdout + stop.stderr, new RegExp(`${doomed.pid}`), 'the killed manager is not asked, nor named');
    assert.equal(await withDeadline(next.exited, 15_000, 'the next manager to stop'), 0);
  });

  test('a host cut off in the middle of a transaction: the server ends it within 10 s, and a manager on another host takes its job back', { timeout: 90_000 }, async (t) => {
    const { relay, through } = await relayTo(t);
    const shared = queue(t);
    const cutOff = shared.host('cut-off', through);
    const other = shared.host();
    await other.ok(['config', 'set', 'lease', '2']);
    // Hangs on its first run; completes on the next.
    await other.ok(['enqueue', '--id', 'survivor', '--', 'sh', '-c', 'if [ "$QUEUECTL_ATTEMPT" = 1 ]; then sleep 600; fi']);
    const doomed = cutOff.manager(1);
    await waitFor(async () => (await other.job('survivor'))?.started_at != null, { timeoutMs: 20_000, what: 'the first run to start' });
    // Its next cycle renews the run's lease: it locks the job's row, and the host is cut off before the COMMIT.
    await withDeadline(relay.cutAfter('FOR UPDATE'), 10_000, 'a cycle of the host to be cut off');
    process.kill(doomed.pid, 'SIGKILL'); // and gone: its worker kills the run; the server hears of none of it
    await withDeadline(doomed.exited, 10_000, 'the killed manager to exit');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    t.after(() => admin.end());
    const open = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE '%FOR UPDATE%' AND query LIKE $1`, [`%${shared.schema}%`]);
    assert.equal(open.rows[0].n, 1, 'the cut-off host left a transaction open, holding the lock on the job');
    const cutAt = Date.now();
    other.manager(1);
    const job = await other.completed('survivor');
    assert.equal(job.attempts, 2, 'the lost run counts');
    assert.ok(Date.now() - cutAt < 20_000, `taken back ${Date.now() - cutAt} ms after the cut`);
  });

  test('an outage of the server longer than the lease: each host renews its runs once the server is back, and none is taken back or run again', { timeout: 90_000 }, async (t) => {
    const { relay, through } = await relayTo(t);
    const shared = queue(t);
    const [first, second] = [shared.host('first', through), shared.host('second', through)];
    await first.ok(['config', 'set', 'lease', '2']);
    const running = async (id: string) => waitFor(async () => (await first.job(id))?.started_at != null, { timeoutMs: 20_000, what: `${id} to start` });
    await first.ok(['enqueue', '--id', 'on-first', '--', 'sleep', '15']);
    const managers = [first.manager(1)];
    await running('on-first');
    await first.ok(['enqueue', '--id', 'on-second', '--', 'sleep', '15']);
    managers.push(second.manager(1));
    await running('on-second');
    // A script waiting on the jobs, and one following a log, through the outage: each through a
    // relay of its own, to see it at its polls (it asks the store's version) before the outage.
    const [forWait, forFollow] = [await relayTo(t), await relayTo(t)];
    const waiting = shared.host('waiter', forWait.through).run(['wait', 'on-first', 'on-second']);
    await withDeadline(forWait.relay.seen('is_called', 2), 10_000, 'wait to poll');
    const following = shared.host('follower', forFollow.through).run(['logs', '-f', 'on-second']);
    await withDeadline(forFollow.relay.seen('is_called', 2), 10_000, 'logs -f to poll');
    await Promise.all([relay, forWait.relay, forFollow.relay].map((relayed) => relayed.outage(5_000))); // both leases run out meanwhile
    for (const id of ['on-first', 'on-second']) {
      const job = await first.completed(id, 40_000);
      assert.equal(job.attempts, 1, `${id} ran once: ${job.last_error ?? ''}`);
    }
    const [waited, followed] = await Promise.all([waiting, following]);
    assert.equal(waited.code, 0, describeRun(['wait'], waited));
    assert.equal(followed.code, 0, describeRun(['logs', '-f'], followed));
    assert.match(followed.stdout, /--- queuectl: run 1 of 4 exited with code 0 after/);
    for (const manager of managers) {
      const errors = manager.output().split('\n').filter((line) => line.includes(' error: '));
      assert.ok(errors.length > 0 && new Set(errors.map((line) => line.replace(/^\S+ /, ''))).size === errors.length, `each error said once:\n${errors.join('\n')}`);
      assert.match(manager.output(), /the store answers again, after \d+ failed cycle\(s\)/);
    }
  });

  test('worker stop while the database is out of reach: this host\'s managers are stopped all the same, found by their records here', { timeout: 90_000 }, async (t) => {
    const { relay, through } = await relayTo(t);
    const shared = queue(t);
    const here = shared.host('here', through);
    await here.ok(['enqueue', '--id', 'long', '--', 'sleep', '600']);
    const manager = here.manager(1);
    await waitFor(async () => (await here.job('long'))?.started_at != null, { timeoutMs: 20_000, what: 'the run to start' });
    const outage = relay.outage(40_000);
    const stopped = await here.run(['worker', 'stop', '--timeout', '1']);
    assert.equal(stopped.code, 0, describeRun(['worker', 'stop'], stopped));
    assert.match(stopped.stderr, /^queuectl: could not connect to postgres:\/\/\S+ \(schema \w+\): .+; stopping this host's managers from their records in .+\n$/);
    assert.match(stopped.stdout, /stopped 1 manager\(s\): \d+/);
    await withDeadline(manager.exited, 10_000, 'the manager to exit');
    relay.restore();
    await outage;
  });

  test('worker stop --all when a host is cut off from the database: says that manager did not answer (exit 1), and it stops once it reaches the database again', { timeout: 90_000 }, async (t) => {
    const { relay, through } = await relayTo(t);
    const shared = queue(t);
    const first = shared.host('first');
    const cutOff = shared.host('cut-off', through);
    const managers = [first.manager(1), cutOff.manager(1)];
    await first.workersShown(2, 'both managers in status', 20_000);
    const outage = relay.outage(60_000);
    const stop = await first.run(['worker', 'stop', '--all']);
    assert.equal(stop.code, 1, describeRun(['worker', 'stop', '--all'], stop));
    assert.equal(stop.stdout.trim().split('\n').at(-1), `stopped 1 manager(s): ${managers[0]!.pid}`);
    assert.match(stop.stderr, new RegExp(`^queuectl: 1 manager\\(s\\) did not answer: cut-off:${managers[1]!.pid}; .+they stop once they reach the database\\n$`));
    await withDeadline(managers[0]!.exited, 10_000, 'the manager of this host to exit');
    relay.restore();
    await outage;
    await withDeadline(managers[1]!.exited, 30_000, 'the cut-off manager to stop once it reaches the database');
  });

  test('worker stop --all when a host was cut off from the database long before: it is asked as well, named (exit 1), and stops once it reaches the database', { timeout: 90_000 }, async (t) => {
    const { relay, through } = await relayTo(t);
    const shared = queue(t);
    const first = shared.host('first');
    const cutOff = shared.host('cut-off', through);
    const silent = cutOff.manager(1);
    await first.workersShown(1, 'the manager in status', 20_000);
    const outage = relay.outage(60_000);
    await first.workersShown(0, 'its record to lapse', 30_000);
    const stop = await first.run(['worker', 'stop', '--all']);
    assert.equal(stop.code, 1, describeRun(['worker', 'stop', '--all'], stop));
    assert.match(stop.stderr, new RegExp(`^queuectl: 1 manager\\(s\\) did not answer: cut-off:${silent.pid}; `));
    relay.restore();
    await outage;
    await withDeadline(silent.exited, 30_000, 'the cut-off manager to stop once it reaches the database');
  });
});
