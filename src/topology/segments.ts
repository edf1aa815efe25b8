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

/** Key of an interface in lookup maps. */
export function interfaceKey(node: string, name: string): string {
  return `${node}\u0000${name}`;
}

/**
 * Splits the lab into layer-2 segments, in the order of their first link. Bridges chained by links form one
 * segment, like switches cabled together. Links whose endpoints are not both known are ignored.
 */
export function segmentsOf(lab: ResolvedLab): Segment[] {
  const bridges = new Set(lab.nodes.filter((n) => n.kind === 'bridge').map((n) => n.name));
  const ifaces = new Map<string, ResolvedInterface>();
  for (const n of lab.nodes) for (const i of n.interfaces) ifaces.set(interfaceKey(n.name, i.name), i);

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
    const ends = l.endpoints.map((e) => ifaces.get(interfaceKey(e.node, e.interface)));
    if (!ends[0] || !ends[1]) continue;
    const bridge = l.endpoints.find((e) => bridges.has(e.node))?.node;
    let seg = bridge === undefined ? undefined : lans.get(root(bridge));
    if (!seg) {
      seg = { links: [], bridges: [], members: [] };
      segments.push(seg);
      if (bridge !== undefined) lans.set(root(bridge), seg);
    }
    seg.links.push(l.index);
    for (const e of l.endpoints) {
      if (!bridges.has(e.node)) seg.members.push(ifaces.get(interfaceKey(e.node, e.interface))!);
      else if (!seg.bridges.includes(e.node)) seg.bridges.push(e.node);
    }
  }
  return segments;
}
