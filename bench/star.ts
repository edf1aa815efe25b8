/**
 * Star benchmark: inside a sandbox namespace that plays the host, build N namespaces, each joined to the sandbox
 * by one veth pair with an address on both ends and both ends up; then tear them down until the kernel shows
 * nothing left. Once with nslab's kernel layer, once with the best iproute2 script (`ip -batch` for the
 * `netns add`s, veths created with the peer directly in the namespace, one `ip -n NS -batch -` per namespace),
 * in the same run, and prints the median times of RUNS runs (default 3) and the ratio. Before each timed build it
 * waits SETTLE_MS (default 3000) for the kernel to finish freeing the namespaces of the previous teardown.
 *
 *   sudo npx tsx bench/star.ts [N ...]        (default: 100 1000)
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Request } from '../src/netlink/message.js';
import { NetnsHandle } from '../src/netns/handle.js';
import { deleteNamedNetns, listNamedNetns } from '../src/netns/named.js';

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
/** Runs per size; the medians are printed, with every run. */
const RUNS = Number(process.env.RUNS ?? 3);
/** Pause before each timed build, in ms. */
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 3000);
const tag = `nslab-b-${process.pid}`;

function hostAddr(i: number, end: 1 | 2): string {
  return `10.${128 + (i >> 14)}.${(i >> 6) & 255}.${((i & 63) << 2) + end}/30`;
}

function leafName(i: number): string {
  return `${tag}-${i}`;
}

/** Waits until the sandbox holds only its loopback and no leaf namespace is listed. */
function waitGone(sandbox: NetnsHandle): void {
  for (;;) {
    const links = sandbox.links().length;
    const left = listNamedNetns().filter((n) => n.startsWith(`${tag}-`)).length;
    if (links <= 1 && left === 0) return;
  }
}

function nslabBuild(sandbox: NetnsHandle, n: number): NetnsHandle[] {
  const leaves: NetnsHandle[] = [];
  for (let i = 0; i < n; i++) leaves.push(NetnsHandle.create(leafName(i)));
  sandbox.run(
    ...leaves.map((leaf, i) => sandbox.vethRequest(`s${i}`, { handle: leaf, name: 'eth0' }, { up: true })),
  );
  sandbox.run(...leaves.map((_, i) => sandbox.addrRequest(`s${i}`, hostAddr(i, 1))));
  leaves.forEach((leaf, i) => {
    const reqs: Request[] = [
      leaf.setLinkRequest('lo', { up: true }),
      leaf.addrRequest('eth0', hostAddr(i, 2)),
      leaf.setLinkRequest('eth0', { up: true }),
    ];
    leaf.run(...reqs);
  });
  return leaves;
}

function nslabTeardown(sandbox: NetnsHandle, leaves: NetnsHandle[]): void {
  for (const leaf of leaves) leaf.destroy();
  waitGone(sandbox);
}

function ip(args: string[], input?: string): void {
  execFileSync('ip', args, { input, stdio: ['pipe', 'ignore', 'inherit'] });
}

function iprouteBuild(n: number): void {
  ip(['-batch', '-'], Array.from({ length: n }, (_, i) => `netns add ${leafName(i)}\n`).join(''));
  const host = Array.from(
    { length: n },
    (_, i) =>
      `link add s${i} type veth peer name eth0 netns ${leafName(i)}\naddr add ${hostAddr(i, 1)} dev s${i}\nlink set s${i} up\n`,
  ).join('');
  ip(['-n', tag, '-batch', '-'], host);
  for (let i = 0; i < n; i++) {
    ip(
      ['-n', leafName(i), '-batch', '-'],
      `link set lo up\naddr add ${hostAddr(i, 2)} dev eth0\nlink set eth0 up\n`,
    );
  }
}

function iprouteTeardown(sandbox: NetnsHandle, n: number): void {
  ip(['-batch', '-'], Array.from({ length: n }, (_, i) => `netns del ${leafName(i)}\n`).join(''));
  waitGone(sandbox);
}

function check(sandbox: NetnsHandle, n: number): void {
  const up = sandbox.links().filter((l) => l.name.startsWith('s') && l.up).length;
  const addrs = sandbox.addrs(2).filter((a) => a.cidr.startsWith('10.')).length;
  if (up !== n || addrs !== n) throw new Error(`built ${up} links up and ${addrs} addresses, expected ${n}`);
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

/** The kernel frees deleted namespaces in the background: let it finish before the next build is timed. */
function settle(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const sandbox = NetnsHandle.create(tag);
try {
  for (const n of sizes.length ? sizes : [100, 1000]) {
    const t = { nb: [] as number[], nt: [] as number[], ib: [] as number[], it: [] as number[] };
    for (let run = 0; run < RUNS; run++) {
      let leaves: NetnsHandle[] = [];
      settle();
      t.nb.push(
        time(() => {
          leaves = nslabBuild(sandbox, n);
        }),
      );
      check(sandbox, n);
      t.nt.push(time(() => nslabTeardown(sandbox, leaves)));
      settle();
      t.ib.push(time(() => iprouteBuild(n)));
      check(sandbox, n);
      t.it.push(time(() => iprouteTeardown(sandbox, n)));
    }
    const [nb, nt, ib, it] = [median(t.nb), median(t.nt), median(t.ib), median(t.it)];
    const list = (xs: number[]) => xs.map((x) => x.toFixed(3)).join('/');
    console.log(
      `N=${String(n).padEnd(5)} build: nslab ${nb.toFixed(3)} s (runs ${list(t.nb)}), iproute2 ${ib.toFixed(3)} s (runs ${list(t.ib)}), ratio ${(ib / nb).toFixed(1)}x` +
        ` | teardown: nslab ${nt.toFixed(3)} s (runs ${list(t.nt)}), iproute2 ${it.toFixed(3)} s, ratio ${(it / nt).toFixed(1)}x`,
    );
  }
} finally {
  for (const name of listNamedNetns()) if (name.startsWith(`${tag}-`)) deleteNamedNetns(name);
  sandbox.destroy();
}
