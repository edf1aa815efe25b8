import type { Context, Family, Holder } from './context.js';
import { didYouMean } from './errors.js';
import { addressFamily, canonicalAddress, isAddress, parseCidr, prefixContains } from './ip.js';
import type { TopologyRouteSpec } from './schema.js';
import type { Segment } from './segments.js';
import { BRIDGE_DEVICE, type ResolvedLab, type ResolvedNode, type ResolvedRoute } from './types.js';
import type { SpecPath } from './yaml.js';

/** A device of a node as routes see it: its name and addresses (a bridge node's br0 included). */
interface Device {
  name: string;
  cidrs: string[];
}

/** The segment each interface (or bridge node, for its br0) is on, for gateways written as node names. */
interface Where {
  segmentOf(h: Holder): number | undefined;
}

function devicesOf(node: ResolvedNode): Device[] {
  const devices = node.interfaces.map((d) => ({ name: d.name, cidrs: [...d.ipv4, ...d.ipv6] }));
  if (node.kind === 'bridge') {
    devices.push({ name: BRIDGE_DEVICE, cidrs: [...(node.bridgeIpv4 ?? []), ...(node.bridgeIpv6 ?? [])] });
  }
  return devices;
}

/** What of a node can carry a gateway address: its link interfaces, or a bridge node's br0 (the node stands for it). */
function gatewayInterfaces(
  node: ResolvedNode,
): { name: string; ipv4: string[]; ipv6: string[]; holder: Holder }[] {
  if (node.kind !== 'bridge')
    return node.interfaces.map((i) => ({ name: i.name, ipv4: i.ipv4, ipv6: i.ipv6, holder: i }));
  return [{ name: BRIDGE_DEVICE, ipv4: node.bridgeIpv4 ?? [], ipv6: node.bridgeIpv6 ?? [], holder: node }];
}

const familyName = (f: Family) => `IPv${f}`;
const hostLen = (f: Family) => (f === 4 ? 32 : 128);

/**
 * Resolves the routes written in the file, node by node (`ip route add DST [via GW] [dev DEV]`): fills `dev` from
 * the connected subnet of the gateway, and turns names into addresses:
 * - `via: r2` is r2's address on the one link or LAN it shares with the node, `via: r2:e21` the address of r2's
 *   interface e21 (which must be on one of the node's links or LANs); with `dst: default`, one default route per
 *   family that address exists in.
 * - `dst: h3` is one host route (/32, /128) to each address of h3 that is not on a subnet connected to the node
 *   (those it reaches directly), in the gateway's family when there is one. Host routes, not h3's subnets: a
 *   route to h3 reaches h3, and does not claim the other hosts of a LAN h3 is on.
 * - `dst: 0.0.0.0/0` and `::/0` are `default`.
 * A destination written twice in one table is a problem (the kernel, and nslab, keep one route per destination
 * and table).
 */
export function resolveRoutes(ctx: Context, lab: ResolvedLab, segments: Segment[]): void {
  // Built on the first gateway written as a name: most files have none.
  let index: Map<Holder, number> | undefined;
  const where: Where = {
    segmentOf(h) {
      if (!index) {
        const built = new Map<Holder, number>();
        segments.forEach((seg, s) => {
          for (const m of seg.members) built.set(m, s);
          for (const b of seg.bridges) built.set(ctx.nodes.get(b)!, s);
        });
        index = built;
      }
      return index.get(h);
    },
  };
  for (const node of lab.nodes) {
    const written = ctx.specNodes.get(node.name)?.routes ?? [];
    const resolved = written.map((r, i) => resolveRoute(ctx, where, node, r, i));
    checkDuplicateDestinations(ctx, node, resolved);
    node.routes = resolved.flat();
  }
}

