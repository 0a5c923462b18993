/**
 * Entry point of a worker child, forked by the manager with the data directory as argument.
 * The first SIGINT/SIGTERM or "stop" message finishes the current job and exits; a second
 * signal or an "abort" message kills the running job first. If the manager dies (the IPC
 * channel closes), the worker finishes its job and exits rather than run on unsupervised.
 */
import { QueueStore } from '../store/queue-store.js';
import { Worker } from './worker.js';

const root = process.argv[2];
if (!root) {
  process.stderr.write('queuectl worker: missing data directory argument\n');
  process.exit(2);
}

const worker = new Worker({
  store: new QueueStore(root),
  log: (line) => process.stdout.write(`[worker ${process.pid}] ${line}\n`),
});

let signals = 0;
const onSignal = () => {
  signals++;
  if (signals === 1) worker.stop();
  else worker.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('message', (message) => {
  if (message === 'stop') worker.stop();
  if (message === 'abort') worker.abort();
});
process.on('disconnect', () => worker.stop());

await worker.run();
process.exit(0);
