/** For unit tests on the file store: one in a temporary data dir, holding the jobs given. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { cancelJobs } from '../core/operations/cancel.js';
import type { Job } from '../core/rules/job.js';
import { FileHost } from '../store/file/host.js';
import { FileStore } from '../store/file/file-store.js';
import { serializeJobs } from '../store/file/job-file.js';

/** A file store whose queue.json holds `jobs`, removed when the test ends. */
export function fileStoreWith(t: TestContext, jobs: readonly Job[], prefix = 'queuectl-store-'): FileStore {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'queue.json'), serializeJobs(jobs));
  return new FileStore(dir);
}

/** `cancel` of the jobs, with the store's own host. */
export function cancelOn(store: FileStore, ids: readonly string[]) {
  return cancelJobs(store, new FileHost(store.location), ids);
}
