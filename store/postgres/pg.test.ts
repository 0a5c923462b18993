import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PG = fileURLToPath(new URL('./pg.js', import.meta.url));

test("pg loads without Node's fetch implementation, and leaves no navigator behind", () => {
  const probe = `const { default: pg } = await import(${JSON.stringify(PG)});
    console.log(JSON.stringify({ pool: typeof pg.Pool, undici: process.moduleLoadList.some((name) => name.includes('undici')), navigator: typeof globalThis.navigator }));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const seen = JSON.parse(result.stdout) as { pool: string; undici: boolean; navigator: string };
  assert.equal(seen.pool, 'function');
  assert.equal(seen.undici, false, 'undici (about 15 ms of every start) was loaded');
  // Node 21 and later have a navigator of their own, which stays.
  assert.equal(seen.navigator, Number(process.versions.node.split('.')[0]) >= 21 ? 'object' : 'undefined');
});
