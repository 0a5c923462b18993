/**
 * `queuectl status --watch [--interval ms]`: on a terminal, clear the screen and redraw the
 * status every interval until Ctrl-C, as watch(1) does. A data file that turns bad meanwhile is
 * shown in the view, and the view goes on.
 */
import type { CommandContext } from '../context.js';
import { formatDuration, shortTime } from '../output.js';
import { readStatus, statusText } from './status.js';

const CLEAR = '\u001b[H\u001b[2J';

export async function watchStatus(ctx: CommandContext, intervalMs: number): Promise<void> {
  const frame = (body: string) =>
    `${CLEAR}every ${formatDuration(intervalMs)}: queuectl status   ${shortTime(new Date().toISOString())}   (Ctrl-C to quit)\n\n${body}\n`;
  process.stdout.write(frame(statusText(readStatus(ctx)))); // a broken file at the start fails as status does
  const timer = setInterval(() => {
    let body: string;
    try {
      body = statusText(readStatus(ctx));
    } catch (error) {
      body = `queuectl: ${error instanceof Error ? error.message : String(error)}`;
    }
    process.stdout.write(frame(body));
  }, intervalMs);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
}
