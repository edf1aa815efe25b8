/**
 * Diagram benchmark: `nslab graph` of a 100-node lab (5 racks of 18 namespaces on a bridge each, a gateway per
 * rack, a core router, `routing: auto`), as DOT, Mermaid, SVG (WebAssembly Graphviz inside Node) and PNG
 * (rsvg-convert). Needs no root. Prints the time of each and the picture's proportions.
 *
 *   npx tsx bench/graph.ts [racks] [hosts-per-rack]
 */
import { performance } from 'node:perf_hooks';
import { render } from '../src/render/index.js';
import { parseTopology } from '../src/topology/load.js';

const racks = Number(process.argv[2] ?? 5);
const per = Number(process.argv[3] ?? 18);
const nodes = ['    core: {}'];
const links: string[] = [];
for (let r = 0; r < racks; r++) {
  nodes.push(`    gw${r}: {}`, `    sw${r}: { kind: bridge }`);
  links.push(`    - endpoints: ["core:r${r}", "gw${r}:up"]`, `    - endpoints: ["gw${r}:down", "sw${r}:up"]`);
  for (let h = 0; h < per; h++) {
    nodes.push(`    h${r}x${h}: {}`);
    links.push(`    - endpoints: ["h${r}x${h}:eth0", "sw${r}:p${h}"]`);
  }
}
const lab = parseTopology(
  `name: campus\nrouting: auto\ntopology:\n  nodes:\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`,
);

for (const format of ['dot', 'mermaid', 'svg', 'png'] as const) {
  const t = performance.now();
  const out = await render(lab, format);
  const ms = performance.now() - t;
  let extra = '';
  if (format === 'svg') {
    const m = /<svg width="(\d+)pt" height="(\d+)pt"/.exec(String(out));
    if (m) extra = `, ${m[1]} x ${m[2]} pt (width/height ${(Number(m[1]) / Number(m[2])).toFixed(2)})`;
  }
  console.log(
    `${lab.nodes.length} nodes, ${lab.links.length} links: ${format} in ${ms.toFixed(0)} ms (${out.length} bytes${extra})`,
  );
}
