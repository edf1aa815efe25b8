import { execSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Lab } from '../src/lab/lab.js';
import { parseTopology } from '../src/topology/load.js';

const N = 250,
  prefix = 'nslab-t-dbgc-';
const text = `name: chain250\nprefix: ${prefix}\nrouting: auto\ntopology:\n  nodes:\n${Array.from({ length: N }, (_, i) => `    r${i}: {}`).join('\n')}\n  links:\n${Array.from({ length: N - 1 }, (_, i) => `    - endpoints: ["r${i}:right", "r${i + 1}:left"]`).join('\n')}\n`;
execSync('ip netns add nslab-t-dbgc');
let t = performance.now();
const lab = new Lab(parseTopology(text), { hostNetns: 'nslab-t-dbgc' });
console.log('parse', (performance.now() - t).toFixed(0));
t = performance.now();
try {
  await lab.up();
  console.log('up', (performance.now() - t).toFixed(0));
  t = performance.now();
  const p = lab.predict();
  console.log(
    'predict',
    (performance.now() - t).toFixed(0),
    p.pairs.length,
    p.pairs.filter((x) => x.verdict !== 'reach').length,
  );
  t = performance.now();
  const m = await lab.ping({ timeoutMs: 1500 });
  console.log(
    'ping',
    (performance.now() - t).toFixed(0),
    m.results.length,
    m.results.filter((x) => x.status !== 'reached').length,
  );
  const byKey = new Map(p.pairs.map((x) => [x.from + ' ' + x.address, x]));
  let shown = 0;
  for (const r of m.results) {
    const q = byKey.get(r.from + ' ' + r.to);
    if (q && q.hops !== r.hops && shown++ < 5)
      console.log(r.from, r.to, 'obs', r.hops, r.replyTtl, 'pred', q.hops, q.replyTtl);
  }
} finally {
  await lab.down();
  execSync('ip netns del nslab-t-dbgc');
}
