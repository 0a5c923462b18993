/** Which data directory a command works on: `--data-dir`, else `QUEUECTL_DATA_DIR`, else the package's `data/`. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DATA_DIR = fileURLToPath(new URL('../../data/', import.meta.url));

export function resolveDataDir(flag: string | undefined, env = process.env): string {
  if (flag !== undefined && flag !== '') return resolve(flag);
  const fromEnv = env.QUEUECTL_DATA_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  return resolve(PACKAGE_DATA_DIR);
}
