// Regenerates the pictures in docs/ from the example topologies: docs/<name>.svg and docs/<name>.png for each
// file given (default: examples/seed.nslab.yml), drawn as `nslab graph --routes` draws them.
//
//   npx tsx scripts/render-docs.ts [examples/seed.nslab.yml ...]
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toPng, toSvg } from '../src/render/index.js';
import { loadTopology } from '../src/topology/load.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const docs = join(root, 'docs');
const files = process.argv.slice(2);
if (files.length === 0) files.push(join(root, 'examples', 'seed.nslab.yml'));

mkdirSync(docs, { recursive: true });
for (const file of files) {
  const lab = await loadTopology(file);
  const name = basename(file).replace(/\.nslab\.ya?ml$|\.ya?ml$/, '');
  const svg = await toSvg(lab, { routes: true });
  const png = await toPng(svg, { zoom: 2 });
  writeFileSync(join(docs, `${name}.svg`), svg);
  writeFileSync(join(docs, `${name}.png`), png);
  console.log(`${relative(root, file)} -> docs/${name}.svg, docs/${name}.png (${png.length} bytes)`);
}
