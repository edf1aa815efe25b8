import { parseCidr, prefixContains } from './ip.js';
import type { Segment } from './segments.js';
import type { LabWarning, ResolvedLab, ResolvedNode, SourcePos } from './types.js';

/** Warnings about unrouted subnets printed per family before the rest is summed up in one. */
const MAX_ROUTING_WARNINGS = 5;

/** Longest path, in hops, that the kernel's default TTL of 64 still serves with some margin. */
export const TTL_HOPS_LIMIT = 60;

/** A subnet as seen by routing: one network on one segment, and the node interfaces that have an address in it. */
export interface Subnet {
  network: string;
  members: { node: number; address: string }[];
}

/**
 * Routing graph of one address family: nodes (non-bridge lab nodes) and subnets, a node being attached to a
 * subnet when one of its interfaces has an address in it. Two nodes are neighbours when they share a subnet.
 */
export function graphOf(lab: ResolvedLab, segments: Segment[], family: 4 | 6) {
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

/** True when the file makes a node forward packets of the family (`ip_forward` / `conf.all.forwarding` = 1). */
function forwardsByFile(node: ResolvedNode, family: 4 | 6): boolean {
  const on = (key: string) => (node.sysctls[key] ?? node.sysctls[key.replaceAll('.', '/')]) === '1';
  return family === 4
    ? on('net.ipv4.ip_forward') || on('net.ipv4.conf.all.forwarding')
    : on('net.ipv6.conf.all.forwarding');
}

/** A node's computed routes that one default route via the same gateway could replace. */
interface Collapsible {
  first: number;
  count: number;
  via: string;
  dev: string;
  pos: SourcePos;
}

/**
 * When every computed route of a node (from `first` on) leaves through the same gateway, the node is a leaf
 * that one default route via that gateway can serve (`ip route add default via GW`); not the host, whose default
 * route belongs to the machine, nor a node whose file gives it a default route.
 */
function collapsible(
  node: ResolvedNode,
  first: number,
  family: 4 | 6,
  pos: SourcePos,
): Collapsible | undefined {
  if (node.kind === 'host') return undefined;
  const count = node.routes.length - first;
  if (count < 2) return undefined;
  const { via, dev } = node.routes[first];
  for (let i = first + 1; i < node.routes.length; i++)
    if (node.routes[i].via !== via || node.routes[i].dev !== dev) return undefined;
  const dflt = family === 4 ? '0.0.0.0/0' : '::/0';
  if (node.routes.some((r) => r.dst === dflt && r.table === undefined)) return undefined;
  return { first, count, via: via!, dev: dev!, pos };
}

/**
 * Replaces the collapsible routes by default routes, except where defaults would point at each other: a packet
 * to an address no route covers would circle between them until its TTL runs out. Default routes (the file's
 * and these) make at most one edge per node, node -> gateway's node; in each cycle of that graph the first node
 * of the lab (in file order) keeps its specific routes, which breaks the cycle.
 */
function applyDefaults(lab: ResolvedLab, family: 4 | 6, candidates: (Collapsible | undefined)[]): void {
  const nodes = lab.nodes;
  if (!candidates.some((c) => c !== undefined)) return;
  // Interface addresses and gateways are canonical text: the address is the CIDR up to its slash.
  const ownerOf = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const iface of n.interfaces)
      for (const c of family === 4 ? iface.ipv4 : iface.ipv6) {
        const a = c.slice(0, c.indexOf('/'));
        if (!ownerOf.has(a)) ownerOf.set(a, i);
      }
  });
  const dflt = family === 4 ? '0.0.0.0/0' : '::/0';
  const next = new Int32Array(nodes.length).fill(-1);
  nodes.forEach((n, i) => {
    const via = candidates[i]?.via ?? n.routes.find((r) => r.dst === dflt && r.table === undefined)?.via;
    const to = via === undefined ? undefined : ownerOf.get(via);
    if (to !== undefined && to !== i) next[i] = to;
  });
  // Colour walk over a graph of out-degree one: 0 unvisited, 1 on the current walk, 2 done.
  const state = new Uint8Array(nodes.length);
  for (let s = 0; s < nodes.length; s++) {
    const walk: number[] = [];
    let v = s;
    while (v >= 0 && state[v] === 0) {
      state[v] = 1;
      walk.push(v);
      v = next[v];
    }
    if (v >= 0 && state[v] === 1) {
      const cycle = walk.slice(walk.indexOf(v));
      const keep = cycle.filter((u) => candidates[u]).sort((a, b) => a - b)[0];
      if (keep !== undefined) candidates[keep] = undefined;
    }
    for (const u of walk) state[u] = 2;
  }
  nodes.forEach((n, i) => {
    const c = candidates[i];
    if (!c) return;
    n.routes.splice(c.first, c.count, { dst: dflt, family, via: c.via, dev: c.dev, auto: true, pos: c.pos });
  });
}

