/**
 * Which data directory a command works on: `--data-dir`, else `QUEUECTL_DATA_DIR`, else the
 * package's own `data/` when queuectl runs from a source checkout, else
 * `${XDG_STATE_HOME:-$HOME/.local/state}/queuectl`. An installed package (its real path inside a
 * `node_modules`) never holds the queue, so a reinstall cannot wipe it, and each user of the
 * machine has a queue of their own.
 */
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputError } from '../core/errors.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The choice as a pure rule: `packageRoot` is the package's real path, `home` the user's home. */
export function chooseDataDir(flag: string | undefined, env: NodeJS.ProcessEnv, packageRoot: string, home: string): string {
  if (flag !== undefined) {
    if (flag === '') throw inputError(`--data-dir is empty: give a directory, or leave the option out to use ${chooseDataDir(undefined, env, packageRoot, home)}`);
    return resolve(flag);
  }
  const fromEnv = env.QUEUECTL_DATA_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  if (!packageRoot.split(sep).includes('node_modules')) return join(packageRoot, 'data');
  const state = env.XDG_STATE_HOME;
  // The XDG spec says a relative path there is invalid and is to be ignored.
  const base = state !== undefined && isAbsolute(state) ? state : join(home, '.local', 'state');
  return join(base, 'queuectl');
}

export function resolveDataDir(flag: string | undefined, env = process.env): string {
  return chooseDataDir(flag, env, packageRoot(), env.HOME || homedir());
}

function packageRoot(): string {
  try {
    return realpathSync(PACKAGE_ROOT);
  } catch {
    return resolve(PACKAGE_ROOT);
  }
}
