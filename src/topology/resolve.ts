import { assignAddresses, DEFAULT_IPV4_POOL } from './addressing.js';
import { didYouMean, type Problem, TopologyError } from './errors.js';
import { resolveFaults } from './faults.js';
import {
  addressFamily,
  canonicalAddress,
  canonicalCidr,
  canonicalPrefix,
  isAddress,
  parseCidr,
  prefixContains,
} from './ip.js';
import { addAutoRoutes } from './routing.js';
import type { TopologyEndpointSpec, TopologyFile, TopologyLinkSpec, TopologyNodeSpec } from './schema.js';
import { interfaceKey, type Segment, segmentsOf } from './segments.js';
import {
  BRIDGE_DEVICE,
  type Expectation,
  type ResolvedInterface,
  type ResolvedLab,
  type ResolvedLink,
  type ResolvedNode,
  type ResolvedRoute,
  type SourcePos,
} from './types.js';

/** A place in a topology file as the keys and list indexes leading to it (`['topology', 'links', 0]`). */
export type SpecPath = (string | number)[];
/** Position of the value at `path` in the file, or of its key when `key` is true. */
export type Locate = (path: SpecPath, key?: boolean) => SourcePos;

type Family = 4 | 6;
const FAMILIES = [4, 6] as const;
const FAMILY_KEY = { 4: 'ipv4', 6: 'ipv6' } as const;

/** An address written in the file, with where it was written and whose it is (`host:veth11`). */
interface WrittenAddress {
  cidr: string;
  path: SpecPath;
  owner: string;
}

/** What the steps of the resolution share. */
interface Context {
  spec: TopologyFile;
  defaults: NonNullable<TopologyFile['topology']['defaults']>;
  locate: Locate;
  fail: (path: SpecPath, message: string, key?: boolean) => void;
  nodes: Map<string, ResolvedNode>;
  written: WrittenAddress[];
  /** Per family, the links whose addresses of that family are written in the file (even as `[]` or null). */
  writtenLinks: Record<Family, Set<number>>;
  /** Line where each interface (`interfaceKey`) was first declared. */
  interfaceLines: Map<string, number>;
}

/** One end of a link as written, either form (`node:iface` or a mapping) brought to one shape. */
interface End {
  node: string;
  name: string;
  path: SpecPath;
  nodePath: SpecPath;
  namePath: SpecPath;
  spec: Exclude<TopologyEndpointSpec, string> | undefined;
}

/**
 * Turns a schema-valid topology file into a `ResolvedLab`: applies `topology.defaults` (node and link values win;
 * defaults never touch the host node), forms namespace names (`prefix` + node name; null for `host`), builds the
 * interfaces of every link (bridge-node ends become ports of `br0`), allocates addresses left out of the file
 * (see `DEFAULT_IPV4_POOL`), fills the `dev` of written routes from their gateway, computes `routing: auto`
 * routes and sysctls (see `addAutoRoutes`), and checks everything that relates several places of the file.
 * A link endpoint on `host` declares the host node when the file does not. Top-level `routing` applies to the
 * host node too; `topology.defaults.routing` does not. Pure: no I/O.
 *
 * @throws TopologyError listing every problem found, each at the position `locate` gives for it.
 */
export function resolveTopology(spec: TopologyFile, locate: Locate, file?: string): ResolvedLab {
  const problems: Problem[] = [];
  const ctx: Context = {
    spec,
    defaults: spec.topology.defaults ?? {},
    locate,
    fail: (path, message, key = false) => problems.push({ pos: locate(path, key), message }),
    nodes: new Map(),
    written: [],
    writtenLinks: { 4: new Set(), 6: new Set() },
    interfaceLines: new Map(),
  };
  for (const [name, n] of Object.entries(spec.topology.nodes))
    ctx.nodes.set(name, resolveNode(ctx, name, n ?? {}));
  const links = (spec.topology.links ?? []).map((link, i) => resolveLink(ctx, link, i));
  checkUniqueAddresses(ctx);
  const lab: ResolvedLab = {
    name: spec.name,
    prefix: spec.prefix ?? '',
    ...(file !== undefined && { file }),
    nodes: [...ctx.nodes.values()],
    links,
    expect: [],
    ...(spec.routing !== undefined && { routing: spec.routing }),
  };
  const segments = segmentsOf(lab);
  autoAddress(ctx, segments);
  for (const node of lab.nodes) {
    node.routes = (spec.topology.nodes[node.name]?.routes ?? []).flatMap((_, i) =>
      resolveRoute(ctx, node, i),
    );
  }
  if (problems.length === 0) addAutoRoutes(lab, segments, (name) => locate(routingPath(ctx, name)));
  lab.expect = (spec.expect ?? []).flatMap((_, i) => resolveExpectation(ctx, i));
  resolveFaults(spec, lab, locate, ctx.fail);

  if (problems.length > 0) {
    problems.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
    throw new TopologyError(problems);
  }
  return lab;
}

