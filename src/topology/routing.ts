import { parseCidr } from './ip.js';
import type { Segment } from './segments.js';
import type { ResolvedLab, ResolvedNode, SourcePos } from './types.js';

/** Longest path, in hops, that the kernel's default TTL of 64 still serves with some margin. */
export const TTL_HOPS_LIMIT = 60;

/** A subnet as seen by routing: one network on one segment, and the node interfaces that have an address in it. */
interface Subnet {
  network: string;
  members: { node: number; address: string }[];
}

/**
 * Routing graph of one address family: nodes (non-bridge lab nodes) and subnets, a node being attached to a
 * subnet when one of its interfaces has an address in it. Two nodes are neighbours when they share a subnet.
 */
function graphOf(lab: ResolvedLab, segments: Segment[], family: 4 | 6) {
  const index = new Map(lab.nodes.map((n, i) => [n.name, i]));
  const subnets: Subnet[] = [];
  const attached: { subnet: number; dev: string }[][] = lab.nodes.map(() => []);
  for (const seg of segments) {
    const bySubnet = new Map<string, number>();
    for (const iface of seg.members) {
      const node = index.get(iface.node)!;
      for (const cidr of family === 4 ? iface.ipv4 : iface.ipv6) {
        const c = parseCidr(cidr)!;
        let s = bySubnet.get(c.network);
        if (s === undefined) {
          s = subnets.push({ network: c.network, members: [] }) - 1;
          bySubnet.set(c.network, s);
        }
        subnets[s].members.push({ node, address: c.address });
        if (!attached[node].some((a) => a.subnet === s)) attached[node].push({ subnet: s, dev: iface.name });
      }
    }
  }
  return { subnets, attached };
}

/**
 * A node whose computed routes (from `first` on) all leave through the same gateway is a leaf: one default route
 * via that gateway replaces them (`ip route add default via GW`), unless the file gives it a default route.
 */
function collapseToDefault(node: ResolvedNode, first: number, family: 4 | 6, pos: SourcePos): void {
  // The host keeps specific routes: its default route belongs to the machine.
  if (node.kind === 'host') return;
  const computed = node.routes.slice(first);
  if (computed.length < 2) return;
  const { via, dev } = computed[0];
  if (computed.some((r) => r.via !== via || r.dev !== dev)) return;
  const dflt = family === 4 ? '0.0.0.0/0' : '::/0';
  if (node.routes.some((r) => r.dst === dflt && r.table === undefined)) return;
  node.routes.splice(first, computed.length, { dst: dflt, family, via, dev, auto: true, pos });
}

/**
 * `routing: auto`: gives every node with `autoRouting` a static route (`ip route add NET via GW dev DEV`,
 * `auto: true`) to every subnet of the lab it is not directly connected to, along a shortest path. The path is a
 * breadth-first search over the routing graph (nodes sharing a point-to-point link or a bridge LAN are one hop
 * apart) that only goes through nodes with auto routing, since only those are known to forward. Routes written
 * in the file win over computed ones with the same destination and table.
 *
 * Nodes that forward on some path get `net.ipv4.ip_forward=1` (and `net.ipv6.conf.all.forwarding=1` for IPv6).
 * When some path is longer than `TTL_HOPS_LIMIT` hops, auto nodes get `net.ipv4.ip_default_ttl=255` (and
 * `net.ipv6.conf.{all,IFACE}.hop_limit=255` for each of their interfaces, since IPv6 uses the value of the
 * outgoing device): echo replies start with TTL 64 and would die on the way back.
 * A node whose every computed route leaves through one gateway gets a single default route instead (not the
 * host, whose default route is the machine's).
 * Sysctls written in the file are never overridden. `pos` of a computed route is the `routing: auto` that
 * asked for it. Runs one search per auto node and family: O(nodes x (nodes + interfaces)).
 */
export function addAutoRoutes(
  lab: ResolvedLab,
  segments: Segment[],
  routingPos: (node: string) => SourcePos,
) {
  const nodes = lab.nodes;
  const auto = nodes.map((n) => n.autoRouting === true);
  if (!auto.includes(true)) return;
  const hasV6 = nodes.some((n) => n.interfaces.some((i) => i.ipv6.length > 0));
  let longest = 0;
  const transit = { 4: new Uint8Array(nodes.length), 6: new Uint8Array(nodes.length) };

  for (const family of hasV6 ? ([4, 6] as const) : ([4] as const)) {
    const { subnets, attached } = graphOf(lab, segments, family);
    // Only auto nodes on several subnets can lead further: the search never needs to visit other nodes.
    const forwarders = subnets.map((sub) =>
      sub.members.filter((m) => auto[m.node] && attached[m.node].length > 1),
    );
    const dist = new Int32Array(nodes.length);
    const parent = new Int32Array(nodes.length);
    const seen = new Int32Array(subnets.length);
    const marked = new Int32Array(nodes.length);
    // Gateway and interface by which a packet from the source leaves to reach each forwarder.
    const via: string[] = nodes.map(() => '');
    const dev: string[] = nodes.map(() => '');

    nodes.forEach((src, s) => {
      if (!auto[s]) return;
      const stamp = s + 1;
      dist.fill(-1);
      dist[s] = 0;
      const own = new Set<string>();
      for (const r of src.routes) if (r.family === family && r.table === undefined) own.add(r.dst);
      for (const a of attached[s]) own.add(subnets[a.subnet].network);
      const pos = routingPos(src.name);
      const first = src.routes.length;
      const queue = [s];
      for (let q = 0; q < queue.length; q++) {
        const u = queue[q];
        for (const a of attached[u]) {
          if (seen[a.subnet] === stamp) continue;
          seen[a.subnet] = stamp;
          const network = subnets[a.subnet].network;
          if (u !== s && !own.has(network)) {
            own.add(network);
            src.routes.push({ dst: network, family, via: via[u], dev: dev[u], auto: true, pos });
            longest = Math.max(longest, dist[u] + 1);
            for (let v = u; v !== s && marked[v] !== stamp; v = parent[v]) {
              marked[v] = stamp;
              transit[family][v] = 1;
            }
          }
          for (const m of forwarders[a.subnet]) {
            if (dist[m.node] !== -1) continue;
            dist[m.node] = dist[u] + 1;
            parent[m.node] = u;
            via[m.node] = u === s ? m.address : via[u];
            dev[m.node] = u === s ? a.dev : dev[u];
            queue.push(m.node);
          }
        }
      }
      collapseToDefault(src, first, family, pos);
    });
  }

  const setUnlessWritten = (n: ResolvedNode, key: string, value: string) => {
    if (!(key in n.sysctls)) n.sysctls[key] = value;
  };
  nodes.forEach((n, i) => {
    if (transit[4][i]) setUnlessWritten(n, 'net.ipv4.ip_forward', '1');
    if (transit[6][i]) setUnlessWritten(n, 'net.ipv6.conf.all.forwarding', '1');
    if (!auto[i] || longest <= TTL_HOPS_LIMIT) return;
    setUnlessWritten(n, 'net.ipv4.ip_default_ttl', '255');
    if (!hasV6) return;
    // IPv6 takes the hop limit of the outgoing device; conf.all only serves devices without IPv6 state.
    setUnlessWritten(n, 'net.ipv6.conf.all.hop_limit', '255');
    for (const { name } of n.interfaces) {
      const key = name.includes('.') ? `net/ipv6/conf/${name}/hop_limit` : `net.ipv6.conf.${name}.hop_limit`;
      setUnlessWritten(n, key, '255');
    }
  });
}
