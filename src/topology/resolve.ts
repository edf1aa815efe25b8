import { autoAddress } from './addressing.js';
import { type Context, FAMILIES, FAMILY_KEY, type ResolveOptions, writtenAddress } from './context.js';
import { didYouMean, type Problem, TopologyError } from './errors.js';
import { addExternalRouting } from './external.js';
import { resolveFaults } from './faults.js';
import { addressFamily, canonicalAddress, canonicalCidr, isAddress } from './ip.js';
import { netnsNameProblem, shortName } from './names.js';
import { resolveSoftware } from './processes.js';
import { resolveRoutes } from './routes.js';
import { addAutoRoutes } from './routing.js';
import type { TopologyEndpointSpec, TopologyFile, TopologyLinkSpec, TopologyNodeSpec } from './schema.js';
import { segmentsOf } from './segments.js';
import { checkAddressPlan, checkUniqueAddresses } from './subnets.js';
import {
  BRIDGE_DEVICE,
  type Expectation,
  type ResolvedInterface,
  type ResolvedLab,
  type ResolvedLink,
  type ResolvedNode,
} from './types.js';
import type { Locate, SpecPath } from './yaml.js';

export type { ResolveOptions } from './context.js';
export type { Locate, SpecPath } from './yaml.js';

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
 * Turns a schema-valid topology file into a `ResolvedLab`: applies `topology.defaults` and `topology.kinds`
 * (node values win over those of its kind, which win over defaults; neither touches the host node), forms
 * namespace names (`prefix` + node name; null for `host`), builds the interfaces of every link (bridge-node ends
 * become ports of `br0`), checks the address plan (see `checkAddressPlan`), allocates addresses left out of the
 * file (see `autoAddress`), resolves written routes (see `resolveRoutes`), computes `routing: auto` routes and
 * sysctls (see `addAutoRoutes`), and checks everything that relates several places of the file. A link endpoint
 * on `host` declares the host node when the file does not. Top-level `routing` applies to the host node too;
 * `topology.defaults.routing` does not. Pure: no I/O.
 *
 * @throws TopologyError listing every problem found, each at the position `locate` gives for it.
 */
export function resolveTopology(spec: TopologyFile, locate: Locate, file?: string): ResolvedLab {
  const { lab, problems } = resolveLab(spec, locate, file);
  if (problems.length > 0) throw new TopologyError(problems);
  return lab;
}

/** `resolveTopology` without the throw: the lab as far as it resolves, and every problem found, in file order. */
export function resolveLab(
  spec: TopologyFile,
  locate: Locate,
  file?: string,
  opts: ResolveOptions = {},
): { lab: ResolvedLab; problems: Problem[] } {
  const problems: Problem[] = [];
  const ctx: Context = {
    spec,
    specNodes: new Map(Object.entries(spec.topology.nodes).map(([name, n]) => [name, n ?? {}])),
    defaults: spec.topology.defaults ?? {},
    kinds: new Map(Object.entries(spec.topology.kinds ?? {}).map(([k, v]) => [k, v ?? {}])),
    locate,
    fail: (path, message, key = false) => problems.push({ pos: locate(path, key), message }),
    problems,
    nodes: new Map(),
    written: [],
    writtenLinks: { 4: new Set(), 6: new Set() },
    interfacePaths: new Map(),
    ghosts: opts.ghosts ?? new Set(),
    partial: opts.partial ?? false,
  };
  for (const kind of ctx.kinds.keys()) {
    if (kind === 'netns' || kind === 'linux' || kind === 'bridge') continue;
    ctx.fail(
      ['topology', 'kinds', kind],
      `kind '${kind}' of topology.kinds is not a kind nslab has: 'netns' and 'linux' (a namespace) and 'bridge'; containerlab's other kinds are container images, and nslab runs no containers`,
      true,
    );
  }
  for (const [name, n] of ctx.specNodes) ctx.nodes.set(name, resolveNode(ctx, name, n));
  const links = (spec.topology.links ?? []).map((link, i) => resolveLink(ctx, link, i));
  const lab: ResolvedLab = {
    name: spec.name,
    prefix: spec.prefix ?? '',
    ...(file !== undefined && { file }),
    nodes: [...ctx.nodes.values()],
    links,
    expect: [],
    ...(spec.routing !== undefined && { routing: spec.routing }),
    ...(spec.private !== undefined && { private: spec.private }),
  };
  const segments = segmentsOf(lab);
  const duplicates = checkUniqueAddresses(ctx);
  if (!ctx.partial) checkAddressPlan(ctx, segments, duplicates);
  autoAddress(ctx, segments);
  resolveRoutes(ctx, lab, segments);
  if (problems.length === 0) {
    addAutoRoutes(lab, segments, (name) => locate(routingPath(ctx, name)));
    addExternalRouting(lab, segments);
  }
  lab.expect = (spec.expect ?? []).flatMap((_, i) => resolveExpectation(ctx, i));
  resolveFaults(spec, lab, locate, ctx.fail);
  problems.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
  return { lab, problems };
}