function sysctlValue(v: string | number | boolean): string {
  return typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
}

function resolveNode(ctx: Context, name: string, n: TopologyNodeSpec): ResolvedNode {
  const path = ['topology', 'nodes', name];
  const isHost = name === 'host';
  const kind = n.kind ?? (isHost ? 'host' : (ctx.defaults.kind ?? 'netns'));
  if (isHost && kind !== 'host') {
    ctx.fail(
      [...path, 'kind'],
      `the node name 'host' is reserved for the host namespace; it cannot be kind ${kind}`,
    );
  } else if (!isHost && kind === 'host') {
    ctx.fail(
      [...path, 'kind'],
      `only the node named 'host' can be kind host (the namespace nslab runs from)`,
    );
  }
  const d = isHost ? {} : ctx.defaults;
  const node: ResolvedNode = {
    name,
    kind,
    netns: isHost ? null : (ctx.spec.prefix ?? '') + name,
    sysctls: Object.fromEntries(
      Object.entries({ ...d.sysctls, ...n.sysctls }).map(([k, v]) => [k, sysctlValue(v)]),
    ),
    routes: [],
    exec: [],
    interfaces: [],
    pos: ctx.locate(path, true),
  };
  const execs = n.exec ?? d.exec ?? [];
  node.exec = execs.map((e) => (typeof e === 'string' ? e : e.command));
  if (execs.some((e) => typeof e !== 'string' && e.timeout !== undefined))
    node.execTimeouts = execs.map((e) => (typeof e === 'string' ? null : (e.timeout ?? null)));
  if ((n.routing ?? d.routing ?? ctx.spec.routing) === 'auto' && kind !== 'bridge') node.autoRouting = true;
  for (const family of FAMILIES) {
    const key = FAMILY_KEY[family];
    const list = n[key];
    if (list === undefined) continue;
    if (kind !== 'bridge') {
      ctx.fail(
        [...path, key],
        `only bridge nodes take '${key}' (addresses of the bridge device); node '${name}' gets addresses on its links`,
        true,
      );
      continue;
    }
    node[family === 4 ? 'bridgeIpv4' : 'bridgeIpv6'] = list.map(canonicalCidr);
    list.forEach((cidr, k) => {
      ctx.written.push({ cidr, path: [...path, key, k], owner: `bridge '${name}'` });
    });
  }
  return node;
}

function endOf(spec: TopologyEndpointSpec, path: SpecPath): End {
  if (typeof spec === 'string') {
    const colon = spec.indexOf(':');
    const [node, name] = [spec.slice(0, colon), spec.slice(colon + 1)];
    return { node, name, path, nodePath: path, namePath: path, spec: undefined };
  }
  const [nodePath, namePath] = [
    [...path, 'node'],
    [...path, 'interface'],
  ];
  return { node: spec.node, name: spec.interface, path, nodePath, namePath, spec };
}

/** The link, and the interfaces of its two ends added to their nodes when both nodes exist and differ. */
function resolveLink(ctx: Context, link: TopologyLinkSpec, i: number): ResolvedLink {
  const path = ['topology', 'links', i];
  const ends = link.endpoints.map((e, j) => endOf(e, [...path, 'endpoints', j]));
  const mtu = link.mtu ?? ctx.defaults.mtu;
  const resolved: ResolvedLink = {
    index: i,
    endpoints: [
      { node: ends[0].node, interface: ends[0].name },
      { node: ends[1].node, interface: ends[1].name },
    ],
    ...(mtu !== undefined && { mtu }),
    pos: ctx.locate(path),
  };
  let known = true;
  for (const [j, e] of ends.entries()) {
    if (e.node === 'host' && !ctx.nodes.has('host')) {
      const pos = ctx.locate(e.path);
      ctx.nodes.set('host', {
        name: 'host',
        kind: 'host',
        netns: null,
        sysctls: {},
        routes: [],
        exec: [],
        interfaces: [],
        pos,
      });
    }
    if (ctx.nodes.has(e.node)) continue;
    known = false;
    const hint = didYouMean(e.node, ctx.nodes.keys());
    ctx.fail(
      e.nodePath,
      `endpoint ${j + 1} of link ${i + 1} names node '${e.node}', which is not declared under topology.nodes${hint}`,
    );
  }
  if (!known) return resolved;
  if (ends[0].node === ends[1].node) {
    ctx.fail(
      ends[1].nodePath,
      `link ${i + 1} connects node '${ends[0].node}' to itself; a link joins two different nodes`,
    );
    return resolved;
  }
  ends.forEach((e, j) => {
    ctx.nodes.get(e.node)!.interfaces.push(resolveEnd(ctx, link, i, ends, j));
  });
  return resolved;
}

