/**
 * How many neighbour-table entries (ARP, ND) a lab needs when every node talks to every other: the kernel keeps
 * them in one table per family for all namespaces, capped by `net.ipv4.neigh.default.gc_thresh3` (1024 by
 * default), and past the cap new entries fail and pings are lost.
 */
import { segmentsOf } from '../topology/segments.js';
import type { ResolvedLab } from '../topology/types.js';
import type { Family } from './types.js';

/**
 * Entries per family when every interface resolves every address of the other nodes on its segment (what a full
 * ping matrix makes: each sender learns its next hop, each receiver learns the sender from its request): on a
 * segment of k interfaces holding A addresses, each interface learns the A - a of the others.
 */
export function neighbourEntriesNeeded(lab: ResolvedLab): Record<Family, number> {
  const need: Record<Family, number> = { 4: 0, 6: 0 };
  const byName = new Map(lab.nodes.map((n) => [n.name, n]));
  for (const seg of segmentsOf(lab)) {
    const members: { node: string; 4: number; 6: number }[] = seg.members.map((i) => ({
      node: i.node,
      4: i.ipv4.length,
      6: i.ipv6.length,
    }));
    for (const b of seg.bridges) {
      const n = byName.get(b);
      const v4 = n?.bridgeIpv4?.length ?? 0;
      const v6 = n?.bridgeIpv6?.length ?? 0;
      if (v4 + v6 > 0) members.push({ node: b, 4: v4, 6: v6 });
    }
    for (const f of [4, 6] as const) {
      const total = members.reduce((s, m) => s + m[f], 0);
      for (const m of members) if (m[f] > 0) need[f] += total - m[f];
    }
  }
  return need;
}

/**
 * A sentence per family whose need passes the table's cap (`limit`, from the kernel), naming the sysctl to raise
 * on the host; none when the limit is unknown.
 */
export function neighbourWarnings(
  lab: ResolvedLab,
  limit: (family: Family) => number | undefined,
): { message: string }[] {
  const need = neighbourEntriesNeeded(lab);
  const out: { message: string }[] = [];
  for (const f of [4, 6] as const) {
    const cap = limit(f);
    if (cap === undefined || need[f] <= cap) continue;
    const key = `net.ipv${f}.neigh.default.gc_thresh3`;
    const raise = Math.ceil((need[f] * 2) / 1024) * 1024;
    out.push({
      message:
        `lab ${lab.name} needs up to ${need[f]} IPv${f} neighbour (${f === 4 ? 'ARP' : 'ND'}) entries when every ` +
        `node talks to every other, but every namespace of this machine shares one table of at most ${cap} ` +
        `(${key}): past it pings are lost. Raise it on the host, for example ` +
        `\`sysctl -w ${key}=${raise} net.ipv${f}.neigh.default.gc_thresh2=${raise / 2}\`.`,
    });
  }
  return out;
}
