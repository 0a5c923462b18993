/**
 * The flows that matter, on the PostgreSQL store, through the real CLI and real processes.
 * "Hosts" are managers with data directories of their own that share only the database (see
 * postgres-hosts.ts); hosts that die or are cut off are in postgres-outages.test.ts. Without a
 * test database the suite is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import type { Job } from '../../core/rules/job.js';
import { CLI, describeRun, openFiles, processAlive, runCli, tempDataDir, tempDir, waitFor, withDeadline, type CliResult } from '../helpers.js';
import { needsPostgres, queue, url } from './postgres-hosts.js';

describe('the PostgreSQL store, end to end', needsPostgres, () => {
  test('lifecycle: enqueue, a manager runs the jobs, list, show, status, and logs from any host', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    const there = shared.host();
    assert.match((await here.ok(['store', 'migrate'])).stdout, /^postgres:\/\/127\.0\.0\.1:\d+\/\w+ \(schema queuectl_e2e_\w+\): ready, schema version 6\n$/);
    assert.deepEqual(Object.entries(await here.json<Record<string, unknown>>(['store', 'migrate'])).slice(1), [['ready', true], ['schema_version', 6]]);
    await here.ok(['enqueue', '--id', 'hello', '--', 'echo', 'hello from postgres']);
    await here.ok(['enqueue', '--id', 'second', '--after', 'hello', '--', 'sh', '-c', 'echo "$GREETING"']);
    here.manager(2);
    await waitFor(async () => (await here.job('second'))?.state === 'completed', { timeoutMs: 20_000, what: 'both jobs to complete' });
    const listed = await here.json<Job[]>(['list']);
    assert.deepEqual(
      listed.map((job) => [job.id, job.state, job.attempts]),
      [
        ['hello', 'completed', 1],
        ['second', 'completed', 1],
      ],
    );
    assert.match((await here.ok(['logs', 'hello'])).stdout, /^hello from postgres$/m);
    // Another host, which ran nothing: the log is in the database, header, output and end.
    const elsewhere = (await there.ok(['logs', 'hello'])).stdout;
    assert.match(elsewhere, new RegExp(`^--- queuectl: run 1 of 4 started .* by worker \\d+ on ${here.name} under lease [\\w-]+ in `, 'm'));
    assert.match(elsewhere, /^hello from postgres$/m);
    assert.match(elsewhere, /^--- queuectl: run 1 of 4 exited with code 0 after /m);
    assert.equal((await there.ok(['logs', 'hello', '--tail', '1'])).stdout.split('\n').length, 2, 'one line');
    // show names the log file of the host that has one; the other has none to name.
    assert.match((await here.ok(['show', 'hello'])).stdout, /^log +\/\S+\/logs\/hello\.log$/m);
    assert.match((await there.ok(['show', 'hello'])).stdout, /^log +- \(none on this host: queuectl logs hello shows the runs of every host\)$/m);
    const status = await here.json<{ store: string; counts: Record<string, number>; workers: unknown[] }>(['status']);
    assert.match(status.store, /^postgres:\/\/127\.0\.0\.1:\d+\/\w+ \(schema queuectl_e2e_/);
    assert.equal(status.counts.completed, 2);
    assert.equal(status.workers.length, 2);
  });

  test('a run has its manager\'s host name (QUEUECTL_HOST): queuectl in a job acts for that host', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    // Enqueued from a shell of another host name: the run is this manager's, on its host.
    const there = shared.host();
    await there.ok(['enqueue', '--id', 'where', '--', 'sh', '-c', `echo "host=$QUEUECTL_HOST"; '${process.execPath}' '${CLI}' worker stop`]);
    const manager = here.manager(1);
    await waitFor(async () => (await here.job('where'))?.state === 'completed', { timeoutMs: 20_000, what: 'the job to complete' });
    const log = (await here.ok(['logs', 'where'])).stdout;
    assert.match(log, new RegExp(`^host=${here.name}$`, 'm'));
    // Its own manager, found on its host: told to stop once the job ends, and gone.
    assert.match(log, new RegExp(`^not waiting for manager ${manager.pid}: it runs this job \\(where\\)`, 'm'));
    assert.equal(await withDeadline(manager.exited, 15_000, 'the manager to stop'), 0, manager.output());
  });

  test('logs -f on another host follows a running job as its output comes, a retry in the same stream, and ends with the job', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    const there = shared.host();
    const gate = join(tempDir(t), 'go');
    await here.ok(['config', 'set', 'backoff_base', '1']);
    const script = `echo "attempt $QUEUECTL_ATTEMPT begins"; while [ ! -e ${gate} ]; do sleep 0.05; done; echo "attempt $QUEUECTL_ATTEMPT ends"; [ "$QUEUECTL_ATTEMPT" = 2 ]`;
    await here.ok(['enqueue', '--id', 'live', '--max-retries', '1', '--', 'sh', '-c', script]);
    const child = spawn(process.execPath, [CLI, '--data-dir', there.data, 'logs', '-f', 'live'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...shared.env, QUEUECTL_HOST: there.name } });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    here.manager(1);
    await waitFor(async () => out.includes('attempt 1 begins'), { timeoutMs: 15_000, what: 'the output of the run on the other host, as it comes' });
    assert.equal((await here.job('live'))?.state, 'processing', 'shown while the job runs');
    writeFileSync(gate, '');
    assert.equal(await withDeadline(exited, 20_000, 'logs -f to end with the job'), 0, out);
    assert.match(out, /^--- queuectl: run 1 of 2 started [^\n]*\nattempt 1 begins\nattempt 1 ends\n--- queuectl: run 1 of 2 command failed with exit code 1[^\n]*\n--- queuectl: run 2 of 2 started [^\n]*\nattempt 2 begins\nattempt 2 ends\n--- queuectl: run 2 of 2 exited with code 0 after [\d.]+ s\n$/);
  });

  test('log_limit 0 keeps all of a run\'s output; once wait says the job finished, logs on another host ends with the run\'s end', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    const there = shared.host();
    await here.ok(['config', 'set', 'log_limit', '0']); // all of it: a few megabytes to send when the run ends
    await here.ok(['enqueue', '--id', 'loud', '--', 'sh', '-c', 'head -c 4000000 /dev/zero | tr "\\0" x | fold -w 100']);
    here.manager(1);
    await there.ok(['wait', 'loud', '--timeout', '30s']);
    const last = (await there.ok(['logs', 'loud', '--tail', '1'])).stdout;
    assert.match(last, /^--- queuectl: run 1 of 4 exited with code 0 after [\d.]+ s\n$/);
    assert.equal(Buffer.byteLength((await there.ok(['logs', 'loud'])).stdout) > 4_000_000, true, 'all of it');
  });

  test('output with a NUL byte: on another host, logs shows it as U+FFFD, and the output after it, short run or long; the host that ran it keeps the byte', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    const there = shared.host();
    await here.ok(['enqueue', '--id', 'short', '--command', "printf 'a\\0b\\n'; echo after"]);
    // Past a second: its output goes up while it runs, the NUL byte among it.
    await here.ok(['enqueue', '--id', 'long', '--command', "echo before; printf 'x\\0y\\n'; sleep 1.5; echo after"]);
    here.manager(2);
    await there.ok(['wait', 'short', 'long', '--timeout', '30s']);
    assert.match((await there.ok(['logs', 'short'])).stdout, /\na\uFFFDb\nafter\n--- queuectl: run 1 of 4 exited with code 0 after [\d.]+ s\n$/);
    assert.match((await there.ok(['logs', 'long'])).stdout, /\nbefore\nx\uFFFDy\nafter\n--- queuectl: run 1 of 4 exited with code 0 after [\d.]+ s\n$/);
    assert.ok(readFileSync(join(here.data, 'logs', 'short.log'), 'utf8').includes('a\0b\n'), "the host's file has the byte");
  });

  test('log_limit: the database keeps the tail of each run, saying how much was cut; the host that ran it keeps all', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    const there = shared.host();
    await here.ok(['config', 'set', 'log_limit', '1k']);
    assert.equal((await there.json<{ log_limit: number }>(['config', 'get'])).log_limit, 1024, 'a setting of the database, seen from every host');
    await here.ok(['enqueue', '--id', 'big', '--', 'sh', '-c', 'seq 1 2000; echo the-end']);
    here.manager(1);
    await waitFor(async () => (await here.job('big'))?.state === 'completed', { timeoutMs: 20_000, what: 'the job to complete' });
    const shown = (await there.ok(['logs', 'big'])).stdout;
    const lines = shown.split('\n');
    assert.match(lines[0]!, /^--- queuectl: run 1 of 4 started /, 'the header of the run is kept');
    const cut = /^--- queuectl: (\d+) bytes of this run's output cut \(log_limit/.exec(lines[1]!);
    assert.ok(cut, shown.slice(0, 300));
    assert.match(shown, /^the-end$/m, 'the tail is kept');
    assert.doesNotMatch(shown, /^1$/m, 'the head is not');
    assert.ok(shown.length < 1024 + 600, `at most the limit, with queuectl's lines: ${shown.length} bytes`);
    const whole = readFileSync(join(here.data, 'logs', 'big.log'), 'utf8');
    assert.match(whole, /^1\n2\n3$/m, "this host's file has every line");
    const header = whole.indexOf('\n') + 1;
    const kept = whole.slice(header + Number(cut[1]));
    assert.ok(kept.length <= 1024 && kept.length > 900, `at most log_limit bytes kept: ${kept.length}`);
    assert.ok(shown.endsWith(kept) && /^\d+$/.test(kept.split('\n')[0]!), 'the last bytes as the file has them, from the start of a line');
    assert.equal(lines.slice(2).join('\n'), kept, 'nothing else');
  });

  test('a job that keeps failing is retried with backoff, reaches the DLQ, and dlq retry brings it back', { timeout: 60_000 }, async (t) => {
    const here = queue(t).host();
    await here.ok(['config', 'set', 'backoff_base', '1']);
    await here.ok(['enqueue', '--id', 'flaky', '--max-retries', '1', '--', 'sh', '-c', 'exit 3']);
    here.manager(1);
    await waitFor(async () => (await here.job('flaky'))?.state === 'dead', { timeoutMs: 20_000, what: 'the job to die' });
    const dead = await here.json<Job[]>(['dlq', 'list']);
    assert.deepEqual(dead.map((job) => [job.id, job.attempts, job.exit_code]), [['flaky', 2, 3]]);
    const wait = await here.run(['wait', 'flaky']);
    assert.equal(wait.code, 1, 'wait on a dead job exits 1');
    await here.ok(['dlq', 'retry', 'flaky']);
    await waitFor(async () => (await here.job('flaky'))?.state === 'dead' && (await here.job('flaky'))?.attempts === 2, {
      timeoutMs: 20_000,
      what: 'the retried job to die again, attempts reset',
    });
  });

  test("a job that kills its worker: on another host, its log shows the run's output, then the line saying it was lost", { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    const there = shared.host();
    // The worker is the parent of the run's sh; killed, it never sends the run's output on.
    await here.ok(['enqueue', '--id', 'wrecker', '--max-retries', '0', '--command', 'echo "last words"; kill -9 $PPID; sleep 5']);
    here.manager(1);
    await waitFor(async () => (await here.job('wrecker'))?.state === 'dead', { timeoutMs: 20_000, what: 'the job to end dead' });
    const log = await waitFor(
      async () => {
        const text = (await there.ok(['logs', 'wrecker'])).stdout;
        return /lost: worker \d+ was killed by SIGKILL/.test(text) ? text : undefined;
      },
      { timeoutMs: 10_000, what: 'the lost line in the log on the other host' },
    );
    assert.match(log, /^--- queuectl: run 1 of 1 started [^\n]*\nlast words\n--- queuectl: run 1 of 1 lost: worker \d+ was killed by SIGKILL\n$/);
  });

  test('cancel from another host stops the run where it runs', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const runner = shared.host();
    const elsewhere = shared.host();
    await elsewhere.ok(['enqueue', '--id', 'long', '--', 'sh', '-c', 'echo $$ > "$QUEUECTL_DATA_DIR/long.pid"; exec sleep 600']);
    const manager = runner.manager(1);
    await waitFor(async () => (await runner.job('long'))?.started_at != null, { timeoutMs: 20_000, what: 'the run to start' });
    const pid = await waitFor(() => readPid(runner.data), { what: 'the run to write its pid' });
    const canceled = await elsewhere.ok(['cancel', 'long']);
    assert.equal(canceled.stdout, `canceled long (was running on ${runner.name}; its manager there stops the run)\n`);
    await waitFor(() => !processAlive(pid), { timeoutMs: 10_000, what: `the run (pid ${pid}) to be stopped by its manager` });
    assert.equal((await elsewhere.job('long'))?.state, 'canceled');
    assert.match(manager.output(), /long: stopping its run on worker \d+: it was canceled/);
  });

  test('a job\'s fields come in one order, the file store\'s, in every command\'s JSON and in show, on both stores', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const pg = shared.host();
    const file = tempDataDir(t);
    const order = ['id', 'state', 'queue', 'after', 'created_at', 'updated_at', 'command', 'attempts', 'max_retries', 'priority', 'run_at', 'timeout', 'cwd', 'env', 'env_id', 'started_at', 'finished_at', 'exit_code', 'last_error', 'lease'];
    for (const [where, run] of [
      ['file', (args: readonly string[]) => runCli(file, args)],
      ['postgres', pg.run],
    ] as const) {
      const keys = async (args: readonly string[]) => {
        const rest = args.indexOf('--');
        const result = await run(rest === -1 ? [...args, '--json'] : [...args.slice(0, rest), '--json', ...args.slice(rest)]);
        assert.equal(result.code, 0, describeRun(args, result));
        const parsed = JSON.parse(result.stdout) as Record<string, unknown> | Record<string, unknown>[];
        return Object.keys(Array.isArray(parsed) ? parsed[0]! : parsed);
      };
      assert.deepEqual(await keys(['enqueue', '--id', 'b', '--', 'true']), order, `${where}: enqueue`);
      assert.deepEqual(await keys(['show', 'b']), order, `${where}: show`);
      assert.deepEqual(await keys(['list']), order, `${where}: list`);
      const text = await run(['show', 'b']);
      assert.deepEqual(
        text.stdout.split('\n').map((line) => line.split(' ')[0]).filter((key) => order.includes(key!)),
        order.filter((key) => key !== 'lease'),
        `${where}: show's lines`,
      );
    }
  });

  test('LISTEN/NOTIFY: with polls a minute apart and a lease of a minute, a job enqueued on one host starts on another within seconds, and a cancel from a third stops its run within seconds', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const runner = shared.host();
    const here = shared.host();
    const there = shared.host();
    // Without notifications a manager would see the job at its next poll, and the cancel at its
    // next renewal of the lease: tens of seconds from now.
    await here.ok(['config', 'set', 'poll_interval', '60s']);
    await here.ok(['config', 'set', 'lease', '60']);
    const manager = runner.manager(1);
    await waitFor(async () => manager.output().includes('started 1 worker'), { what: 'the manager to start' });
    await waitFor(async () => (await here.json<{ workers: unknown[] }>(['status'])).workers.length === 1, { what: 'its worker to show' });
    await here.ok(['enqueue', '--id', 'long', '--', 'sh', '-c', 'echo $$ > "$QUEUECTL_DATA_DIR/long.pid"; exec sleep 600']);
    const pid = await waitFor(() => readPid(runner.data), { timeoutMs: 5_000, what: 'the job to start on the other host, woken by a notification' });
    await there.ok(['cancel', 'long']);
    await waitFor(() => !processAlive(pid), { timeoutMs: 5_000, what: `the run (pid ${pid}) to be stopped by its manager, told by a notification` });
  });

  test('cancel from another data dir of the same host names the data dir its run is under', { timeout: 60_000 }, async (t) => {
    // Two data dirs of one host that share a queue: no process of the run is under the one that
    // cancels, yet the run goes on under the other until its manager stops it.
    const shared = queue(t);
    const runner = shared.host('twin');
    const other = shared.host('twin');
    const { manager, pid } = await longRun(other, runner);
    const canceled = await other.ok(['cancel', 'long']);
    assert.equal(canceled.stdout, `canceled long (was running under the data dir ${runner.data} of this host; its manager there stops the run)\n`);
    await waitFor(() => !processAlive(pid), { timeoutMs: 10_000, what: `the run (pid ${pid}) to be stopped by its manager` });
    assert.match(manager.output(), /long: stopping its run on worker \d+: it was canceled/);
  });

  test('status lists the workers of every host, by host; worker stop stops this host\'s managers, --all every host\'s', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const alpha = shared.host('alpha');
    const beta = shared.host('beta');
    const gate = gatedCommand(t); // it is running while status looks
    await alpha.ok(['enqueue', '--id', 'long', '--', ...gate.command]);
    const first = alpha.manager(1);
    await waitFor(async () => (await alpha.job('long'))?.started_at != null, { timeoutMs: 20_000, what: 'the job to start on alpha' });
    const second = beta.manager(2);
    type Workers = { workers: { host: string; job: string | null }[] };
    const status = await waitFor(
      async () => {
        const found = await beta.json<Workers>(['status']);
        return found.workers.length === 3 ? found : undefined;
      },
      { what: 'three workers on two hosts' },
    );
    assert.deepEqual(status.workers.map((worker) => [worker.host, worker.job]), [
      ['alpha', 'long'],
      ['beta', null],
      ['beta', null],
    ]);
    assert.match((await beta.ok(['status'])).stdout, /^HOST +PID +MANAGER +JOB$/m);
    const stopping = alpha.run(['worker', 'stop']);
    await waitFor(async () => first.output().includes('stopping:'), { what: "alpha's manager to begin stopping" });
    gate.open();
    assert.equal((await stopping).code, 0);
    assert.equal(await withDeadline(first.exited, 15_000, "alpha's manager to stop"), 0);
    assert.equal((await alpha.job('long'))?.state, 'completed', 'its running job finished first');
    assert.equal(processAlive(second.pid), true, "beta's manager runs on");
    assert.match((await alpha.ok(['status'])).stdout, /^HOST +PID +MANAGER +JOB\nbeta +\d+/m, "on alpha, beta's workers are named with their host");
    const all = await alpha.ok(['worker', 'stop', '--all']);
    assert.match(all.stdout, /asked manager beta:\d+ \(2 worker\(s\)\) to stop/);
    assert.equal(await withDeadline(second.exited, 15_000, "beta's manager to stop"), 0);
  });

  test('worker stop --all while another host runs a job: its manager lets the job finish, once, then stops, and the command waits for it', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const alpha = shared.host('alpha');
    const beta = shared.host('beta');
    const gate = gatedCommand(t);
    await alpha.ok(['enqueue', '--id', 'long', '--', ...gate.command]);
    const manager = beta.manager(1);
    await waitFor(async () => (await beta.job('long'))?.started_at != null, { timeoutMs: 20_000, what: 'the job to start on beta' });
    const stopping = alpha.run(['worker', 'stop', '--all']);
    let returned = false;
    void stopping.then(() => (returned = true));
    await waitFor(async () => manager.output().includes('asked to stop (worker stop --all)'), { what: "beta's manager to be asked" });
    await new Promise((resolve) => setTimeout(resolve, 500)); // a while for a command that would not wait to return
    assert.equal(processAlive(manager.pid), true, 'it waits for its job');
    assert.equal(returned, false, 'the command waits for it');
    gate.open();
    const stopped = await stopping;
    assert.equal(stopped.code, 0, describeRun(['worker', 'stop', '--all'], stopped));
    assert.match(stopped.stdout, /asked manager beta:\d+ \(1 worker\(s\)\) to stop; its running jobs finish first/);
    assert.equal(await withDeadline(manager.exited, 15_000, "beta's manager to stop"), 0);
    const job = await alpha.job('long');
    assert.deepEqual([job?.state, job?.attempts], ['completed', 1], 'finished once, not killed and retried');
  });

  test('worker stop --all --timeout kills the running jobs of other hosts too, and counts a manager stopped only once it has', { timeout: 90_000 }, async (t) => {
    const shared = queue(t);
    const alpha = shared.host('alpha');
    const beta = shared.host('beta');
    const { manager, pid } = await longRun(beta, beta);
    const stop = await alpha.run(['worker', 'stop', '--all', '--timeout', '1s', '--json']);
    assert.equal(stop.code, 0, describeRun(['worker', 'stop', '--all'], stop));
    assert.deepEqual(JSON.parse(stop.stdout), { stopped: [`beta:${manager.pid}`], aborted: true });
    assert.equal(processAlive(pid), false, 'the run on beta was killed');
    assert.equal(await withDeadline(manager.exited, 5_000, "beta's manager to have stopped"), 0);
    assert.match(manager.output(), /asked to stop now \(worker stop --all --timeout\): killing running jobs/);
  });

  test('worker start beside a manager of another data dir of this host says it runs on the store they share, not on this data dir', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const one = shared.host('twin');
    const other = shared.host('twin');
    const first = one.manager(1);
    await one.workersShown(1, 'the first manager to run');
    const start = await other.ok(['worker', 'start', '--detach']);
    t.after(() => other.run(['worker', 'stop']));
    assert.match(start.stdout, new RegExp(`^note: 1 other manager\\(s\\) already run on postgres://\\S+ \\(schema ${shared.schema}\\) \\(pid ${first.pid}\\) with 1 worker\\(s\\): 2 worker\\(s\\) in all$`, 'm'));
  });

  test('40 enqueues at once from two hosts, half of them with ids given: every job stored once, ids unique; two hosts of two workers each run every job exactly once', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const hosts = [shared.host(), shared.host()];
    const ran = join(tempDir(t), 'ran');
    const job = ['--', 'sh', '-c', `echo "$QUEUECTL_JOB_ID" >> ${ran}`];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => hosts[i % 2]!.run(['enqueue', ...(i < 20 ? ['--id', `j${i}`] : []), ...job])));
    assert.deepEqual(
      results.map((result: CliResult) => result.code),
      Array(40).fill(0),
    );
    const again = await hosts[0]!.run(['enqueue', '--id', 'j7', '--', 'true']);
    assert.equal(again.code, 2, 'an id taken on another host is taken');
    const listed = await hosts[1]!.json<Job[]>(['list']);
    assert.equal(listed.length, 40);
    const ids = listed.map((job) => job.id);
    assert.equal(new Set(ids).size, 40);
    for (const host of hosts) host.manager(2);
    await waitFor(async () => (await hosts[0]!.json<Job[]>(['list'])).every((job) => job.state === 'completed'), { timeoutMs: 30_000, what: 'every job to complete' });
    const runs = readFileSync(ran, 'utf8').trim().split('\n');
    assert.deepEqual([...runs].sort(), [...ids].sort(), 'each job ran once, none twice');
  });

  test('wait follows jobs run on another host, with its exit codes', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const runner = shared.host();
    const waiter = shared.host();
    await waiter.ok(['enqueue', '--id', 'ok', '--', 'sleep', '0.5']);
    await waiter.ok(['enqueue', '--id', 'bad', '--max-retries', '0', '--', 'false']);
    runner.manager(2);
    assert.equal((await waiter.run(['wait', 'ok'])).code, 0);
    assert.equal((await waiter.run(['wait', 'ok', 'bad'])).code, 1);
    const timeout = await waiter.run(['wait', '--timeout', '0.2', 'nope']);
    assert.equal(timeout.code, 2, 'an unknown id is bad input');
  });

  test('a job that runs queuectl works on its manager\'s store; the store\'s URL is on no command line of the workers', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    // The enqueue's environment goes with its jobs, without QUEUECTL_*: the run is told the store.
    await here.ok(['enqueue', '--id', 'parent', '--', process.execPath, CLI, 'enqueue', '--id', 'child', '--', 'echo', 'from the child']);
    here.manager(1);
    await waitFor(async () => (await here.job('child'))?.state === 'completed', { timeoutMs: 20_000, what: 'the child job, enqueued by a job, to run on the same store' });
    assert.match((await here.ok(['logs', 'child'])).stdout, /^from the child$/m);
    const workers = (await here.json<{ workers: { pid: number }[] }>(['status'])).workers;
    assert.equal(workers.length, 1);
    for (const { pid } of workers) {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      assert.ok(!commandLine.includes('postgres'), `worker ${pid}: ${commandLine.replaceAll('\0', ' ')}`);
    }
  });

  test("a worker of short runs opens no connection to the database: the manager gives it the enqueue's environment, and each run's log goes with its outcome", { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    const there = shared.host();
    const enqueued = await runCli(here.data, ['enqueue', '--file', '-'], {
      env: { ...shared.env, QUEUECTL_HOST: here.name, GREETING: 'hello from the enqueue' },
      input: ['a', 'b', 'c'].map((id) => `${JSON.stringify({ id, command: 'echo "$GREETING"' })}\n`).join(''),
    });
    assert.equal(enqueued.code, 0, describeRun(['enqueue', '--file', '-'], enqueued));
    here.manager(1);
    await waitFor(async () => (await here.job('c'))?.state === 'completed', { timeoutMs: 20_000, what: 'the three jobs to complete' });
    for (const id of ['a', 'b', 'c']) assert.match((await there.ok(['logs', id])).stdout, /^hello from the enqueue$/m, `${id}: its environment, and its log on another host`);
    assert.match((await there.ok(['show', 'a'])).stdout, /^env_id +[0-9a-f]{32} \(the environment of its enqueue, in the envs table\)$/m);
    const [worker] = (await here.json<{ workers: { pid: number }[] }>(['status'])).workers;
    assert.ok(worker);
    assert.deepEqual(databaseConnectionsOf(worker.pid, Number(new URL(url).port || 5432)), [], `worker ${worker.pid} holds no connection to the database`);
  });

  test('bad input: one line, exit 2, nothing stored', { timeout: 60_000 }, async (t) => {
    const here = queue(t).host();
    for (const args of [['enqueue', '{"command":'], ['enqueue', '--id', 'a b', '--', 'true'], ['cancel', 'ghost'], ['show', 'ghost'], ['enqueue', '--after', 'ghost', '--', 'true']]) {
      const result = await here.run(args);
      assert.equal(result.code, 2, describeRun(args, result));
      assert.match(result.stderr, /^queuectl: [^\n]+\n$/, describeRun(args, result));
    }
    assert.deepEqual(await here.json<Job[]>(['list']), []);
  });

  test('commands that only read, or find nothing to change (an unknown id, nothing to prune), make no schema: a typo in ?schema= leaves none behind; the first write makes it', { timeout: 60_000 }, async (t) => {
    const shared = queue(t);
    const here = shared.host();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    t.after(() => admin.end());
    const made = async () => (await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [shared.schema])).rowCount === 1;
    for (const [args, code] of [
      [['list'], 0],
      [['status'], 0],
      [['stats'], 0],
      [['dlq', 'list'], 0],
      [['config', 'get'], 0],
      [['enqueue', '--after', 'ghost', '--', 'true'], 2],
      [['show', 'ghost'], 2],
      [['logs', 'ghost'], 2],
      [['wait', 'ghost'], 2],
      [['cancel', 'ghost'], 2],
      [['restart', 'ghost'], 2],
      [['dlq', 'retry', 'ghost'], 2],
      [['cancel', '--all'], 0],
      [['prune'], 0],
      [['prune', '--archive'], 0],
      [['worker', 'stop', '--all'], 0],
      [['resume'], 0],
      [['resume', '-q', 'gpu'], 0],
      [['parallel', '0'], 0],
    ] as const) {
      const result = await here.run(args);
      assert.equal(result.code, code, describeRun(args, result));
      assert.equal(await made(), false, `${args.join(' ')} made the schema`);
    }
    assert.deepEqual(await here.json<Job[]>(['list']), []);
    await here.ok(['enqueue', '--id', 'first', '--', 'true']);
    assert.equal(await made(), true);
    assert.deepEqual((await here.json<Job[]>(['list'])).map((job) => job.id), ['first']);
    // store migrate readies the database, not this host's data dir.
    const nowhere = join(tempDir(t), 'not-made');
    const migrated = await runCli(nowhere, ['store', 'migrate'], { env: shared.env });
    assert.equal(migrated.code, 0, describeRun(['store', 'migrate'], migrated));
    assert.equal(existsSync(nowhere), false, 'store migrate made a data dir');
  });

  test('a statement the database refuses (no permission to create the schema) is one line naming the store: exit 1, no stack', { timeout: 60_000 }, async (t) => {
    const role = `queuectl_weak_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    t.after(async () => {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    });
    const weak = new URL(url);
    weak.username = role;
    const schema = `queuectl_e2e_${randomBytes(6).toString('hex')}`;
    // A write: a command that only reads makes no schema, and finds none to read.
    const result = await runCli(tempDataDir(t), ['enqueue', '--', 'true'], { env: { QUEUECTL_STORE: `${weak.toString()}${weak.search ? '&' : '?'}schema=${schema}` } });
    assert.equal(result.code, 1, describeRun(['enqueue', '--', 'true'], result));
    assert.match(result.stderr, new RegExp(`^queuectl: postgres://127\\.0\\.0\\.1:\\d+/\\w+ \\(schema ${schema}\\): permission denied for database \\w+\\n$`));
  });

  test('a database that cannot be reached, or refuses the login, is one line naming it: exit 1, no stack, within 10 s', { timeout: 60_000 }, async (t) => {
    const data = tempDataDir(t);
    const refused = new URL(url);
    refused.port = '1';
    const stranger = new URL(url);
    stranger.username = 'no_such_role';
    for (const [store, reason] of [
      [refused.toString(), /ECONNREFUSED/],
      [stranger.toString(), /role "no_such_role" does not exist/],
    ] as const) {
      const started = Date.now();
      const result = await runCli(data, ['status'], { env: { QUEUECTL_STORE: store } });
      assert.equal(result.code, 1, describeRun(['status'], result));
      assert.match(result.stderr, /^queuectl: could not connect to postgres:\/\/127\.0\.0\.1:\d+\/\w+: [^\n]+\n$/);
      assert.match(result.stderr, reason);
      assert.ok(Date.now() - started < 10_000, 'within 10 s');
    }
  });
});

test('sslmode=require: node-postgres\'s warning is one line, with what to write instead, before the error', async (t) => {
  const result = await runCli(tempDataDir(t), ['status'], { env: { QUEUECTL_STORE: 'postgres://someone@127.0.0.1:1/db?sslmode=require' } });
  assert.equal(result.code, 1, describeRun(['status'], result));
  const lines = result.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 2, result.stderr);
  assert.match(lines[0]!, /^queuectl: warning: The SSL modes .* are treated as aliases for 'verify-full': write sslmode=verify-full for that without this warning, or uselibpqcompat=true&sslmode=require for libpq's meaning$/);
  assert.match(lines[1]!, /^queuectl: could not connect to postgres:\/\/127\.0\.0\.1:1\/db: /);
});

test('a server that accepts the connection and never answers: one line naming it, exit 1, within 10 s (the connect timeout; node-postgres alone would wait for ever)', { timeout: 30_000 }, async (t) => {
  let reached = false;
  const store = await fakeServer(t, () => void (reached = true));
  const started = Date.now();
  const result = await runCli(tempDataDir(t), ['status'], { env: { QUEUECTL_STORE: store } });
  const took = Date.now() - started;
  assert.equal(result.code, 1, describeRun(['status'], result));
  assert.match(result.stderr, /^queuectl: could not connect to postgres:\/\/127\.0\.0\.1:\d+\/postgres: [^\n]*timeout[^\n]*\n$/);
  assert.ok(reached, 'it reached the server');
  assert.ok(took < 10_000, `ended after ${took} ms`);
});

test('a server that asks for a password the URL does not give: one line, exit 1, at once (it does not wait out the server\'s 60 s to log in)', { timeout: 30_000 }, async (t) => {
  // Enough of PostgreSQL to ask for SCRAM, then to say nothing more and keep the connection, as the server does.
  const store = await fakeServer(t, (socket) => {
    const authentication = (type: number, payload: string) => {
      const body = Buffer.from(payload);
      const message = Buffer.alloc(9 + body.length);
      message.write('R', 0);
      message.writeInt32BE(8 + body.length, 1);
      message.writeInt32BE(type, 5);
      body.copy(message, 9);
      socket.write(message);
    };
    let said = 0;
    socket.on('data', (chunk: Buffer) => {
      if (said++ === 0) return authentication(10, 'SCRAM-SHA-256\0\0'); // AuthenticationSASL, to the startup message
      // AuthenticationSASLContinue, to the client's first message: its nonce, and a salt.
      const nonce = /r=([^,\0]+)/.exec(chunk.toString('latin1'))?.[1] ?? '';
      authentication(11, `r=${nonce}server,s=${Buffer.from('salt').toString('base64')},i=4096`);
    });
  });
  const started = Date.now();
  const result = await runCli(tempDataDir(t), ['status'], { env: { QUEUECTL_STORE: store } });
  assert.equal(result.code, 1, describeRun(['status'], result));
  assert.match(result.stderr, /^queuectl: could not connect to postgres:\/\/127\.0\.0\.1:\d+\/postgres: .*password.*\n$/);
  assert.ok(Date.now() - started < 5_000, `ended after ${Date.now() - started} ms`);
});

test('worker start on a database that cannot be reached is one line, exit 1, and makes no data dir', { timeout: 30_000 }, async (t) => {
  const store = 'postgres://nobody@127.0.0.1:1/none';
  for (const args of [['worker', 'start'], ['worker', 'start', '--detach']]) {
    const nowhere = join(tempDir(t), 'not-made');
    const result = await runCli(nowhere, args, { env: { QUEUECTL_STORE: store } });
    assert.equal(result.code, 1, describeRun(args, result));
    assert.match(result.stderr, /^queuectl: could not connect to postgres:\/\/127\.0\.0\.1:1\/none: [^\n]*ECONNREFUSED[^\n]*\n$/);
    assert.equal(existsSync(nowhere), false, `${args.join(' ')} made a data dir`);
  }
});

/** A host of a shared queue (see postgres-hosts.ts). */
type Host = ReturnType<ReturnType<typeof queue>['host']>;