/** The networks a node of the lab is attached to on a subnet, for messages: `10.0.9.0/24 (between s and x)`. */
function subnetText(lab: ResolvedLab, sub: Subnet): string {
  const names = [...new Set(sub.members.map((m) => lab.nodes[m.node].name))];
  const shown =
    names.length > 4 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
  return `${sub.network} (${names.length === 2 ? `between ${names.join(' and ')}` : `of ${shown}`})`;
}

/**
 * One warning per group of subnets that the same auto nodes get no route to: no path leads there through nodes
 * that forward (an auto node on several subnets, or a static node whose file turns forwarding on, for its own
 * subnets only). `missing` leaves out nodes with a default route (the file's or a computed one): it may lead
 * there.
 */
function unroutedWarnings(
  lab: ResolvedLab,
  family: 4 | 6,
  subnets: Subnet[],
  missing: Map<number, number[]>,
  routingPos: (node: string) => SourcePos,
): LabWarning[] {
  const groups = new Map<string, { nodes: number[]; subnets: number[] }>();
  for (const [sub, nodes] of missing) {
    const key = nodes.join(',');
    const g = groups.get(key);
    if (g) g.subnets.push(sub);
    else groups.set(key, { nodes, subnets: [sub] });
  }
  const list = (items: string[], max: number) =>
    items.length > max
      ? `${items.slice(0, max - 1).join(', ')} and ${items.length - max + 1} more`
      : items.join(', ');
  const all = [...groups.values()];
  const why =
    'no path leads there through nodes that forward (auto nodes on several subnets; static nodes with ' +
    'forwarding on, for their own subnets): add routes, turn forwarding on, or make the node in the way auto';
  const out: LabWarning[] = all.slice(0, MAX_ROUTING_WARNINGS).map((g) => {
    const names = g.nodes.map((n) => lab.nodes[n].name);
    const nets = g.subnets.map((s) => subnetText(lab, subnets[s]));
    return {
      pos: routingPos(names[0]),
      message: `routing: auto gives ${list(names, 6)} no IPv${family} route to ${list(nets, 4)}: ${why}`,
    };
  });
  const rest = all.slice(MAX_ROUTING_WARNINGS);
  if (rest.length > 0) {
    const nodes = new Set(rest.flatMap((g) => g.nodes)).size;
    const nets = new Set(rest.flatMap((g) => g.subnets)).size;
    out.push({ message: `routing: auto gives ${nodes} more nodes no IPv${family} route to ${nets} subnets` });
  }
  return out;
}

