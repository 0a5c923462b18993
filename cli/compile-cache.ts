/**
 * Runs one of queuectl's bundles (dist/bundle, see scripts/bundle.ts) with V8's code cache, as
 * Node 22's `module.enableCompileCache()` does and Node 20 cannot: a command's start is mostly
 * the compiling of its code, and the cache keeps what the last run of the same command compiled.
 * On this machine that takes a PostgreSQL `enqueue` from about 160 ms to about 110, a `status`
 * on the file store from about 125 to about 90 (README, "Start-up").
 *
 * The cache lives in a directory of the user's own under the temporary directory, one file per
 * bundle, command, Node version and build of the bundle. A cache that cannot be used is no
 * error: the command compiles as without one. NODE_DISABLE_COMPILE_CACHE, Node's own switch for
 * its cache, turns this one off too.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** Where a bundle's cached code is read from and written to; undefined: no cache this time. */
export function compileCacheDirectory(base: string = tmpdir(), uid: number | null = process.getuid?.() ?? null, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE || uid === null) return undefined;
  const dir = join(base, `queuectl-compile-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch {
    // There already, or not to be made: what is there decides.
  }
  try {
    // Code from a file that another user could have written would run as this one.
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The cache file of `bundle` for runs of `key` (a command): named after the bundle's content (a
 * hash of its source) and the Node that runs it, so that code compiled from other source is never
 * read. V8 checks its own version, flags and the source's length, not the source itself: a file
 * rewritten at the same length (npm gives every file of a package the same time) would run the
 * old code.
 */
export function compileCacheFile(dir: string, bundle: string, key: string, build: string = buildOf(readFileSync(bundle))): string {
  return join(dir, `${basename(bundle)}.${key}.${build}.cache`);
}

/** Which build of a bundle `source` (its bytes) is, for the Node that runs it. */
function buildOf(source: Buffer): string {
  return `${process.version}-${process.arch}.${createHash('sha1').update(source).digest('hex').slice(0, 20)}`;
}

/**
 * How long the cache of another build of a bundle must have gone unused to be removed when a
 * cache is written: every build of a checkout (`npm test`, `npm run build`) makes new ones, and
 * without this they would pile up in the temporary directory. A cache's time is that of its last
 * use, so two installs that one user runs in turn keep theirs.
 */
export const STALE_CACHE_MS = 60 * 60 * 1000;

/** Removes the caches of `bundle`'s other builds (or another Node) unused for STALE_CACHE_MS, and temporary files left by a writer that died. */
export function pruneCompileCache(dir: string, bundle: string, build: string, now = Date.now()): void {
  const prefix = `${basename(bundle)}.`;
  const current = `.${build}.cache`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || name.endsWith(current) || !(name.endsWith('.cache') || name.endsWith('.tmp'))) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs > STALE_CACHE_MS) rmSync(join(dir, name), { force: true });
    } catch {
      // Gone meanwhile, or not ours to remove: either way, not this run's affair.
    }
  }
}

/** What a bundle asks `require` for that is not in it: another bundle beside it, by module name. */
export type BundledModules = Readonly<Record<string, { file: string; key: string }>>;

/**
 * Runs `bundle` (CommonJS) as a module of its own and returns it: with the code cache of `key`
 * where there is one, and writing one as the process exits where there was none or V8 refused
 * it. `others`: modules its `require` finds in other bundles, each run the same way when first
 * asked for.
 */
export function runBundle(bundle: string, key: string, others: BundledModules = {}): Module {
  const cached = require.cache[bundle];
  if (cached) return cached;
  const bytes = readFileSync(bundle);
  const source = bytes.toString('utf8');
  const dir = compileCacheDirectory();
  const build = dir === undefined ? undefined : buildOf(bytes);
  const cacheFile = dir === undefined ? undefined : compileCacheFile(dir, bundle, key, build);
  const cachedData = cacheFile === undefined ? undefined : readCache(cacheFile);
  const script = new Script(Module.wrap(source), { filename: bundle, ...(cachedData === undefined ? {} : { cachedData }) });
  if (dir !== undefined && build !== undefined && cacheFile !== undefined) {
    if (cachedData === undefined || script.cachedDataRejected) {
      // At exit, the cache holds what this run compiled, not only the bundle's outermost code.
      process.once('exit', () => {
        writeCache(cacheFile, script.createCachedData());
        pruneCompileCache(dir, bundle, build);
      });
    } else {
      markUsed(cacheFile);
    }
  }
  const module = new Module(bundle);
  module.filename = bundle;
  // Listed as loaded, as a require'd file would be (a test asks which files a command loaded).
  require.cache[bundle] = module;
  const plain = createRequire(bundle);
  const bundleRequire = Object.assign((id: string): unknown => {
    const other = others[id];
    return other === undefined ? plain(id) : runBundle(other.file, other.key, others).exports;
  }, plain);
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, bundleRequire, module, bundle, dirname(bundle));
  module.loaded = true;
  return module;
}

/** The require of this module's own CommonJS form (the bundle's launcher), or an ES module's stand-in. */
const require = createRequire(import.meta.url);

/**
 * The cache's code, where the file holds it as written: V8 does not check its code against a
 * checksum, and code damaged on disk crashed the process, or hung it, at every run.
 */
function readCache(file: string): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  const code = data.subarray(CHECKSUM_BYTES);
  return data.length > CHECKSUM_BYTES && checksum(code).equals(data.subarray(0, CHECKSUM_BYTES)) ? code : undefined;
}

const CHECKSUM_BYTES = 20;

function checksum(code: Buffer): Buffer {
  return createHash('sha1').update(code).digest();
}

/** A cache's time is that of its last use, which pruning goes by. */
function markUsed(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // Not ours to touch: it may go an hour after its last write, and be written again.
  }
}

/** The cache's code after its checksum (see readCache). */
function writeCache(file: string, code: Buffer): void {
  writeAtomically(file, Buffer.concat([checksum(code), code]));
}

/** A reader never sees half a cache: the file appears whole, by rename. Failing is no error. */
function writeAtomically(file: string, data: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch {
    rmSync(temporary, { force: true });
  }
}
