/**
 * Entry point of a worker child, forked by the manager with the data directory as argument.
 * It does what the manager says (see worker-protocol.ts). Ctrl-C reaches the whole foreground
 * group, children included: it is ignored here, because stopping is the manager's decision (it
 * lets running jobs finish first). SIGTERM sent to this worker alone ends it after its current
 * job, and the manager starts a replacement. If the manager dies, the IPC channel
 * closes: no one could record the run any more, so it is killed and the worker exits; the
 * job's lease brings it back.
 */
import { isClosedPipe } from '../core/rules/errors.js';
import { Worker } from '../core/runtime/worker.js';
import { openWorkerSide } from './context.js';
import { parseStoreChoice } from './store-choice.js';
import type { ManagerMessage, WorkerMessage } from '../core/runtime/worker-protocol.js';

const root = process.argv[2];
if (!root || !process.send) {
  process.stderr.write('queuectl worker: to be started by a worker manager, with the data directory as argument\n');
  process.exit(2);
}

const send = (message: WorkerMessage, then?: () => void) => {
  if (process.connected) process.send!(message, () => then?.());
  else then?.();
};
/** The store its manager works for, which each run is told too: a queuectl command in a job works on it. */
const store = process.env.QUEUECTL_STORE ?? 'file';
/**
 * The host name its manager goes by where one was set, for each run too (an enqueue keeps no
 * QUEUECTL_ variable of its shell): `queuectl worker stop` in a job finds its own manager.
 */
const hostEnv: Record<string, string> = process.env.QUEUECTL_HOST ? { QUEUECTL_HOST: process.env.QUEUECTL_HOST } : {};
// Not awaited at the top level: the installed worker is a CommonJS bundle (scripts/bundle.ts), which has none.
void main(root);

async function main(root: string): Promise<void> {
  const side = await openWorkerSide(root, parseStoreChoice(store, 'QUEUECTL_STORE'));
  /** Before it exits, a worker lets the last run's log reach the store (bounded: the file keeps it anyway). */
  const exit = () => void Promise.race([side.flush(), new Promise((resolve) => setTimeout(resolve, 2_000))]).then(() => process.exit(0));
  const worker = new Worker(
    {
      dataDir: root,
      runEnv: { QUEUECTL_STORE: store, ...hostEnv },
      logs: side.logs,
      ...(side.flushLogs === undefined ? {} : { flushLogs: side.flushLogs }),
      ...(side.host === undefined ? {} : { host: side.host }),
      send,
      // Its lines go where its manager's go (manager.log, a terminal): each after its time too.
      log: (line) => process.stdout.write(`${new Date().toISOString()} [worker ${process.pid}] ${line}\n`),
    },
    exit,
  );

  // Its output is the manager's log; a reader of that which went away (`worker start | head`)
  // must not end the runs.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (!isClosedPipe(error)) throw error;
    });
  }
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => worker.handle({ type: 'exit' }));
  process.on('message', (message: ManagerMessage) => worker.handle(message));
  process.on('disconnect', () => {
    void worker.orphaned().then(() => process.exit(0));
  });
  send({ type: 'ready' });
}
