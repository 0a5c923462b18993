/**
 * `queuectl status --watch [--interval ms]`: on a terminal, clear the screen and redraw the
 * status every interval until Ctrl-C, as watch(1) does. A data file that turns bad meanwhile is
 * shown in the view, and the view goes on.
 */
import { formatDuration, localTime } from '../output.js';

const CLEAR = '\u001b[H\u001b[2J';

/** `render`: the status as text; a failure is shown in its place (but fails the first frame). */
export async function watchStatus(intervalMs: number, render: () => Promise<string>): Promise<void> {
  const frame = (body: string) =>
    `${CLEAR}every ${formatDuration(intervalMs)}: queuectl status   ${localTime(new Date().toISOString())}   (Ctrl-C to quit)\n\n${body}\n`;
  process.stdout.write(frame(await render())); // a broken file at the start fails as status does
  const timer = setInterval(() => {
    void render()
      .catch((error: unknown) => `queuectl: ${error instanceof Error ? error.message : String(error)}`)
      .then((body) => process.stdout.write(frame(body)));
  }, intervalMs);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
}
