#!/usr/bin/env node
// After `tsc`, two bundles that cut start-up (Node resolves, reads and compiles every module file on its own;
// figures in the README's performance section, measured with whole processes):
// - the CLI: dist/cli/bin.js becomes one entry file with the lazily loaded parts of each command split into
//   chunks beside it (dist/cli/chunk-*.js), its dependencies included (koffi, a native module, and Graphviz's
//   WASM stay outside); `nslab status` of 100 nodes 0.46 s instead of 0.56 s, `up` + `down` of 100 namespaces
//   1.09 s instead of 1.27 s;
// - zod for the library: dist/vendor/zod.js, one file instead of zod's 97, imported by the built modules that
//   import 'zod' (the sources, the tests through tsx and the published type declarations keep 'zod' itself).
// Without esbuild (a build without dev dependencies) dist stays as tsc wrote it, which works, only slower.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const zodOut = join(dist, 'vendor', 'zod.js');

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

// The CLI last, from the built modules (zod through the file above). Chunks sit beside bin.js, so that what
// the modules find relative to themselves (../../package.json) is where it was; those of an earlier build go.
for (const f of readdirSync(join(dist, 'cli'))) if (/^chunk-.*\.js$/.test(f)) rmSync(join(dist, 'cli', f));
await esbuild.build({
  ...common,
  entryPoints: [join(dist, 'cli', 'bin.js')],
  outdir: join(dist, 'cli'),
  allowOverwrite: true,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  external: ['koffi', '@viz-js/viz'],
  // Bundled CommonJS dependencies (commander, cli-table3) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __nslabRequire } from 'node:module';\nconst require = __nslabRequire(import.meta.url);",
  },
});