/** Gateway addresses by family: the one written, or the named node's address on the segment shared with `node`. */
function gatewaysOf(
  ctx: Context,
  where: Where,
  node: ResolvedNode,
  via: string,
  path: SpecPath,
  i: number,
): Map<Family, string> | undefined {
  if (isAddress(via)) return new Map([[addressFamily(via), canonicalAddress(via)]]);
  const fail = (message: string) => {
    ctx.fail([...path, 'via'], `route ${i + 1} of node '${node.name}' ${message}`);
    return undefined;
  };
  const colon = via.indexOf(':');
  const [peerName, ifaceName] = colon < 0 ? [via, undefined] : [via.slice(0, colon), via.slice(colon + 1)];
  if (peerName === node.name) return fail(`goes via '${via}', the node itself: a gateway is a neighbour`);
  const peer = ctx.nodes.get(peerName);
  if (!peer) {
    if (ctx.ghosts.has(peerName)) return undefined;
    return fail(
      `goes via '${via}', but '${peerName}' is neither an address nor a node of the lab${didYouMean(peerName, ctx.nodes.keys())}`,
    );
  }
  const own = new Set(
    [...node.interfaces, node].map((h) => where.segmentOf(h)).filter((s) => s !== undefined),
  );
  const candidates = gatewayInterfaces(peer);
  let chosen: (typeof candidates)[number] | undefined;
  if (ifaceName !== undefined) {
    chosen = candidates.find((c) => c.name === ifaceName);
    if (!chosen) {
      const names = candidates.map((c) => c.name);
      return fail(
        `goes via '${via}', but node '${peerName}' has no interface '${ifaceName}'${didYouMean(ifaceName, names)}`,
      );
    }
    if (!own.has(where.segmentOf(chosen.holder)!)) {
      if (ctx.partial) return undefined;
      return fail(
        `goes via '${via}', which is on no link or LAN of node '${node.name}': a gateway is a neighbour`,
      );
    }
  } else {
    const shared = candidates.filter((c) => own.has(where.segmentOf(c.holder)!));
    const segs = new Set(shared.map((c) => where.segmentOf(c.holder)));
    if (segs.size === 0) {
      if (ctx.partial) return undefined;
      return fail(`goes via '${via}', but node '${node.name}' shares no link or LAN with '${peerName}'`);
    }
    if (segs.size > 1) {
      const options = shared.map((c) => `'${peerName}:${c.name}'`).join(' or ');
      return fail(
        `goes via '${via}', but node '${node.name}' shares ${segs.size} links or LANs with '${peerName}': say which, ${options}`,
      );
    }
    chosen = shared[0];
  }
  const gateways = new Map<Family, string>();
  for (const [family, list] of [
    [4, chosen.ipv4],
    [6, chosen.ipv6],
  ] as const) {
    if (list.length > 0) gateways.set(family, parseCidr(list[0])!.address);
  }
  if (gateways.size === 0) {
    if (ctx.partial) return undefined;
    return fail(`goes via '${via}', but ${peerName}:${chosen.name} has no address to be a gateway with`);
  }
  return gateways;
}

/** Destinations of route `i` by family: the network written, `default`, or a node's addresses as host routes. */
function destinationsOf(
  ctx: Context,
  node: ResolvedNode,
  r: TopologyRouteSpec,
  families: Family[],
  path: SpecPath,
  i: number,
): { family: Family; dst: string }[] {
  const dflt = { 4: '0.0.0.0/0', 6: '::/0' } as const;
  if (r.dst === 'default') return families.map((family) => ({ family, dst: dflt[family] }));
  if (r.dst.includes('/')) {
    const c = parseCidr(r.dst)!;
    return [{ family: c.family, dst: c.network }];
  }
  const fail = (message: string) => {
    ctx.fail([...path, 'dst'], `route ${i + 1} of node '${node.name}' ${message}`);
    return [];
  };
  const target = ctx.nodes.get(r.dst);
  if (!target) {
    if (ctx.ghosts.has(r.dst)) return [];
    return fail(
      `goes to '${r.dst}', which is neither a network nor a node of the lab${didYouMean(r.dst, ctx.nodes.keys())}`,
    );
  }
  if (target === node) return fail(`goes to '${r.dst}', the node itself`);
  const connected = devicesOf(node).flatMap((d) => d.cidrs);
  const addresses = devicesOf(target)
    .flatMap((d) => d.cidrs)
    .map((c) => parseCidr(c)!)
    .filter((c) => families.includes(c.family));
  const routed = addresses.filter((c) => !connected.some((own) => prefixContains(own, c.address)));
  if (routed.length === 0 && !ctx.partial) {
    const which = families.length === 1 ? `${familyName(families[0])} ` : '';
    return fail(
      addresses.length === 0
        ? `goes to node '${r.dst}', which has no ${which}address`
        : `goes to node '${r.dst}', whose every ${which}address is on a subnet of '${node.name}': it is reached directly, without a route`,
    );
  }
  return routed.map((c) => ({ family: c.family, dst: `${c.address}/${hostLen(c.family)}` }));
}

