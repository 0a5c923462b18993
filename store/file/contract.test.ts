/** The store contract (../contract.ts), against the file store in a temporary data directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../contract.js';
import { FileQueueCopy } from './copy.js';
import { FileStore } from './file-store.js';

storeContract('file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-contract-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { store: new FileStore(dir), reopen: () => new FileStore(dir), copy: () => new FileQueueCopy(dir) };
});

// Every change through queue.journal, never folded into queue.json: what a queue of more than
// 10,000 jobs does, on the contract's small queues.
const journalOnly = { everyChangeUpTo: 0, fraction: Infinity };
storeContract('file, journaled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-contract-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { store: new FileStore(dir, journalOnly), reopen: () => new FileStore(dir, journalOnly), copy: () => new FileQueueCopy(dir) };
});
