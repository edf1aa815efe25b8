/**
 * Ping-matrix benchmark: inside a sandbox namespace `nslab-b-<pid>` that acts as a router, N namespaces
 * (`nslab-b-<pid>-<i>`) each hang off it by a veth pair on their own /30, with a default route through it. Then
 * the full matrix, N×(N-1) IPv4 pings between the N namespaces, runs with nslab's `probe` (raw sockets opened
 * inside each namespace, every request at once): once cold (ARP tables empty) and once warm. For comparison,
 * `ip netns exec NS ping -c 1 -W 1 ADDR` runs for a sample of pairs, one after the other as a shell loop would,
 * and its time is extrapolated to the whole matrix; with fping installed, `fping -c 1 -t 1000` runs from one
 * namespace to all others and is extrapolated to N rows. Everything made is deleted in `finally`.
 *
 * Why a router and not one shared L2 segment: the kernel's neighbour (ARP) table is one table for all
 * namespaces, capped by net.ipv4.neigh.default.gc_thresh3 (1024 by default, settable only in the real default
 * namespace). N namespaces on one segment need N×(N-1) entries, 9,900 for N = 100, and past the cap the
 * kernel refuses new ones: pings fail whichever tool sends them. Through a router, 2N entries suffice.
 *
 *   sudo npx tsx bench/ping-matrix.ts [N] [SAMPLE]      (default: 100 namespaces, 30 sampled pings)
 */
import { spawnSync } from 'node:child_process';
import { NetnsHandle } from '../src/netns/handle.js';
import { deleteNamedNetns, listNamedNetns } from '../src/netns/named.js';
import { probe } from '../src/probe/icmp.js';
import type { ProbeTarget } from '../src/probe/types.js';
import type { ReachResult } from '../src/reach/types.js';

const n = Number(process.argv[2] ?? 100);
const sample = Number(process.argv[3] ?? 30);
if (!(n >= 2 && n <= 16000) || !(sample >= 1)) {
  console.error('usage: bench/ping-matrix.ts [N: 2..16000] [SAMPLE >= 1]');
  process.exit(2);
}
const tag = `nslab-b-${process.pid}`;
const leafName = (i: number) => `${tag}-${i}`;
/** End 1 (router) or 2 (leaf) of the /30 of leaf i, in 10.128.0.0/9. */
const address = (i: number, end: 1 | 2) => `10.${128 + (i >> 14)}.${(i >> 6) & 255}.${((i & 63) << 2) + end}`;

function build(router: NetnsHandle): NetnsHandle[] {
  const leaves: NetnsHandle[] = [];
  for (let i = 0; i < n; i++) leaves.push(NetnsHandle.create(leafName(i)));
  router.setSysctl('net.ipv4.ip_forward', '1');
  router.run(
    ...leaves.map((leaf, i) => router.vethRequest(`s${i}`, { handle: leaf, name: 'eth0' }, { up: true })),
  );
  router.run(...leaves.map((_, i) => router.addrRequest(`s${i}`, `${address(i, 1)}/30`)));
  leaves.forEach((leaf, i) => {
    leaf.run(
      leaf.setLinkRequest('lo', { up: true }),
      leaf.addrRequest('eth0', `${address(i, 2)}/30`),
      leaf.setLinkRequest('eth0', { up: true }),
    );
    leaf.addRoute({ dst: '0.0.0.0/0', via: address(i, 1) });
  });
  return leaves;
}

function tally(results: ReachResult[]): string {
  const counts = { reached: 0, lost: 0, unreachable: 0 };
  for (const r of results) counts[r.verdict] += 1;
  return `${counts.reached} reached, ${counts.lost} lost, ${counts.unreachable} unreachable`;
}

/** Random distinct ordered pairs (i, j), i ≠ j. */
function samplePairs(k: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let s = 0; s < k; s++) {
    const i = Math.floor(Math.random() * n);
    const j = (i + 1 + Math.floor(Math.random() * (n - 1))) % n;
    pairs.push([i, j]);
  }
  return pairs;
}

const hasFping = spawnSync('sh', ['-c', 'command -v fping'], { encoding: 'utf8' }).status === 0;
const router = NetnsHandle.create(tag);
const leaves: NetnsHandle[] = [];
try {
  const tb = performance.now();
  leaves.push(...build(router));
  console.log(
    `built ${n} namespaces around a router namespace in ${((performance.now() - tb) / 1000).toFixed(2)} s`,
  );
  const targets: ProbeTarget[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j) targets.push({ from: `n${i}`, fd: leaves[i].fd, to: address(j, 2), toNode: `n${j}` });
    }
  }
  const pairs = targets.length;

  let t = performance.now();
  const cold = await probe(targets, { timeoutMs: 1000 });
  const coldS = (performance.now() - t) / 1000;
  console.log(`nslab probe, cold (ARP unresolved): ${pairs} pairs in ${coldS.toFixed(3)} s: ${tally(cold)}`);
  t = performance.now();
  const warm = await probe(targets, { timeoutMs: 1000 });
  const warmS = (performance.now() - t) / 1000;
  console.log(`nslab probe, warm:                  ${pairs} pairs in ${warmS.toFixed(3)} s: ${tally(warm)}`);
  const hops = new Set(
    warm.filter((r) => r.verdict === 'reached').map((r) => `ttl ${r.replyTtl} (${r.hops} hop)`),
  );
  console.log(`replies seen with: ${[...hops].join(', ')}`);

  t = performance.now();
  let ok = 0;
  for (const [i, j] of samplePairs(sample)) {
    const r = spawnSync('ip', ['netns', 'exec', leafName(i), 'ping', '-c', '1', '-W', '1', address(j, 2)], {
      stdio: 'ignore',
    });
    if (r.status === 0) ok += 1;
  }
  const per = (performance.now() - t) / 1000 / sample;
  const extrapolated = per * pairs;
  console.log(
    `ip netns exec ... ping -c 1 -W 1, one pair at a time: ${sample} sampled pairs (${ok} ok), ` +
      `${(per * 1000).toFixed(1)} ms per pair; EXTRAPOLATED to ${pairs} pairs: ${extrapolated.toFixed(1)} s ` +
      `(${(extrapolated / warmS).toFixed(0)}x the warm nslab run, ${(extrapolated / coldS).toFixed(0)}x the cold one)`,
  );

  if (hasFping) {
    t = performance.now();
    const others = Array.from({ length: n - 1 }, (_, j) => address(j + 1, 2));
    spawnSync('ip', ['netns', 'exec', leafName(0), 'fping', '-q', '-c', '1', '-t', '1000', ...others], {
      stdio: 'ignore',
    });
    const row = (performance.now() - t) / 1000;
    console.log(
      `fping -c 1 from one namespace to the ${n - 1} others: ${row.toFixed(3)} s; ` +
        `EXTRAPOLATED to ${n} rows run one after the other: ${(row * n).toFixed(1)} s`,
    );
  } else {
    console.log('fping is not installed: no fping comparison');
  }
} finally {
  for (const leaf of leaves) leaf.destroy();
  for (const name of listNamedNetns()) if (name.startsWith(`${tag}-`)) deleteNamedNetns(name);
  router.destroy();
}
