/**
 * Which code cache a run of the CLI bundle uses: one per command, since each command compiles
 * its own part of the bundle. Any other run (`--help`, a typo) shares one, so that no argument
 * names a file.
 */
export const COMMAND_NAMES: readonly string[] = [
  'enqueue', 'worker', 'status', 'wait', 'cancel', 'pause', 'resume', 'parallel', 'restart',
  'prune', 'stats', 'list', 'show', 'logs', 'dlq', 'config', 'store', 'help',
];

export function commandKey(args: readonly string[]): string {
  for (const token of args) {
    if (token === '--') break;
    if (COMMAND_NAMES.includes(token)) return token;
  }
  return 'other';
}
