/**
 * `routing: external`: nodes whose own routing daemon (OSPF, IS-IS, RIP...) installs their routes. nslab
 * installs none there, turns forwarding on in those that join several subnets (they are routers), and predicts
 * what a routing protocol converges to: from each such node, a shortest path to every subnet another of them is
 * attached to (the networks they advertise), through them, over the links that are up.
 */
import { graphOf } from './routing.js';
import type { Segment } from './segments.js';
import type { ResolvedLab, ResolvedRoute } from './types.js';

/** The families a lab routes: IPv4, and IPv6 when some interface has an IPv6 address. */
function familiesOf(lab: ResolvedLab): (4 | 6)[] {
  return lab.nodes.some((n) => n.interfaces.some((i) => i.ipv6.length > 0)) ? [4, 6] : [4];
}

/**
 * Gives every namespace node with `routing: external` on several subnets of a family that family's forwarding
 * (`net.ipv4.ip_forward=1`, `net.ipv6.conf.all.forwarding=1`), unless the file sets it: a routing daemon
 * installs routes, not the sysctl (zebra leaves it as it finds it). Not the host: its sysctls are the machine's.
 */
export function addExternalRouting(lab: ResolvedLab, segments: Segment[]): void {
  if (!lab.nodes.some((n) => n.externalRouting)) return;
  for (const family of familiesOf(lab)) {
    const { attached } = graphOf(lab, segments, family);
    const key = family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding';
    lab.nodes.forEach((n, i) => {
      if (!n.externalRouting || n.kind === 'host' || attached[i].length < 2) return;
      if (!(key in n.sysctls) && !(key.replaceAll('.', '/') in n.sysctls)) n.sysctls[key] = '1';
    });
  }
}

/** A first hop: the gateway's address and the interface it is reached by. */
type FirstHops = Map<string, { via: string; dev: string }>;

/**
 * The routes a routing protocol converges to on each node with `routing: external`, by node name: one route per
 * subnet of another external node (not its own), via the first hop of a shortest path, where every link costs
 * the same (OSPF's default on links of one speed). A destination reached as close through several first hops
 * gets `ecmp: true` (the protocol installs them all; the kernel picks one per flow). Links whose index is in
 * `down` are left out, as the protocol drops them once its neighbours time out. Nothing is installed from this:
 * the explain model predicts with it. Runs one breadth-first search per external node and family.
 */
export function protocolRoutes(
  lab: ResolvedLab,
  segments: Segment[],
  down: ReadonlySet<number> = new Set(),
): Map<string, ResolvedRoute[]> {
  const nodes = lab.nodes;
  const out = new Map<string, ResolvedRoute[]>();
  const speaks = nodes.map((n) => n.externalRouting === true && n.kind !== 'bridge');
  if (!speaks.includes(true)) return out;
  const segs =
    down.size === 0
      ? segments
      : segments.map((s) => ({ ...s, members: s.members.filter((m) => !down.has(m.link)) }));
  for (const family of familiesOf(lab)) {
    const { subnets, attached } = graphOf(lab, segs, family);
    nodes.forEach((src, s) => {
      if (!speaks[s] || attached[s].length === 0) return;
      const routes = out.get(src.name) ?? [];
      out.set(src.name, routes);
      const dist = new Int32Array(nodes.length).fill(-1);
      const first: FirstHops[] = nodes.map(() => new Map());
      dist[s] = 0;
      const own = new Set(attached[s].map((a) => a.subnet));
      const best = new Map<number, { d: number; hops: FirstHops }>();
      const queue = [s];
      for (let q = 0; q < queue.length; q++) {
        const u = queue[q];
        for (const a of attached[u]) {
          if (u !== s && !own.has(a.subnet)) {
            let b = best.get(a.subnet);
            if (!b) {
              b = { d: dist[u], hops: new Map() };
              best.set(a.subnet, b);
            }
            if (b.d === dist[u]) for (const [k, v] of first[u]) b.hops.set(k, v);
          }
          for (const m of subnets[a.subnet].members) {
            if (m.node === u || !speaks[m.node]) continue;
            const hops: FirstHops =
              u === s ? new Map([[`${m.address} ${a.dev}`, { via: m.address, dev: a.dev }]]) : first[u];
            if (dist[m.node] === -1) {
              dist[m.node] = dist[u] + 1;
              queue.push(m.node);
            } else if (dist[m.node] !== dist[u] + 1) continue;
            for (const [k, v] of hops) first[m.node].set(k, v);
          }
        }
      }
      for (const [sub, b] of best) {
        const [hop] = b.hops.values();
        if (!hop) continue;
        const r: ResolvedRoute = { dst: subnets[sub].network, family, via: hop.via, dev: hop.dev };
        if (b.hops.size > 1) r.ecmp = true;
        routes.push(r);
      }
    });
  }
  return out;
}
