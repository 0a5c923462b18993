/**
 * `npm run build`'s last step: the CLI as installed, in dist/bundle. Node 20 spends about a
 * millisecond on each ES module it loads, and a command loads some sixty of ours and forty of
 * node-postgres's; one CommonJS file per entry point, run with V8's code cache
 * (cli/compile-cache.ts), starts in about half the time. The tests drive this CLI, as users do.
 *
 * From the compiler's output in dist/ (the code the unit tests test), esbuild makes:
 * - queuectl.js: the `queuectl` command (package.json's bin), which runs cli.bundle.js;
 * - worker-process.js: a worker child (cli/worker-entry.ts), which runs worker.bundle.js;
 * - pg.bundle.js: node-postgres, run only where a PostgreSQL store is used.
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../', import.meta.url));
const out = `${dist}bundle`;

/**
 * queuectl loads its CommonJS dependencies with a `require` made from `import.meta.url`, so that
 * they load when first used, not at start. esbuild does not follow such a `require`: the line
 * that makes it goes, and the bundle's own `require` takes its calls (pg's to pg.bundle.js).
 */
const MADE_REQUIRE = 'const require = createRequire(import.meta.url);\n';
const ownRequire: Plugin = {
  name: 'own-require',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      if (text.includes(MADE_REQUIRE)) text = text.replace(MADE_REQUIRE, '');
      // A bundle that the launcher runs in Node's module wrapper, where `#!` is a syntax error.
      if (text.startsWith('#!') && !/[\\/]launch[\\/]/.test(args.path)) text = `//${text.slice(2)}`;
      return { contents: text, loader: 'js' };
    });
  },
};

/** `import.meta.url` in a CommonJS bundle: the bundle file's own, as esbuild's documentation does it. */
const injected = mkdtempSync(join(tmpdir(), 'queuectl-bundle-'));
const importMetaUrl = join(injected, 'import-meta-url.js');
writeFileSync(importMetaUrl, 'export const import_meta_url = require("node:url").pathToFileURL(__filename).href;\n');
const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  inject: [importMetaUrl],
  define: { 'import.meta.url': 'import_meta_url' },
  logLevel: 'warning',
};

try {
  await Promise.all([
    build({
      ...common,
      entryPoints: {
        'cli.bundle': `${dist}cli/index.js`,
        'worker.bundle': `${dist}cli/worker-process.js`,
        queuectl: `${dist}cli/launch/queuectl.js`,
        'worker-process': `${dist}cli/launch/worker-process.js`,
      },
      outdir: out,
      external: ['pg'],
      plugins: [ownRequire],
    }),
    // pg-native: pg's optional native binding, which queuectl does not use.
    build({ ...common, entryPoints: { 'pg.bundle': 'pg' }, outdir: out, external: ['pg-native'] }),
  ]);
} finally {
  rmSync(injected, { recursive: true, force: true });
}

for (const name of ['store/postgres/pg.js', 'store/local/lock.js']) {
  if (!readFileSync(`${dist}${name}`, 'utf8').includes(MADE_REQUIRE)) throw new Error(`${name} makes its require otherwise now: scripts/bundle.ts must follow`);
}
// The bundles are CommonJS in a package whose .js files are ES modules.
writeFileSync(`${out}/package.json`, `${JSON.stringify({ type: 'commonjs' })}\n`);
chmodSync(`${out}/queuectl.js`, 0o755);
