#!/usr/bin/env node
/**
 * The `nslab` command (package.json's bin). It runs the CLI's bundle, dist/cli/bundle.cjs (one file, made by
 * scripts/bundle.mjs), with V8's code cache for it, dist/cli/bundle.cache (made at build time by running a few
 * commands that read only an example file): Node compiles a script found in the cache without parsing it, and the
 * bundle's one file spares the module loader's resolving, reading and linking of dozens. Together they take
 * about 0.1 s off every command (figures in the README's performance section).
 *
 * A cache from another build is not used, and one V8 rejects (another Node, other V8 flags) costs only the
 * compile it would have saved. Without a bundle (a build without esbuild) the command imports dist/cli/bin.js,
 * the modules as tsc wrote them.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

/** The bundle and its code cache, beside this file. */
export const BUNDLE = join(__dirname, 'bundle.cjs');
export const CACHE = join(__dirname, 'bundle.cache');

/**
 * The bundle's first line names its build (`// nslab bundle ID`); its cache starts with the same line. V8 checks
 * a cache against the source's length only: the line keeps a cache from being used with another build.
 */
const ID_LINE = /^\/\/ nslab bundle [0-9a-f]+\n/;

/** What the bundle exports: the CLI's entry (start.ts). */
export interface Bundle {
  start(argv: string[]): Promise<number>;
}

export interface LoadedBundle {
  bundle: Bundle;
  script: Script;
  idLine: string;
  /** False when a cache was given and V8 took it. */
  compiled: boolean;
}

/** The cache's data for this build, or undefined (none, another build's, unreadable). */
function cacheFor(idLine: string): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(CACHE);
  } catch {
    return undefined;
  }
  const head = Buffer.from(idLine);
  return data.length > head.length && data.subarray(0, head.length).equals(head)
    ? data.subarray(head.length)
    : undefined;
}

/**
 * Compiles and runs the bundle (its text is one function expression taking CommonJS's arguments), with the code
 * cache unless `useCache` is false. Undefined when there is no bundle.
 */
export function loadBundle(useCache = true): LoadedBundle | undefined {
  let source: string;
  try {
    // The bundle is ASCII (esbuild escapes the rest; the build checks): read as latin1, which is the same text
    // and decoded several times faster than UTF-8 (1.2 MB: under 1 ms against 6 ms here).
    source = readFileSync(BUNDLE, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const idLine = ID_LINE.exec(source)?.[0] ?? '';
  const cachedData = useCache && idLine !== '' ? cacheFor(idLine) : undefined;
  const script = new Script(source, { filename: BUNDLE, cachedData });
  const factory = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  factory(module.exports, createRequire(BUNDLE), module, BUNDLE, __dirname);
  return {
    bundle: module.exports as Bundle,
    script,
    idLine,
    compiled: cachedData === undefined || script.cachedDataRejected === true,
  };
}

/**
 * Writes the code cache of a loaded bundle (what V8 has compiled of it so far, after the build's line), whole:
 * a command starting meanwhile reads the old file or the new one.
 */
export function writeCache(loaded: LoadedBundle, file = CACHE): void {
  writeFileSync(`${file}.tmp`, Buffer.concat([Buffer.from(loaded.idLine), loaded.script.createCachedData()]));
  renameSync(`${file}.tmp`, file);
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  let loaded: LoadedBundle | undefined;
  try {
    loaded = loadBundle();
  } catch (e) {
    process.stderr.write(
      `warning: ${BUNDLE} cannot be run (${(e as Error).message}): running the modules instead (npm run build makes it again)\n`,
    );
  }
  // start reports every error as a sentence; this is only for a failure to start at all.
  const fail = (e: unknown) => {
    process.stderr.write(`error: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env.NSLAB_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    process.exitCode = 1;
  };
  if (loaded === undefined) import('./bin.js').catch(fail);
  else
    loaded.bundle
      .start(argv)
      .then((code) => {
        process.exitCode = code;
      })
      .catch(fail);
}
