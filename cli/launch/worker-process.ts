/**
 * A worker child as the installed CLI forks it (cli/worker-entry.ts): the bundle of
 * cli/worker-process.ts, run with its code cache. scripts/bundle.ts builds it into
 * dist/bundle/worker-process.js.
 */
import { fileURLToPath } from 'node:url';
import { runBundle } from '../compile-cache.js';

const beside = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
runBundle(beside('worker.bundle.js'), 'worker', { pg: { file: beside('pg.bundle.js'), key: 'pg' } });