/** The interface of end `j` of link `i`, with the addresses written for it (checked, and recorded in `ctx`). */
function resolveEnd(
  ctx: Context,
  link: TopologyLinkSpec,
  i: number,
  ends: End[],
  j: number,
): ResolvedInterface {
  const [e, peer] = [ends[j], ends[1 - j]];
  const node = ctx.nodes.get(e.node)!;
  if (e.name === 'lo' || (node.kind === 'bridge' && e.name === BRIDGE_DEVICE)) {
    const owner =
      e.name === 'lo' ? 'the loopback device of every namespace' : `the bridge device of node '${e.node}'`;
    ctx.fail(e.namePath, `interface name '${e.name}' is taken by ${owner}`);
  }
  const key = interfaceKey(e.node, e.name);
  const previous = ctx.interfaceLines.get(key);
  if (previous !== undefined) {
    ctx.fail(e.namePath, `node '${e.node}' already has an interface named '${e.name}' (line ${previous})`);
  } else ctx.interfaceLines.set(key, ctx.locate(e.namePath).line);

  const iface: ResolvedInterface = {
    node: e.node,
    name: e.name,
    ipv4: [],
    ipv6: [],
    link: i,
    peer: { node: peer.node, name: peer.name },
    pos: ctx.locate(e.path),
  };
  for (const family of FAMILIES) {
    const k = FAMILY_KEY[family];
    const onLink = link[k];
    const onEnd = e.spec?.[k];
    if (onLink !== undefined || onEnd !== undefined) ctx.writtenLinks[family].add(i);
    if (onLink !== undefined && onEnd !== undefined) {
      const twice = `endpoint ${j + 1} of link ${i + 1} has its ${k} addresses twice: in the link's '${k}' and in the endpoint`;
      ctx.fail([...e.path, k], twice, true);
    }
    let addrs: { cidr: string; path: SpecPath }[] = [];
    if (typeof onEnd === 'string') addrs = [{ cidr: onEnd, path: [...e.path, k] }];
    else if (onEnd) addrs = onEnd.map((cidr, n) => ({ cidr, path: [...e.path, k, n] }));
    else if (onLink?.[j]) addrs = [{ cidr: onLink[j], path: ['topology', 'links', i, k, j] }];
    if (node.kind === 'bridge' && addrs.length > 0) {
      ctx.fail(
        addrs[0].path,
        `endpoint ${j + 1} of link ${i + 1} is a port of bridge '${e.node}' and cannot have an address; give the bridge node its own '${k}' (for ${BRIDGE_DEVICE}) or address the other end`,
      );
      continue;
    }
    ctx.written.push(...addrs.map((a) => ({ ...a, owner: `${e.node}:${e.name}` })));
    iface[k] = addrs.map((a) => canonicalCidr(a.cidr));
  }
  if (e.spec?.mac) iface.mac = e.spec.mac.toLowerCase();
  const mtu = e.spec?.mtu ?? link.mtu ?? ctx.defaults.mtu;
  if (mtu !== undefined) iface.mtu = mtu;
  if (node.kind === 'bridge') iface.master = BRIDGE_DEVICE;
  return iface;
}

/** Every address at most once in the lab (whatever its prefix length). */
function checkUniqueAddresses(ctx: Context): void {
  const owners = new Map<string, WrittenAddress>();
  for (const a of ctx.written) {
    const address = parseCidr(a.cidr)!.address;
    const first = owners.get(address);
    if (!first) owners.set(address, a);
    else
      ctx.fail(
        a.path,
        `address ${address} is already used by ${first.owner} (line ${ctx.locate(first.path).line})`,
      );
  }
}

/** Addresses for the segments that have none of a family written, avoiding every prefix the file uses. */
function autoAddress(ctx: Context, segments: Segment[]): void {
  const reserved = [
    ...ctx.written.map((a) => parseCidr(a.cidr)!.network),
    ...Object.values(ctx.spec.topology.nodes).flatMap((n) =>
      (n?.routes ?? []).map((r) => r.dst).filter((dst) => dst !== 'default'),
    ),
  ];
  for (const family of FAMILIES) {
    const k = FAMILY_KEY[family];
    const given = ctx.defaults[`${k}-pool`];
    const pool = given ?? (family === 4 ? DEFAULT_IPV4_POOL : undefined);
    if (pool === undefined) continue;
    const written = (seg: Segment) =>
      seg.links.some((l) => ctx.writtenLinks[family].has(l)) ||
      seg.bridges.some((b) => ctx.spec.topology.nodes[b]?.[k] !== undefined);
    for (const seg of assignAddresses(segments, { family, pool, reserved, written })) {
      const where =
        given !== undefined ? ['topology', 'defaults', `${k}-pool`] : ['topology', 'links', seg.links[0]];
      ctx.fail(where, `the ${k} pool ${pool} has no room left for the addresses of link ${seg.links[0] + 1}`);
    }
  }
}

