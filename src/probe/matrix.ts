/**
 * The live reachability matrix of a lab: every L3 node pings every address of every other one, all at once, and
 * the targets of the file's `expect:` list with them.
 */
import { expectTargets, firstPerFamily, l3Nodes, nodeAddresses } from '../reach/matrix.js';
import type { ReachMatrix } from '../reach/types.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';
import { probe } from './icmp.js';
import type { ProbeOptions, ProbeTarget } from './types.js';

export interface PingMatrixOptions extends ProbeOptions {
  /** Only this address family (default: both). */
  family?: 4 | 6;
  /** Ping every address of each node (default), or only its first one per family: one probe per node pair. */
  addresses?: 'all' | 'first';
  /**
   * Also ping what `lab.expect` names that the sweep does not cover (a literal address, a node's own addresses),
   * so that judgeExpectations can judge every expectation (default true).
   */
  expectTargets?: boolean;
  /** Ping every pair (default), or, when false, only what `lab.expect` names (`check --expect-only`). */
  sweep?: boolean;
}

/** TTL (hop limit) a node's replies leave with, from its sysctls (64 unless the file raises it). */
export function initialTtl(node: ResolvedNode, family: 4 | 6): number {
  const key = family === 4 ? 'net.ipv4.ip_default_ttl' : 'net.ipv6.conf.all.hop_limit';
  const v = Number(node.sysctls[key]);
  return Number.isInteger(v) && v > 0 ? v : 64;
}

/**
 * Pings, from every L3 node (inside its namespace: `fdOf(node)` gives the namespace fd, the host's included), every
 * address of every other L3 node on the lab's links, IPv4 and IPv6, in one parallel run of `probe`. With
 * `expectTargets` (the default) the targets of `lab.expect` that this does not cover are pinged in the same run.
 */
export async function pingMatrix(
  lab: ResolvedLab,
  fdOf: (node: string) => number,
  opts: PingMatrixOptions = {},
): Promise<ReachMatrix> {
  const nodes = l3Nodes(lab);
  const sweep = opts.sweep ?? true;
  const addrs = new Map(
    nodes.map((n) => {
      const all = sweep ? nodeAddresses(n, opts.family) : [];
      return [n.name, opts.addresses === 'first' ? firstPerFamily(all) : all];
    }),
  );
  const fds = new Map<string, number>();
  const fd = (node: string) => {
    let v = fds.get(node);
    if (v === undefined) {
      v = fdOf(node);
      fds.set(node, v);
    }
    return v;
  };
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const target = (from: string, to: string, toNode: string | undefined, family: 4 | 6): ProbeTarget => {
    const t: ProbeTarget = { from, fd: fd(from), to };
    if (toNode !== undefined) {
      t.toNode = toNode;
      const owner = byName.get(toNode);
      if (owner) t.initialTtl = initialTtl(owner, family);
    }
    return t;
  };
  const targets: ProbeTarget[] = [];
  const swept = new Map<string, string[]>();
  for (const to of nodes) {
    for (const a of addrs.get(to.name) ?? [])
      swept.set(a.address, [...(swept.get(a.address) ?? []), to.name]);
  }
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue;
      for (const a of addrs.get(to.name) ?? []) targets.push(target(from.name, a.address, to.name, a.family));
    }
  }
  if (opts.expectTargets ?? true) {
    const covered = (from: string, address: string) => swept.get(address)?.some((n) => n !== from) ?? false;
    for (const x of expectTargets(lab, covered, opts.family))
      targets.push(target(x.from, x.to, x.toNode, x.family));
  }
  return { source: 'observed', results: await probe(targets, opts), nodes: nodes.map((n) => n.name) };
}
