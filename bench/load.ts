/**
 * Loading benchmark: read, parse, validate and resolve generated topology files, without root and without the
 * kernel. Files are written to a temporary directory:
 * - star-N: N namespaces each joined to the host by one veth, an address written on both ends (the shape of
 *   `bench/star.ts`), for N = 1000, 20,000, 50,000;
 * - racks-N: racks of 20 namespaces on a bridge, a gateway per rack, `routing: auto`, no address written
 *   (the shape of `bench/lab-up.ts`), for N = 1000;
 * - star-20000 with one typo (`rotues:` on its last node), which must be reported with its position.
 * Prints the median of RUNS runs (default 3) of: `loadTopology` in this process (warm after the first run), with
 * the time per node (a linear loader keeps it flat from 1000 to 50,000); address parsing by ip.ts against the same
 * work by ipaddr.js; the first `loadTopology` of a fresh
 * process (what a command pays, module loading left out) for the 1000-node files; and whole `nslab plan FILE`
 * processes for the typo file (CLI start included). The last two need a built dist/.
 *
 *   npx tsx bench/load.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import ipaddr from 'ipaddr.js';
import { TopologyError } from '../src/topology/errors.js';
import { canonicalCidr, parseCidr } from '../src/topology/ip.js';
import { loadTopology } from '../src/topology/load.js';
import { benchEnv } from './env.js';
import { racksText } from './racks.js';

const RUNS = Number(process.env.RUNS ?? 3);
const BIN = join(import.meta.dirname, '..', 'dist', 'cli', 'nslab.cjs');

function addr(i: number, end: 1 | 2): string {
  return `10.${128 + (i >> 14)}.${(i >> 6) & 255}.${((i & 63) << 2) + end}/30`;
}

function star(n: number, typo = false): string {
  const nodes: string[] = [];
  const links: string[] = [];
  for (let i = 0; i < n; i++) {
    nodes.push(typo && i === n - 1 ? `    n${i}: { rotues: [] }` : `    n${i}: {}`);
    links.push(`    - endpoints: ["host:s${i}", "n${i}:e0"]`, `      ipv4: [${addr(i, 1)}, ${addr(i, 2)}]`);
  }
  return `name: star\nprefix: nslab-b-\ntopology:\n  nodes:\n    host: {}\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`;
}

function racks(n: number): string {
  return racksText(n, { name: 'racks', prefix: 'nslab-b-' });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeLoad(file: string): Promise<{ seconds: number; error?: TopologyError }> {
  const runs: number[] = [];
  let error: TopologyError | undefined;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    try {
      await loadTopology(file);
    } catch (e) {
      if (!(e instanceof TopologyError)) throw e;
      error = e;
    }
    runs.push((performance.now() - t) / 1000);
  }
  return { seconds: median(runs), error };
}

const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-load-'));
try {
  const files: [string, string, number][] = [
    ['star-1000', star(1000), 1000],
    ['racks-1000', racks(1000), 1000],
    ['star-20000', star(20000), 20000],
    ['star-50000', star(50000), 50000],
    ['star-20000 with a typo', star(20000, true), 20000],
  ];
  // Warm up the modules (zod, yaml) on a small file so the first row is not charged for JIT.
  const warm = join(dir, 'warm.nslab.yml');
  writeFileSync(warm, star(50));
  await loadTopology(warm);
  console.log(`loadTopology in this process, median of ${RUNS}:`);
  for (const [label, text, n] of files) {
    const file = join(dir, `${label.replace(/ /g, '-')}.nslab.yml`);
    writeFileSync(file, text);
    const { seconds, error } = await timeLoad(file);
    const size = `${(text.length / 1e6).toFixed(1)} MB`;
    const perNode = `${((seconds * 1e6) / n).toFixed(1)} µs/node`;
    const says = error
      ? ` -> ${error.problems.map((p) => `${p.pos.line}:${p.pos.col} ${p.message}`).join('; ')}`
      : '';
    console.log(`  ${label.padEnd(24)} ${size.padStart(8)}  ${seconds.toFixed(3)} s  ${perNode}${says}`);
  }
  // Addresses: what a 1000-node load and plan ask of ip.ts (each of 2000 addresses parsed and made canonical, five
  // times), against the same work done with ipaddr.js as ip.ts did it before.
  const cidrs = Array.from({ length: 2000 }, (_, i) => addr(i >> 1, ((i & 1) + 1) as 1 | 2));
  const viaIpaddr = (c: string) => {
    const [a, len] = ipaddr.parseCIDR(c);
    const net = ipaddr.IPv4.networkAddressFromCIDR(`${a}/${len}`).toString();
    return `${a}/${len} ${net}`;
  };
  const timeAll = (f: (c: string) => unknown) => {
    const t = performance.now();
    for (let round = 0; round < 5; round++) for (const c of cidrs) f(c);
    return (performance.now() - t) / 1000;
  };
  const ours = median([0, 1, 2].map(() => timeAll((c) => [parseCidr(c), canonicalCidr(c)])));
  const theirs = median([0, 1, 2].map(() => timeAll((c) => [viaIpaddr(c), viaIpaddr(c)])));
  console.log(
    `addresses, 20,000 parses of 2000: ip.ts ${ours.toFixed(4)} s, ipaddr.js ${theirs.toFixed(4)} s (${(theirs / ours).toFixed(0)}x)`,
  );

  // A fresh process per run: the first load runs cold code, as every nslab command does.
  const LOAD = join(import.meta.dirname, '..', 'dist', 'topology', 'load.js');
  const coldScript = `const { loadTopology } = await import(${JSON.stringify(LOAD)});
const t = performance.now(); await loadTopology(process.argv[1]); console.log(performance.now() - t);`;
  for (const label of ['star-1000', 'racks-1000']) {
    const file = join(dir, `${label}.nslab.yml`);
    const runs: number[] = [];
    for (let r = 0; r < Math.max(RUNS, 5); r++) {
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', coldScript, file], {
        env: benchEnv(),
        encoding: 'utf8',
      });
      if (res.status !== 0) throw new Error(res.stderr);
      runs.push(Number(res.stdout) / 1000);
    }
    console.log(`first loadTopology of a fresh process, ${label}: ${median(runs).toFixed(3)} s`);
  }
  const typo = join(dir, 'star-20000-with-a-typo.nslab.yml');
  const cli: number[] = [];
  let out = '';
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const res = spawnSync(process.execPath, [BIN, 'plan', typo], { encoding: 'utf8', env: benchEnv() });
    cli.push((performance.now() - t) / 1000);
    out = `exit ${res.status}: ${res.stderr.trim().split('\n')[0]}`;
  }
  console.log(`nslab plan star-20000-with-a-typo (whole process): ${median(cli).toFixed(3)} s, ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