/** Route `i` of the node as written, with its `dev` found from the gateway; [] when it is wrong. */
function resolveRoute(ctx: Context, node: ResolvedNode, i: number): ResolvedRoute[] {
  const r = ctx.spec.topology.nodes[node.name]!.routes![i];
  const path = ['topology', 'nodes', node.name, 'routes', i];
  const family: Family = r.via ? addressFamily(r.via) : r.dst === 'default' ? 4 : parseCidr(r.dst)!.family;
  const dst = canonicalPrefix(r.dst, family)!;
  if (r.dst !== 'default' && parseCidr(r.dst)!.family !== family) {
    const mismatch = `is IPv${family} but the destination is IPv${family === 4 ? 6 : 4}`;
    ctx.fail([...path, 'via'], `gateway ${r.via} of the route to ${dst} in node '${node.name}' ${mismatch}`);
    return [];
  }
  const devices = node.interfaces.map((d) => ({ name: d.name, cidrs: [...d.ipv4, ...d.ipv6] }));
  if (node.kind === 'bridge') {
    devices.push({ name: BRIDGE_DEVICE, cidrs: [...(node.bridgeIpv4 ?? []), ...(node.bridgeIpv6 ?? [])] });
  }
  if (r.dev !== undefined && r.dev !== 'lo' && !devices.some((d) => d.name === r.dev)) {
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
  const route: ResolvedRoute = { dst, family, pos: ctx.locate(path) };
  if (r.via !== undefined) {
    const via = canonicalAddress(r.via);
    const candidates = devices.filter((d) => r.dev === undefined || d.name === r.dev);
    const onLink = candidates.find((d) => d.cidrs.some((c) => prefixContains(c, via)));
    if (!onLink) {
      const subnets = candidates.flatMap((d) =>
        d.cidrs.filter((c) => addressFamily(c.split('/')[0]) === family),
      );
      const known = subnets.length
        ? `its subnets: ${subnets.map((c) => parseCidr(c)!.network).join(', ')}`
        : `it has no IPv${family} address`;
      const through = r.dev ? ` through ${r.dev}` : '';
      ctx.fail(
        [...path, 'via'],
        `gateway ${via} of the route to ${dst} is on no subnet connected to node '${node.name}'${through} (${known})`,
      );
      return [];
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
  return [route];
}

/** Where the `routing: auto` that applies to a node is written, for the `pos` of its computed routes. */
function routingPath(ctx: Context, name: string): SpecPath {
  if (ctx.spec.topology.nodes[name]?.routing !== undefined) return ['topology', 'nodes', name, 'routing'];
  if (name !== 'host' && ctx.defaults.routing !== undefined) return ['topology', 'defaults', 'routing'];
  return ['routing'];
}

/** Expectation `i` with its `to` address in canonical form; [] when it names no node or address. */
function resolveExpectation(ctx: Context, i: number): Expectation[] {
  const x = ctx.spec.expect![i];
  const path = ['expect', i];
  const nodes = ctx.nodes;
  let ok = nodes.has(x.from);
  if (!ok) {
    const hint = didYouMean(x.from, nodes.keys());
    ctx.fail(
      [...path, 'from'],
      `expectation ${i + 1} starts from '${x.from}', which is not a node of the lab${hint}`,
    );
  }
  const toAddress = isAddress(x.to);
  if (!nodes.has(x.to) && !toAddress) {
    ok = false;
    const hint = didYouMean(x.to, nodes.keys());
    ctx.fail(
      [...path, 'to'],
      `expectation ${i + 1} goes to '${x.to}', which is neither a node of the lab nor an address${hint}`,
    );
  } else if (toAddress && x.family !== undefined && addressFamily(x.to) !== x.family) {
    ok = false;
    const wrong = `asks for IPv${x.family} but ${x.to} is an IPv${addressFamily(x.to)} address`;
    ctx.fail([...path, 'family'], `expectation ${i + 1} ${wrong}`);
  }
  if (!ok) return [];
  const to = toAddress ? canonicalAddress(x.to) : x.to;
  const e: Expectation = { from: x.from, to, reach: x.reach, pos: ctx.locate(path) };
  if (x.hops !== undefined) e.hops = x.hops;
  if (x.family !== undefined) e.family = x.family;
  return [e];
}