/** Route `i` of the node as written, as one route per destination and family; [] when it is wrong. */
function resolveRoute(
  ctx: Context,
  where: Where,
  node: ResolvedNode,
  r: TopologyRouteSpec,
  i: number,
): ResolvedRoute[] {
  const path = ['topology', 'nodes', node.name, 'routes', i];
  const devices = devicesOf(node);
  if (r.dev !== undefined && r.dev !== 'lo' && !devices.some((d) => d.name === r.dev)) {
    if (ctx.partial) return [];
    const hint = didYouMean(
      r.dev,
      devices.map((d) => d.name),
    );
    ctx.fail(
      [...path, 'dev'],
      `route ${i + 1} of node '${node.name}' goes out of '${r.dev}', which is not an interface of node '${node.name}'${hint}`,
    );
    return [];
  }
  let gateways: Map<Family, string> | undefined;
  if (r.via !== undefined) {
    gateways = gatewaysOf(ctx, where, node, r.via, path, i);
    if (!gateways) return [];
  }
  // The families of the gateway (a node's address may be in both), or of a route without one.
  const families: Family[] = gateways ? [...gateways.keys()] : r.dst === 'default' ? [4] : [4, 6];
  const routes: ResolvedRoute[] = [];
  for (const { family, dst } of destinationsOf(ctx, node, r, families, path, i)) {
    const route: ResolvedRoute = { dst, family, pos: ctx.locate(path) };
    if (gateways) {
      const via = gateways.get(family);
      if (via === undefined) {
        const [other] = [...gateways.values()];
        const mismatch = `is IPv${family === 4 ? 6 : 4} but the destination is IPv${family}`;
        const named = isAddress(r.via!) ? '' : ` (${r.via}'s address)`;
        ctx.fail(
          [...path, 'via'],
          `gateway ${other}${named} of the route to ${dst} in node '${node.name}' ${mismatch}`,
        );
        continue;
      }
      const candidates = devices.filter((d) => r.dev === undefined || d.name === r.dev);
      const onLink = candidates.find((d) => d.cidrs.some((c) => prefixContains(c, via)));
      if (!onLink) {
        if (ctx.partial) continue;
        const subnets = new Set(
          candidates.flatMap((d) => d.cidrs.map((c) => parseCidr(c)!).filter((c) => c.family === family)),
        );
        const known = subnets.size
          ? `its subnets: ${[...new Set([...subnets].map((c) => c.network))].join(', ')}`
          : `it has no IPv${family} address`;
        const through = r.dev ? ` through ${r.dev}` : '';
        ctx.fail(
          [...path, 'via'],
          `gateway ${via} of the route to ${dst} is on no subnet connected to node '${node.name}'${through} (${known})`,
        );
        continue;
      }
      route.via = via;
      route.dev = onLink.name;
    } else if (r.dev !== undefined) {
      route.dev = r.dev;
    } else {
      ctx.fail(path, `route ${i + 1} of node '${node.name}' needs 'via' (a gateway) or 'dev' (an interface)`);
      return [];
    }
    if (r.metric !== undefined) route.metric = r.metric;
    if (r.table !== undefined) route.table = r.table;
    routes.push(route);
  }
  return routes;
}

/** One route per destination and table: a second one is refused, at its `dst`, naming the line of the first. */
function checkDuplicateDestinations(ctx: Context, node: ResolvedNode, resolved: ResolvedRoute[][]): void {
  const first = new Map<string, number>();
  resolved.forEach((routes, i) => {
    for (const r of routes) {
      const key = `${r.table ?? 254}|${r.dst}`;
      const before = first.get(key);
      if (before === undefined) {
        first.set(key, i);
        continue;
      }
      const table = r.table === undefined ? 'the main table' : `table ${r.table}`;
      const dst = /\/0$/.test(r.dst) ? `default (${r.dst})` : r.dst;
      const line = ctx.locate(['topology', 'nodes', node.name, 'routes', before]).line;
      ctx.fail(
        ['topology', 'nodes', node.name, 'routes', i, 'dst'],
        `route ${i + 1} of node '${node.name}' goes to ${dst} in ${table}, as route ${before + 1} (line ${line}) does: the kernel keeps one route per destination and table`,
      );
      return;
    }
  });
}
