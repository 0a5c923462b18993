/**
 * End-to-end: where the queue lives. An installed queuectl keeps it in the user's XDG state
 * dir, private to them, so a reinstall cannot wipe it; a data dir that cannot serve is refused
 * with one line naming it. The install is made the way npm lays one out (the package copied into
 * a `node_modules`), and run as its users run it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { userInfo } from 'node:os';
import { CLI, cliOk, killProcessesOf, processesOf, runCli, snapshotDir, tempDir, waitFor } from '../helpers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** The package as `npm install -g --prefix` lays it out: `<prefix>/lib/node_modules/queuectl`. Returns its bin. */
function install(prefix: string): string {
  const root = join(prefix, 'lib', 'node_modules', 'queuectl');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(REPO, 'package.json'), join(root, 'package.json'));
  cpSync(join(REPO, 'dist'), join(root, 'dist'), { recursive: true });
  mkdirSync(join(root, 'data'));
  // Its dependencies, from this checkout (the package's own directory must be a real one).
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  return join(root, 'dist', 'bundle', 'queuectl.js');
}

function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  // TMPDIR: the code cache of each copy installed goes with the copy, not into the user's /tmp.
  const clean = { ...process.env, QUEUECTL_DATA_DIR: '', XDG_STATE_HOME: '', NO_COLOR: '1', TMPDIR: dirname(bin), ...env };
  return spawnSync(process.execPath, [bin, ...args], { env: clean, encoding: 'utf8' });
}

function setup(t: TestContext) {
  const home = tempDir(t, 'queuectl-home-');
  const bin = install(tempDir(t, 'queuectl-prefix-'));
  return { home, bin };
}

test('installed, the queue lives in ~/.local/state/queuectl, mode 0700, and survives a reinstall', async (t) => {
  const { home, bin } = setup(t);
  const enqueued = run(bin, ['enqueue', '--id', 'kept', '--command', 'true'], { HOME: home });
  assert.equal(enqueued.status, 0, enqueued.stderr);
  const dir = join(home, '.local', 'state', 'queuectl');
  assert.ok(existsSync(join(dir, 'queue.json')), 'the job is in the state dir');
  assert.equal(statSync(dir).mode & 0o777, 0o700, 'private to its user');
  assert.deepEqual(readdirSync(join(bin, '..', '..', '..', 'data')), [], 'nothing in the package');

  install(join(bin, '..', '..', '..', '..', '..', '..')); // the same version again, over it
  const status = JSON.parse(run(bin, ['status', '--json'], { HOME: home }).stdout) as { data_dir: string; counts: { pending: number } };
  assert.equal(status.data_dir, dir, 'status says which data dir is in use');
  assert.equal(status.counts.pending, 1, 'the queue survived the reinstall');
});

test('installed, XDG_STATE_HOME moves the default, and each user (HOME) has a queue of their own', async (t) => {
  const { home, bin } = setup(t);
  const state = tempDir(t, 'queuectl-state-');
  assert.equal(run(bin, ['enqueue', '--command', 'true'], { HOME: home, XDG_STATE_HOME: state }).status, 0);
  assert.ok(existsSync(join(state, 'queuectl', 'queue.json')));
  const other = tempDir(t, 'queuectl-home-');
  const status = JSON.parse(run(bin, ['status', '--json'], { HOME: other }).stdout) as { data_dir: string; counts: { pending: number } };
  assert.equal(status.data_dir, join(other, '.local', 'state', 'queuectl'));
  assert.equal(status.counts.pending, 0);
});

test('a data dir path that is a file is refused with one line naming it, exit 1, for reads and writes alike', async (t) => {
  const work = tempDir(t);
  const file = join(work, 'not-a-dir');
  writeFileSync(file, 'mine\n');
  for (const args of [['status'], ['list'], ['enqueue', '--command', 'true']]) {
    const result = await runCli(file, args);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr, `queuectl: cannot use the data directory ${file}: it is a file, not a directory; choose another with --data-dir DIR or QUEUECTL_DATA_DIR\n`);
  }
  const below = join(file, 'queue');
  const result = await runCli(below, ['enqueue', '--command', 'true']);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, `queuectl: cannot use the data directory ${below}: a part of its path is a file; choose another with --data-dir DIR or QUEUECTL_DATA_DIR\n`);
});

/**
 * A copy of the package that any user can read and run, for a run as an unprivileged user: the
 * checkout itself may sit in a directory only its owner can enter (a CI's temp dir).
 */
function installForEveryone(t: TestContext): string {
  const prefix = tempDir(t, 'queuectl-shared-');
  chmodSync(prefix, 0o755);
  const root = join(prefix, 'queuectl');
  cpSync(join(REPO, 'package.json'), join(root, 'package.json'));
  cpSync(join(REPO, 'dist'), join(root, 'dist'), { recursive: true });
  // The runtime dependencies and theirs, as the package needs them.
  const dependenciesOf = (dir: string) => Object.keys((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: object }).dependencies ?? {});
  const wanted = dependenciesOf(REPO);
  for (let i = 0; i < wanted.length; i++) {
    const from = join(REPO, 'node_modules', wanted[i]!);
    cpSync(from, join(root, 'node_modules', wanted[i]!), { recursive: true, dereference: true });
    for (const dependency of dependenciesOf(from)) if (!wanted.includes(dependency)) wanted.push(dependency);
  }
  spawnSync('chmod', ['-R', 'a+rX', prefix]);
  return join(root, 'dist', 'bundle', 'queuectl.js');
}

