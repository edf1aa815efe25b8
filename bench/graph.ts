/**
 * Diagram benchmark: `nslab graph` of a campus lab (RACKS LANs of HOSTS namespaces on a bridge each, a gateway per
 * LAN, a core router, `routing: auto`; by default 15 x 19 = 316 nodes), as DOT, Mermaid, SVG (WebAssembly
 * Graphviz inside Node) and PNG (rsvg-convert), in this process; then the PNG by a whole CLI process
 * (`node dist/cli/nslab.cjs graph FILE -f png`, start-up included), against the target of 3 s for 300 nodes. Labs
 * of more than 100 nodes draw each LAN's hosts as one box. Needs no root; prints the picture's size.
 *
 *   npm run build && npx tsx bench/graph.ts [racks] [hosts-per-rack]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { render } from '../src/render/index.js';
import { parseTopology } from '../src/topology/load.js';
import { benchEnv } from './env.js';

const racks = Number(process.argv[2] ?? 15);
const per = Number(process.argv[3] ?? 19);
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
const text = `name: campus\nrouting: auto\ntopology:\n  nodes:\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`;
const lab = parseTopology(text);
console.log(`load average ${loadavg()[0].toFixed(2)}`);

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

const dir = mkdtempSync(join(tmpdir(), 'nslab-b-graph-'));
try {
  const file = join(dir, 'campus.nslab.yml');
  writeFileSync(file, text);
  const png = join(dir, 'campus.png');
  const runs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    execFileSync(
      process.execPath,
      [new URL('../dist/cli/nslab.cjs', import.meta.url).pathname, 'graph', file, '-f', 'png', '-o', png],
      { env: benchEnv() },
    );
    runs.push((performance.now() - t) / 1000);
  }
  const median = [...runs].sort((a, b) => a - b)[1];
  console.log(
    `nslab graph -f png (whole process), median of 3: ${median.toFixed(2)} s (${runs.map((x) => x.toFixed(2)).join('/')}), ` +
      `${statSync(png).size} bytes; ${lab.nodes.length >= 300 ? `target ≤ 3 s: ${median <= 3 ? 'PASS' : 'FAIL'}` : ''}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
