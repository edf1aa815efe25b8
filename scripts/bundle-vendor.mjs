#!/usr/bin/env node
// After `tsc`: bundles zod into one file, dist/vendor/zod.js, and points the built modules that import 'zod' at
// it. zod's ESM build is 97 small files: Node resolves, reads and compiles each, which cost every command that
// reads a topology file about 50 ms of start-up (the bundle loads in half the time; measured in bench/star.ts's
// start-up lines and with farm-bench). The sources, the tests (run through tsx) and the published type
// declarations still import 'zod' itself. Without esbuild (a build without dev dependencies) the built modules
// are left importing 'zod', which works, only slower.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'vendor', 'zod.js');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('bundle-vendor: esbuild is not installed: dist keeps importing zod from node_modules');
  process.exit(0);
}
await esbuild.build({
  entryPoints: ['zod'],
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile: out,
  legalComments: 'eof',
  logLevel: 'error',
});

const IMPORT = /(\bfrom\s*)(['"])zod\2/g;
let rewritten = 0;
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (p !== dirname(out)) walk(p);
    } else if (e.name.endsWith('.js')) {
      const text = readFileSync(p, 'utf8');
      if (!IMPORT.test(text)) continue;
      IMPORT.lastIndex = 0;
      let spec = relative(dirname(p), out).split('\\').join('/');
      if (!spec.startsWith('.')) spec = `./${spec}`;
      writeFileSync(p, text.replace(IMPORT, `$1$2${spec}$2`));
      rewritten++;
    }
  }
}
walk(dist);
if (rewritten === 0) {
  console.error('bundle-vendor: no built module imports zod: is dist built?');
  process.exit(1);
}
