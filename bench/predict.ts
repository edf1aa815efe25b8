/**
 * Prediction benchmark: `nslab check FILE --predict` of a generated lab of about N nodes (LANs of 20 on bridges,
 * each behind a router off the host, `routing: auto`, no address written), as a whole CLI process (start, load,
 * predict, print), median of 3; then, in this process, loading the file and predicting the matrix separately.
 * Needs no root and touches no kernel state. The target (issue "Performance"): 300 nodes within 1 s.
 *
 *   npm run build && npx tsx bench/predict.ts [N ...]        (default: 300)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../src/lab/lab.js';
import { benchEnv } from './env.js';
import { racksText } from './racks.js';

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const BIN = join(import.meta.dirname, '..', 'dist', 'cli', 'nslab.cjs');

function labText(n: number): string {
  return racksText(n, { name: `predict${n}`, countGateways: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-'));
try {
  for (const n of sizes.length ? sizes : [300]) {
    const file = join(dir, `predict${n}.nslab.yml`);
    writeFileSync(file, labText(n));
    const cli: number[] = [];
    let summary = '';
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'check', file, '--predict'], {
        encoding: 'utf8',
        env: benchEnv(),
      });
      cli.push((performance.now() - t) / 1000);
      if (r.status !== 0) throw new Error(`nslab check --predict failed: ${r.stderr}`);
      summary = r.stdout.split('\n')[0];
    }
    const t0 = performance.now();
    const lab = await Lab.load(file);
    const t1 = performance.now();
    const m = lab.predict();
    const t2 = performance.now();
    const l3 = m.nodes.length;
    console.log(
      `${l3} L3 nodes, ${m.results.length} pings: nslab check --predict ${median(cli).toFixed(2)} s (median of 3: ` +
        `${cli.map((x) => x.toFixed(2)).join(', ')}); in process: load ${(t1 - t0).toFixed(0)} ms, predict ` +
        `${(t2 - t1).toFixed(0)} ms\n  ${summary}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