test('a data dir this user cannot write is refused with one line naming it, exit 1, and nothing changes', async (t) => {
  const work = tempDir(t);
  const locked = join(work, 'locked');
  mkdirSync(join(locked, 'data'), { recursive: true });
  const before = snapshotDir(work);
  // As root, permissions do not apply: run as an unprivileged user; otherwise take the write bit away.
  const asRoot = process.getuid?.() === 0;
  if (!asRoot) chmodSync(locked, 0o500);
  const cli = asRoot ? installForEveryone(t) : fileURLToPath(new URL('../../bundle/queuectl.js', import.meta.url));
  try {
    for (const dir of [join(locked, 'data'), join(locked, 'new')]) {
      const args = [cli, '--data-dir', dir, 'enqueue', '--command', 'true'];
      const result = asRoot
        ? // TMPDIR, which nobody may not write: no code cache of this copy is left behind.
          spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, ...args], { encoding: 'utf8', env: { ...process.env, TMPDIR: work } })
        : spawnSync(process.execPath, args, { encoding: 'utf8' });
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stderr, `queuectl: cannot use the data directory ${dir}: permission denied; choose another with --data-dir DIR or QUEUECTL_DATA_DIR\n`);
    }
  } finally {
    chmodSync(locked, 0o700);
  }
  assert.deepEqual(snapshotDir(work), before);
});

test('an empty --data-dir is bad input: one line, exit 2, not the whole help', async () => {
  for (const argv of [['--data-dir', '', 'status'], ['status', '--data-dir', ''], ['--data-dir=', 'enqueue', '--command', 'true']]) {
    const result = await runCli(null, argv);
    assert.equal(result.code, 2, argv.join(' '));
    assert.match(result.stderr, /^queuectl: --data-dir is empty: give a directory, or leave the option out to use \S+\n$/);
    assert.equal(result.stdout, '');
  }
});

test('a data dir that is not there is not made by a command that finds nothing to change: an unknown id, nothing to prune, a resume of what is not paused', async (t) => {
  const dir = join(tempDir(t), 'typo');
  for (const [argv, code] of [
    [['enqueue', '--after', 'nosuch', '--', 'true'], 2],
    [['cancel', 'nosuch'], 2],
    [['restart', 'nosuch'], 2],
    [['dlq', 'retry', 'nosuch'], 2],
    [['cancel', '--all'], 0],
    [['prune'], 0],
    [['prune', '--archive'], 0],
    [['resume'], 0],
    [['resume', '-q', 'gpu'], 0],
    [['parallel', '0'], 0],
    [['list'], 0],
    [['status'], 0],
  ] as const) {
    const result = await runCli(dir, [...argv]);
    assert.equal(result.code, code, `${argv.join(' ')}: ${result.stderr}`);
    assert.equal(existsSync(dir), false, `${argv.join(' ')} made ${dir}`);
  }
  await cliOk(dir, ['enqueue', '--id', 'a', '--command', 'true']); // a write makes it, as before
  await cliOk(dir, ['cancel', 'a']);
  assert.equal(JSON.parse(readFileSync(join(dir, 'queue.json'), 'utf8')).jobs[0].state, 'canceled');
});

test('a data dir that queuectl creates is private to its user', async (t) => {
  const dir = join(tempDir(t), 'a', 'b');
  await cliOk(dir, ['enqueue', '--command', 'true']);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
});

test('installed, an empty HOME does not put the queue wherever the command runs: the user\'s own home is used', async (t) => {
  const { bin } = setup(t);
  const dirs = [tempDir(t), tempDir(t)].map((cwd) => {
    const result = spawnSync(process.execPath, [bin, 'status', '--json'], {
      cwd,
      env: { ...process.env, HOME: '', QUEUECTL_DATA_DIR: '', XDG_STATE_HOME: '' },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    return (JSON.parse(result.stdout) as { data_dir: string }).data_dir;
  });
  assert.deepEqual(dirs, [join(userInfo().homedir, '.local', 'state', 'queuectl'), join(userInfo().homedir, '.local', 'state', 'queuectl')]);
});

test('a data dir reached through a symlink is the same data dir: cancel finds the run of a manager started through the link', { timeout: 30_000 }, async (t) => {
  const work = tempDir(t);
  const real = join(work, 'real');
  const link = join(work, 'link');
  mkdirSync(real);
  symlinkSync(real, link);
  const manager = spawn(process.execPath, [CLI, '--data-dir', link, 'worker', 'start'], { stdio: 'ignore', detached: true });
  t.after(() => {
    try {
      process.kill(-manager.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  await cliOk(link, ['enqueue', '--id', 'stubborn', '--command', "trap '' TERM; sleep 60"]);
  assert.equal(JSON.parse((await cliOk(link, ['status', '--json'])).stdout).data_dir, real, 'the path it resolves to');
  await waitFor(() => processesOf(real).length >= 2, { what: 'the job to run' }); // its sh and its sleep
  const result = await runCli(real, ['cancel', 'stubborn']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^canceled stubborn \(was running; \d+ process(es)? stopped with SIGKILL/);
  await killProcessesOf(real);
});