/**
 * `routing: auto`: gives every node with `autoRouting` a static route (`ip route add NET via GW dev DEV`,
 * `auto: true`) to every subnet of the lab it is not directly connected to, along a shortest path. The path is a
 * breadth-first search over the routing graph (nodes sharing a point-to-point link or a bridge LAN are one hop
 * apart) that goes through nodes known to forward: auto nodes on several subnets, and static nodes whose file
 * turns forwarding on, which are routers for the subnets they are connected to only (their own routes are
 * theirs: nothing is installed on them, and no path goes on through them), and nodes with `routing: external`
 * (their daemon routes everywhere, as nslab would). Routes written in the file win over
 * computed ones with the same destination and table. Every hop of a computed path is on a shortest path from
 * there, so the routes never loop.
 *
 * Nodes that forward on some path get `net.ipv4.ip_forward=1` (and `net.ipv6.conf.all.forwarding=1` for IPv6).
 * When some path is longer than `TTL_HOPS_LIMIT` hops, auto nodes get `net.ipv4.ip_default_ttl=255` (and
 * `net.ipv6.conf.{all,IFACE}.hop_limit=255` for each of their interfaces, since IPv6 uses the value of the
 * outgoing device): echo replies start with TTL 64 and would die on the way back.
 * A node whose every computed route leaves through one gateway gets a single default route instead (not the
 * host, whose default route is the machine's), unless defaults would then point at each other.
 * Subnets an auto node gets no route to are reported in `lab.warnings`, with the nodes and the subnets.
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
  // A node whose routing daemon routes (routing: external) leads on to everywhere, as an auto node does.
  const external = nodes.map((n) => n.externalRouting === true);
  const hasV6 = nodes.some((n) => n.interfaces.some((i) => i.ipv6.length > 0));
  let longest = 0;
  const transit = { 4: new Uint8Array(nodes.length), 6: new Uint8Array(nodes.length) };
  const warnings: LabWarning[] = [];

  for (const family of hasV6 ? ([4, 6] as const) : ([4] as const)) {
    const { subnets, attached } = graphOf(lab, segments, family);
    // A static router leads to its own subnets and no further: it is entered, never expanded.
    const terminal = nodes.map(
      (n, i) => !auto[i] && !external[i] && n.kind !== 'bridge' && forwardsByFile(n, family),
    );
    // Only nodes on several subnets can lead further: the search never needs to visit other nodes.
    const forwarders = subnets.map((sub) =>
      sub.members.filter(
        (m) => (auto[m.node] || external[m.node] || terminal[m.node]) && attached[m.node].length > 1,
      ),
    );
    const dist = new Int32Array(nodes.length);
    const parent = new Int32Array(nodes.length);
    const routed = new Int32Array(subnets.length);
    const expanded = new Int32Array(subnets.length);
    const marked = new Int32Array(nodes.length);
    // Gateway and interface by which a packet from the source leaves to reach each forwarder.
    const via: string[] = nodes.map(() => '');
    const dev: string[] = nodes.map(() => '');
    const candidates: (Collapsible | undefined)[] = nodes.map(() => undefined);
    // Auto node -> the subnets it gets no route to (none once it has a default route).
    const missingBy = new Map<number, number[]>();
    const dflt = family === 4 ? '0.0.0.0/0' : '::/0';

    nodes.forEach((src, s) => {
      if (!auto[s] || attached[s].length === 0) return;
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
          // The first node of the search on a subnet is the nearest: the route goes by it.
          if (routed[a.subnet] !== stamp) {
            routed[a.subnet] = stamp;
            const network = subnets[a.subnet].network;
            if (u !== s && !own.has(network)) {
              own.add(network);
              src.routes.push({ dst: network, family, via: via[u], dev: dev[u], auto: true, pos });
              longest = Math.max(longest, dist[u] + 1);
              for (let v = u; v !== s && marked[v] !== stamp; v = parent[v]) {
                marked[v] = stamp;
                if (auto[v]) transit[family][v] = 1;
              }
            }
          }
          if (terminal[u] || expanded[a.subnet] === stamp) continue;
          expanded[a.subnet] = stamp;
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
      // Every subnet the search reached is routed or the node's own: only the others need a look.
      let reached = 0;
      for (let i = 0; i < subnets.length; i++) if (routed[i] === stamp) reached += 1;
      if (reached < subnets.length) {
        const written = src.routes.filter((r) => !r.auto && r.family === family && r.table === undefined);
        const covered = (network: string) => {
          const [addr, len] = network.split('/');
          return written.some(
            (r) => Number(r.dst.split('/')[1]) <= Number(len) && prefixContains(r.dst, addr),
          );
        };
        const unrouted = subnets.flatMap((sub, i) =>
          routed[i] === stamp || own.has(sub.network) || covered(sub.network) ? [] : [i],
        );
        if (unrouted.length > 0) missingBy.set(s, unrouted);
      }
      candidates[s] = collapsible(src, first, family, pos);
    });
    applyDefaults(lab, family, candidates);
    const missing = new Map<number, number[]>();
    for (const [node, subs] of missingBy) {
      if (nodes[node].routes.some((r) => r.dst === dflt && r.table === undefined)) continue;
      for (const sub of subs) missing.set(sub, [...(missing.get(sub) ?? []), node]);
    }
    warnings.push(...unroutedWarnings(lab, family, subnets, missing, routingPos));
  }
  if (warnings.length > 0) lab.warnings = [...(lab.warnings ?? []), ...warnings];

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
