import type { ResolvedInterface, ResolvedLab } from './types.js';

/**
 * A layer-2 segment of a lab: one broadcast domain, hence (normally) one subnet. Either a point-to-point veth
 * link between two non-bridge nodes, or a bridge LAN: every bridge node joined to another by links, together
 * with all the interfaces plugged into those bridges.
 */
export interface Segment {
  /** Indexes into `ResolvedLab.links` of the links making the segment, in file order. */
  links: number[];
  /** Bridge nodes of the segment (empty for a point-to-point link). */
  bridges: string[];
  /** Interfaces of non-bridge nodes on the segment (the ones that carry addresses), in link order. */
  members: ResolvedInterface[];
}

/**
 * Splits the lab into layer-2 segments, in the order of their first link. Bridges chained by links form one
 * segment, like switches cabled together. Links whose endpoints are not both known are ignored.
 */
export function segmentsOf(lab: ResolvedLab): Segment[] {
  const bridges = new Set(lab.nodes.filter((n) => n.kind === 'bridge').map((n) => n.name));
  // The interfaces of each link by its index (no string keys: big labs have tens of thousands of them).
  const byLink: ResolvedInterface[][] = lab.links.map(() => []);
  for (const n of lab.nodes) for (const i of n.interfaces) byLink[i.link]?.push(i);
  const endOf = (l: number, e: { node: string; interface: string }) =>
    byLink[l]?.find((i) => i.node === e.node && i.name === e.interface);

  // Union-find over bridge nodes: bridge-to-bridge links merge their LANs.
  const parent = new Map<string, string>([...bridges].map((b) => [b, b]));
  const root = (b: string): string => {
    let r = b;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(b, r);
    return r;
  };
  for (const l of lab.links) {
    const [a, b] = l.endpoints;
    if (bridges.has(a.node) && bridges.has(b.node)) parent.set(root(a.node), root(b.node));
  }

  const segments: Segment[] = [];
  const lans = new Map<string, Segment>();
  for (const l of lab.links) {
    const ends = l.endpoints.map((e) => endOf(l.index, e));
    if (!ends[0] || !ends[1]) continue;
    const bridge = l.endpoints.find((e) => bridges.has(e.node))?.node;
    if (bridge === undefined) {
      // A point-to-point link, the common case: arrays of their final size (push would leave room for 16 more).
      segments.push({ links: [l.index], bridges: [], members: [ends[0], ends[1]] });
      continue;
    }
    let seg = bridge === undefined ? undefined : lans.get(root(bridge));
    if (!seg) {
      seg = { links: [], bridges: [], members: [] };
      segments.push(seg);
      if (bridge !== undefined) lans.set(root(bridge), seg);
    }
    seg.links.push(l.index);
    l.endpoints.forEach((e, j) => {
      if (!bridges.has(e.node)) seg.members.push(ends[j]!);
      else if (!seg.bridges.includes(e.node)) seg.bridges.push(e.node);
    });
  }
  return segments;
}
