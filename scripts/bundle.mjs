#!/usr/bin/env node
// After `tsc`, two bundles that cut start-up (Node resolves, reads and compiles every module file on its own;
// figures in the README's performance section, measured with whole processes):
// - the CLI: dist/cli/bundle.cjs, one CommonJS file with its dependencies (koffi, a native module, and Graphviz,
//   its WASM inlined, stay outside and are required when used), which dist/cli/nslab.cjs (the command) runs as a
//   vm script with V8's code cache for it, dist/cli/bundle.cache, made here by running a few commands;
// - zod for the library: dist/vendor/zod.js, one file instead of zod's 97, imported by the built modules that
//   import 'zod' (the sources, the tests through tsx and the published type declarations keep 'zod' itself).
// Without esbuild (a build without dev dependencies) dist stays as tsc wrote it, which works, only slower.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const zodOut = join(dist, 'vendor', 'zod.js');

// An earlier build's bundle goes first: whatever fails below, dist/cli/nslab.cjs must not run a bundle older
// than the modules beside it (it runs dist/cli/bin.js when there is none).
for (const f of ['bundle.cjs', 'bundle.cache', 'bundle.cache.tmp'])
  rmSync(join(dist, 'cli', f), { force: true });

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('bundle: esbuild is not installed: dist stays as tsc wrote it');
  process.exit(0);
}
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  legalComments: 'eof',
  logLevel: 'error',
};

await esbuild.build({ ...common, entryPoints: ['zod'], outfile: zodOut });

const IMPORT = /(\bfrom\s*)(['"])zod\2/g;
let rewritten = 0;
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (p !== dirname(zodOut)) walk(p);
    } else if (e.name.endsWith('.js')) {
      const text = readFileSync(p, 'utf8');
      if (!IMPORT.test(text)) continue;
      IMPORT.lastIndex = 0;
      let spec = relative(dirname(p), zodOut).split('\\').join('/');
      if (!spec.startsWith('.')) spec = `./${spec}`;
      writeFileSync(p, text.replace(IMPORT, `$1$2${spec}$2`));
      rewritten++;
    }
  }
}
walk(dist);
if (rewritten === 0) {
  console.error('bundle: no built module imports zod: is dist built?');
  process.exit(1);
}

// The CLI last, from the built modules (zod through the file above): dist/cli/bundle.cjs, one CommonJS file that
// dist/cli/nslab.cjs (the command) runs as a vm script with V8's code cache. Beside bin.js, so that what the
// modules find relative to themselves (../../package.json, ../lab/agent.js) is where it was. The chunks and
// the bundled bin.js of earlier builds go (bin.js is tsc's again: the modules, unbundled).
for (const f of readdirSync(join(dist, 'cli'))) if (/^chunk-.*\.js$/.test(f)) rmSync(join(dist, 'cli', f));
const bundleFile = join(dist, 'cli', 'bundle.cjs');
const cacheFile = join(dist, 'cli', 'bundle.cache');
const out = await esbuild.build({
  ...common,
  format: 'cjs',
  minifyWhitespace: true,
  entryPoints: [join(dist, 'cli', 'start.js')],
  write: false,
  metafile: true,
  outfile: bundleFile,
  // koffi is a native module; Graphviz (its WASM inlined, the biggest dependency) is required when drawn.
  external: ['koffi', '@viz-js/viz'],
  define: { 'import.meta.url': '__nslab_meta_url', 'import.meta.resolve': '__nslab_meta_resolve' },
  // The bundle is one function expression taking CommonJS's arguments (run by dist/cli/nslab.cjs), strict as the
  // modules were, its first line naming the build (the ID is filled in below).
  banner: {
    js:
      `// nslab bundle ${'0'.repeat(16)}\n(function (exports, require, module, __filename, __dirname) {\n'use strict';\n` +
      "const __nslab_meta_url = require('node:url').pathToFileURL(__filename).href;\n" +
      "const __nslab_meta_resolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
  },
  footer: { js: '})' },
});
// The bundle runs as a vm script, which has no loader for import(): every import() must have been bundled.
for (const [name, o] of Object.entries(out.metafile.outputs))
  for (const i of o.imports)
    if (i.kind === 'dynamic-import' && i.external) {
      console.error(`bundle: ${name} imports ${i.path} with import(), which a vm script cannot: require it`);
      process.exit(1);
    }
const code = out.outputFiles[0].text;
// dist/cli/nslab.cjs reads the bundle as latin1, which is its text only while it is ASCII (esbuild's default
// charset escapes everything else).
const nonAscii = /[^\x00-\x7f]/.exec(code);
if (nonAscii) {
  const at = code.slice(Math.max(0, nonAscii.index - 60), nonAscii.index + 20);
  console.error(
    `bundle: the CLI bundle is not ASCII (${JSON.stringify(at)}): dist/cli/nslab.cjs would misread it`,
  );
  process.exit(1);
}
const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
// Replaced whole (a command starting meanwhile reads the old bundle or the new one, never half of one; a cache
// of the old build is not used with the new, by its ID).
writeFileSync(
  `${bundleFile}.tmp`,
  code.replace(`// nslab bundle ${'0'.repeat(16)}`, `// nslab bundle ${id}`),
);
renameSync(`${bundleFile}.tmp`, bundleFile);
chmodSync(join(dist, 'cli', 'nslab.cjs'), 0o755);

// The code cache: V8's compiled form of the bundle, with what a few commands compile as they run (help, loading,
// resolving and planning a file, explaining a path). They read only the example file, touch no kernel state and
// write nothing but their output, which is thrown away (no command that lists labs: that reads, and tidies, the
// records of the builder's private labs).
const TRAINING = [
  ['--help'],
  ['up', '--help'],
  ['export', 'examples/seed.nslab.yml'],
  ['explain', 'examples/seed.nslab.yml', 'ns0', 'ns1'],
];
const stateDir = mkdtempSync(join(tmpdir(), 'nslab-build-'));
const train = spawnSync(
  process.execPath,
  [
    '-e',
    `const { loadBundle, writeCache } = require(${JSON.stringify(join(dist, 'cli', 'nslab.cjs'))});
     const loaded = loadBundle(false);
     (async () => {
       for (const argv of ${JSON.stringify(TRAINING)}) {
         await loaded.bundle.start(argv);
         process.exitCode = undefined;
       }
       writeCache(loaded);
     })();`,
  ],
  {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60_000,
    env: { ...process.env, NSLAB_STATE_DIR: stateDir, NO_COLOR: '1' },
  },
);
rmSync(stateDir, { recursive: true, force: true });
rmSync(`${cacheFile}.tmp`, { force: true });
if (train.status !== 0 || !existsSync(cacheFile)) {
  rmSync(cacheFile, { force: true });
  console.error(
    `bundle: no code cache (the CLI is compiled at each start): ${train.error?.message ?? train.stderr}`,
  );
}
