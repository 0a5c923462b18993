/**
 * Which data directory a command works on: `--data-dir`, else `QUEUECTL_DATA_DIR`, else the
 * package's own `data/` when queuectl runs from a source checkout, else
 * `${XDG_STATE_HOME:-$HOME/.local/state}/queuectl`. An installed package (its real path inside a
 * `node_modules`) never holds the queue, so a reinstall cannot wipe it, and each user of the
 * machine has a queue of their own.
 */
import { realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputError, QueuectlError } from '../core/rules/errors.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The choice as a pure rule: `packageRoot` is the package's real path, `home()` the user's home. */
export function chooseDataDir(flag: string | undefined, env: NodeJS.ProcessEnv, packageRoot: string, home: () => string): string {
  if (flag !== undefined) {
    if (flag === '') throw inputError(`--data-dir is empty: give a directory, or leave the option out to use ${chooseDataDir(undefined, env, packageRoot, home)}`);
    return resolve(flag);
  }
  const fromEnv = env.QUEUECTL_DATA_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  if (!packageRoot.split(sep).includes('node_modules')) return join(packageRoot, 'data');
  const state = env.XDG_STATE_HOME;
  // The XDG spec says a relative path there is invalid and is to be ignored.
  const base = state !== undefined && isAbsolute(state) ? state : join(home(), '.local', 'state');
  return join(base, 'queuectl');
}

export function resolveDataDir(flag: string | undefined, env = process.env): string {
  return canonical(chooseDataDir(flag, env, packageRoot(), () => homeDirectory(env)));
}

/**
 * The user's home: $HOME when it is an absolute path, else the one the system has for the user
 * (an empty HOME must not put the queue in whatever directory a command runs from).
 */
function homeDirectory(env: NodeJS.ProcessEnv): string {
  if (env.HOME && isAbsolute(env.HOME)) return env.HOME;
  let home = '';
  try {
    home = userInfo().homedir;
  } catch {
    // No entry for this user in the system's database.
  }
  if (!isAbsolute(home)) throw new QueuectlError('no home directory to keep the queue in: set HOME, or choose a data dir with --data-dir DIR or QUEUECTL_DATA_DIR', 'EFAIL');
  return home;
}

/**
 * The path with symlinks resolved, as far as it exists: every process of a data dir names it the
 * same way (a run's QUEUECTL_DATA_DIR is how `cancel` finds it), whichever link it was reached by.
 */
function canonical(path: string): string {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(existing), ...rest.reverse());
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return path;
      rest.push(basename(existing));
      existing = parent;
    }
  }
}

function packageRoot(): string {
  try {
    return realpathSync(PACKAGE_ROOT);
  } catch {
    return resolve(PACKAGE_ROOT);
  }
}