/** The sysctls of a node, later lists winning, values as strings (true is "1", false is "0"). */
function sysctlsOf(
  ...lists: (Record<string, string | number | boolean> | undefined)[]
): Record<string, string> {
  const sysctls: Record<string, string> = {};
  for (const list of lists) {
    if (!list) continue;
    for (const key in list) {
      const v = list[key];
      sysctls[key] = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    }
  }
  return sysctls;
}

function resolveNode(ctx: Context, name: string, n: TopologyNodeSpec): ResolvedNode {
  const path = ['topology', 'nodes', name];
  const isHost = name === 'host';
  const written = n.kind ?? (isHost ? 'host' : (ctx.defaults.kind ?? 'netns'));
  const kind = written === 'linux' ? 'netns' : written;
  if (isHost && kind !== 'host') {
    ctx.fail(
      [...path, 'kind'],
      `the node name 'host' is reserved for the host namespace; it cannot be kind ${written}`,
    );
  } else if (!isHost && kind === 'host') {
    ctx.fail(
      [...path, 'kind'],
      `only the node named 'host' can be kind host (the namespace nslab runs from)`,
    );
  }
  // The host takes nothing from defaults or kinds: they are for the namespaces the lab makes.
  const d = isHost ? {} : ctx.defaults;
  const k = isHost ? {} : (ctx.kinds.get(written) ?? {});
  const netns = isHost ? null : (ctx.spec.prefix ?? '') + name;
  const netnsProblem = netns === null ? undefined : netnsNameProblem(netns);
  if (netnsProblem)
    ctx.fail(path, `the namespace name of node '${shortName(name)}' (prefix + name) ${netnsProblem}`, true);
  const node: ResolvedNode = {
    name,
    kind,
    netns,
    sysctls: sysctlsOf(d.sysctls, k.sysctls, n.sysctls),
    routes: [],
    exec: [],
    interfaces: [],
    pos: ctx.locate(path, true),
  };
  const execs = n.exec ?? k.exec ?? d.exec ?? [];
  node.exec = execs.map((e) => (typeof e === 'string' ? e : e.command));
  if (execs.some((e) => typeof e !== 'string' && e.timeout !== undefined))
    node.execTimeouts = execs.map((e) => (typeof e === 'string' ? null : (e.timeout ?? null)));
  const routing = n.routing ?? k.routing ?? d.routing ?? ctx.spec.routing;
  if (routing === 'auto' && kind !== 'bridge') node.autoRouting = true;
  if (routing === 'external' && kind !== 'bridge') {
    node.externalRouting = true;
    // Routes written for a node whose daemon installs them would fight it: nslab installs none there.
    if (n.routes !== undefined && n.routes.length > 0)
      ctx.fail(
        [...path, 'routes'],
        `node '${name}' has routing: external (a routing daemon installs its routes), so nslab installs none of its 'routes': remove them, or give the node routing: static`,
        true,
      );
  }
  const kindPath = ['topology', 'kinds', written];
  resolveSoftware(
    node,
    {
      node: n,
      kind: k,
      defaults: d,
      paths: { node: path, kind: kindPath, defaults: ['topology', 'defaults'] },
    },
    ctx.fail,
  );
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
    list.forEach((cidr, i) => {
      ctx.written.push(writtenAddress(cidr, [...path, key, i], `bridge '${name}'`, node));
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
    pos: ctx.locate(path),
  };
  // Set afterwards, not spread in: an object literal with a spread takes V8's slow path.
  if (mtu !== undefined) resolved.mtu = mtu;
  let known = true;
  for (let j = 0; j < ends.length; j++) {
    const e = ends[j];
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
    if (ctx.ghosts.has(e.node)) continue;
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
  // An interface name taken twice on a node: the link is reported and left out, so that what is checked
  // later (segments, the address plan) never mistakes one interface for the other.
  let taken = false;
  // Maps of names, not one of `node + name` strings: a concatenated string is copied each time it is hashed.
  const names = ends.map((e) => {
    let m = ctx.interfacePaths.get(e.node);
    if (!m) {
      m = new Map();
      ctx.interfacePaths.set(e.node, m);
    }
    return m;
  });
  ends.forEach((e, j) => {
    const previous = names[j].get(e.name);
    if (previous === undefined) return;
    taken = true;
    const line = ctx.locate(previous).line;
    ctx.fail(e.namePath, `node '${e.node}' already has an interface named '${e.name}' (line ${line})`);
  });
  if (taken) return resolved;
  ends.forEach((e, j) => {
    names[j].set(e.name, e.namePath);
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
  const e = ends[j];
  const peer = ends[1 - j];
  const node = ctx.nodes.get(e.node)!;
  if (e.name === 'lo' || (node.kind === 'bridge' && e.name === BRIDGE_DEVICE)) {
    const owner =
      e.name === 'lo' ? 'the loopback device of every namespace' : `the bridge device of node '${e.node}'`;
    ctx.fail(e.namePath, `interface name '${e.name}' is taken by ${owner}`);
  }

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
    if (addrs.length === 0) continue;
    const owner = `${e.node}:${e.name}`;
    // map, not push: an array filled by push keeps room for 16 more, twice the memory of a big lab.
    iface[k] = addrs.map((a) => {
      ctx.written.push(writtenAddress(a.cidr, a.path, owner, iface));
      return canonicalCidr(a.cidr);
    });
  }
  if (e.spec?.mac) iface.mac = e.spec.mac.toLowerCase();
  const mtu = e.spec?.mtu ?? link.mtu ?? ctx.defaults.mtu;
  if (mtu !== undefined) iface.mtu = mtu;
  if (node.kind === 'bridge') iface.master = BRIDGE_DEVICE;
  return iface;
}

/** Where the `routing: auto` that applies to a node is written, for the `pos` of its computed routes. */
function routingPath(ctx: Context, name: string): SpecPath {
  if (ctx.specNodes.get(name)?.routing !== undefined) return ['topology', 'nodes', name, 'routing'];
  if (name !== 'host') {
    const kind = ctx.specNodes.get(name)?.kind ?? ctx.defaults.kind ?? 'netns';
    if (ctx.kinds.get(kind)?.routing !== undefined) return ['topology', 'kinds', kind, 'routing'];
    if (ctx.defaults.routing !== undefined) return ['topology', 'defaults', 'routing'];
  }
  return ['routing'];
}

/** Expectation `i` with its `to` address in canonical form; [] when it names no node or address. */
function resolveExpectation(ctx: Context, i: number): Expectation[] {
  const x = ctx.spec.expect![i];
  const path = ['expect', i];
  const nodes = ctx.nodes;
  let ok = nodes.has(x.from);
  if (!ok && !ctx.ghosts.has(x.from)) {
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
    if (!ctx.ghosts.has(x.to)) {
      ctx.fail(
        [...path, 'to'],
        `expectation ${i + 1} goes to '${x.to}', which is neither a node of the lab nor an address${hint}`,
      );
    }
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
