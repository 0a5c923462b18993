/**
 * node-postgres, loaded without a cost it pays on Node 20. To tell whether it runs in a
 * Cloudflare Worker, `pg` looks for `navigator.userAgent`, which Node has from version 21 on;
 * where there is none it constructs a fetch `Response`, and that loads Node's whole fetch
 * implementation (undici): about 15 ms of every command's start, for nothing. So on Node 20 a
 * `navigator` that says what Node 21's would is there while `pg` loads, and gone after.
 */
import { createRequire } from 'node:module';
import type PG from 'pg';

const require = createRequire(import.meta.url);

function load(): typeof PG {
  if ('navigator' in globalThis) return require('pg') as typeof PG;
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true });
  try {
    return require('pg') as typeof PG;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

const pg = load();
export default pg;

/**
 * For every connection of queuectl's: a statement whose answer never comes (the network cut
 * after it was sent) would hold its caller for good. TCP keepalive, from 10 s of silence on, ends
 * the connection once the server is found gone (in minutes, with the system's probe interval),
 * and the caller tries again.
 */
export const KEEP_ALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const;