/**
 * Job `long`, which runs until it is killed (its pid in `long.pid` of the data dir it runs
 * under), enqueued on `from` and started by a manager of one worker on `on`: that manager, and
 * the run's pid once it runs.
 */
async function longRun(from: Host, on: Host): Promise<{ manager: ReturnType<Host['manager']>; pid: number }> {
  await from.ok(['enqueue', '--id', 'long', '--', 'sh', '-c', 'echo $$ > "$QUEUECTL_DATA_DIR/long.pid"; exec sleep 600']);
  const manager = on.manager(1);
  const pid = await waitFor(() => readPid(on.data), { timeoutMs: 20_000, what: 'the run to write its pid' });
  return { manager, pid };
}

function readPid(data: string): number | undefined {
  try {
    const text = readFileSync(join(data, 'long.pid'), 'utf8').trim();
    return text === '' ? undefined : Number(text);
  } catch {
    return undefined;
  }
}

/** The TCP connections process `pid` holds to `port` (its sockets, as /proc/net/tcp and tcp6 list them), as "local -> remote" hex pairs. */
function databaseConnectionsOf(pid: number, port: number): string[] {
  const sockets = new Set(openFiles(pid).flatMap((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1] ?? []));
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const [, local, remote, , , , , , , inode] = fields;
      if (sockets.has(inode!) && remote!.endsWith(`:${portHex}`)) found.push(`${local} -> ${remote}`);
    }
  }
  return found;
}

/** A stand-in for a server on a free port, closed after the test: the URL of a database on it. */
async function fakeServer(t: TestContext, onConnection: (socket: Socket) => void): Promise<string> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return `postgres://someone@127.0.0.1:${(server.address() as AddressInfo).port}/postgres`;
}

/** A job's command that runs until the test opens its gate: however slow the machine, it runs while the test looks. */
function gatedCommand(t: TestContext): { command: string[]; open: () => void } {
  const gate = join(tempDir(t), 'go');
  return { command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`], open: () => writeFileSync(gate, '') };
}
