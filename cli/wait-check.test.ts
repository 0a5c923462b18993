import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManagerRecord } from '../core/ports/host.js';
import { DEFAULT_CONFIG } from '../core/rules/config.js';
import { WorkerCheck } from './worker-check.js';
import type { CommandContext } from './context.js';

/** A WorkerCheck whose registry answers what `registry` says at each look (throws: out of reach). */
function check(registry: () => ManagerRecord[]) {
  const ctx = { host: { managers: { live: async () => registry() } }, store: { config: async () => DEFAULT_CONFIG } } as unknown as Pick<CommandContext, 'host' | 'store'>;
  return new WorkerCheck(ctx);
}

test('wait: no manager is counted from the first look that finds none; a store that could not be read counts only once it has answered again for 5 s (the records come back with their renewal)', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  let answer: 'none' | 'down' = 'none';
  const workers = check(() => {
    if (answer === 'down') throw new Error('could not connect');
    return [];
  });
  await workers.look();
  t.mock.timers.tick(2_000);
  assert.equal(workers.noneForMs(), 2_000, 'none from the start: said after 2 s');
  answer = 'down';
  await workers.look();
  assert.equal(workers.noneForMs(), 0, 'out of reach: nothing known');
  answer = 'none';
  t.mock.timers.tick(1_000);
  await workers.look(); // back, but the records have lapsed in the outage
  t.mock.timers.tick(3_000);
  await workers.look();
  assert.equal(workers.noneForMs(), 0, 'within 5 s of the store answering again, an empty registry proves nothing');
  t.mock.timers.tick(2_000);
  await workers.look();
  t.mock.timers.tick(2_000);
  assert.equal(workers.noneForMs(), 2_000, 'still none 5 s after: counted');
});
