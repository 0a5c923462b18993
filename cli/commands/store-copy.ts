/**
 * `queuectl store copy --from <dir|url> --to <dir|url> [--json]`: the queue of one store (jobs,
 * DLQ, settings, logs, environments, completed ids) into another, all or nothing, the source
 * left as it was. Bad input (a missing or malformed end, one store named twice) is refused
 * before either store is opened.
 */
import { copyQueue } from '../../core/operations/copy.js';
import { describeCopy } from '../../core/rules/copy.js';
import { inputError } from '../../core/rules/errors.js';
import type { RawArgs } from '../argv.js';
import { openCopyEnd, type CopyEnd } from '../context.js';
import { resolveDataDir } from '../data-dir.js';
import { printJson } from '../output.js';
import { parseCopyEnd, sameEnd } from '../store-choice.js';

export async function storeCopyCommand(raw: RawArgs): Promise<void> {
  if (raw.values.has('store')) throw inputError('store copy names both stores with --from and --to; --store does not apply');
  const from = parseCopyEnd(raw.values.get('from'), '--from');
  const to = parseCopyEnd(raw.values.get('to'), '--to');
  if (sameEnd(from, to)) throw inputError('--from and --to name the same store: a queue cannot be copied into itself');
  const dataDir = resolveDataDir(raw.values.get('data-dir'));
  const ends: CopyEnd[] = [];
  try {
    const source = await openCopyEnd(from, dataDir);
    ends.push(source);
    const target = await openCopyEnd(to, dataDir);
    ends.push(target);
    const summary = await copyQueue(source, target.copy);
    if (raw.flags.has('json')) printJson(summary);
    else process.stdout.write(`${describeCopy(summary)}\n`);
  } finally {
    await Promise.all(ends.map((end) => end.copy.close().catch(() => undefined)));
  }
}
