/** queuectl under a real pseudo-terminal, made by script(1), for what it does only on a terminal. */
import { spawn } from 'node:child_process';
import { CLI } from './helpers.js';

export interface Terminal {
  output(): string;
  /** Types characters, as on a keyboard: '\x03' is Ctrl-C. */
  type(text: string): void;
  exited: Promise<number | null>;
}

/**
 * Runs `queuectl --data-dir DIR ...args` under a pseudo-terminal (script(1)), so that stdout
 * and stderr are terminals; both arrive merged in `output()`. The exit code is queuectl's.
 *
 * script(1) runs the command with `$SHELL -c`. The command `exec`s queuectl so that no shell
 * stays between: dash (/bin/sh, what script uses when SHELL is unset, as in CI) forks rather
 * than execs, and a Ctrl-C typed at the terminal then kills the waiting shell too, which made
 * script report 130 although queuectl exited 0.
 */
export function inTerminal(t: { after(fn: () => void): void }, dataDir: string, args: readonly string[]): Terminal {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = `exec ${[process.execPath, CLI, '--data-dir', dataDir, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    env: { ...process.env, SHELL: '/bin/sh', NO_COLOR: '1', COLUMNS: '200' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.after(() => {
    child.kill('SIGKILL');
  });
  return { output: () => output, type: (text) => child.stdin.write(text), exited };
}
