/**
 * What a file or directory is, told by parts of its stat: each caller names the parts that tell
 * the change it cares about (a write by rename, a directory made anew at the same path).
 */
import { statSync, type BigIntStats } from 'node:fs';

export type StatPart = 'dev' | 'ino' | 'birth' | 'size' | 'mtime' | 'ctime';

const READ: Record<StatPart, (stat: BigIntStats) => bigint> = {
  dev: (stat) => stat.dev,
  ino: (stat) => stat.ino,
  birth: (stat) => stat.birthtimeNs,
  size: (stat) => stat.size,
  mtime: (stat) => stat.mtimeNs,
  ctime: (stat) => stat.ctimeNs,
};

/** The identity of a stat by `parts`; null for no stat (nothing at the path). */
export function identityOfStat(stat: BigIntStats | undefined, parts: readonly StatPart[]): string | null {
  return stat === undefined ? null : parts.map((part) => READ[part](stat)).join(':');
}

/** The identity of what is at `path` by `parts`; null when nothing is there. */
export function statIdentity(path: string, parts: readonly StatPart[]): string | null {
  return identityOfStat(statSync(path, { bigint: true, throwIfNoEntry: false }), parts);
}
