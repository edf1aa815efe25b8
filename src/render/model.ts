// The same rules as `nslab status`, so that the picture and the status agree on what drifted.
import { isIpv6LinkLocal, sameRoute } from '../plan/common.js';
import type { ObservedNamespace, ObservedState } from '../plan/types.js';
import { canonicalCidr, parseCidr, prefixContains } from '../topology/ip.js';
import { BRIDGE_DEVICE, type NodeKind, type ResolvedLab, type ResolvedNode } from '../topology/types.js';

/** Layout engine for the Graphviz picture; `auto` picks `dot` for small labs and `neato` for large ones. */
export type RenderLayout = 'auto' | 'dot' | 'neato' | 'sfdp';

export interface RenderOptions {
  /** Show each node's routes (`ip route`) and forwarding state (`net.ipv4.ip_forward`) in its box. */
  routes?: boolean;
  /**
   * Live state read from the kernel: links that are down or missing are drawn red and dashed, addresses,
   * routes and sysctls that differ from the file orange, with a legend.
   */
  observed?: ObservedState;
  /** Graphviz layout engine (default `auto`). */
  layout?: RenderLayout;
  /** Title drawn above the picture (default: the lab name). */
  title?: string;
}

/** State of an interface, link or node as seen against the kernel; `ok` also when nothing was observed. */
export type LiveState = 'ok' | 'down' | 'missing';
/** State of an address, route or sysctl against the file: `missing` in the kernel, or `extra` (kernel only). */
export type DriftState = 'ok' | 'missing' | 'extra';

export interface AddrView {
  /** `address/prefixlen` */
  cidr: string;
  drift: DriftState;
}

export interface IfaceView {
  name: string;
  addrs: AddrView[];
  state: LiveState;
  /** For ports of a bridge: the observed master differs from `br0`. */
  masterDrift?: string;
  /** Index of the link the interface is one end of. */
  link: number;
}

export interface RouteView {
  /** `ip route` style text: `10.1.20.0/24 via 10.1.10.1 dev veth12`. */
  text: string;
  drift: DriftState;
  /** Computed by `routing: auto` rather than written in the file. */
  auto?: boolean;
}

export interface ForwardingView {
  family: 4 | 6;
  /** Sysctl key: `net.ipv4.ip_forward` or `net.ipv6.conf.all.forwarding`. */
  key: string;
  /** `on`/`off`, or `unset` when the file does not say and nothing was observed (host only). */
  value: 'on' | 'off' | 'unset';
  /** True when the observed value differs from the one the file sets. */
  drift: boolean;
  /** Value the file sets, when it sets one. */
  want?: 'on' | 'off';
}

export interface NodeView {
  name: string;
  kind: NodeKind;
  netns: string | null;
  ifaces: IfaceView[];
  routes: RouteView[];
  forwarding: ForwardingView[];
  /** Addresses on the bridge device itself (`kind: bridge` only). */
  bridgeAddrs: AddrView[];
  /** Networks on the node's links (for a bridge: the LAN it switches). */
  subnets: string[];
  state: LiveState;
}

export interface EdgeView {
  link: number;
  a: { node: string; iface: string };
  b: { node: string; iface: string };
  /** Networks the two ends are on (`10.1.10.0/24`), IPv4 first; empty for a link without addresses. */
  subnets: string[];
  state: LiveState;
}

/** Everything a renderer draws, in a form independent of the output language. */
export interface LabView {
  name: string;
  title: string;
  nodes: NodeView[];
  edges: EdgeView[];
  /** True when `observed` was given, so the picture carries live marking and a legend. */
  live: boolean;
  routes: boolean;
}

const FORWARDING_KEYS: { family: 4 | 6; key: string }[] = [
  { family: 4, key: 'net.ipv4.ip_forward' },
  { family: 6, key: 'net.ipv6.conf.all.forwarding' },
];

function isMulticast(cidr: string): boolean {
  const addr = cidr.split('/')[0];
  return prefixContains('ff00::/8', addr) || prefixContains('224.0.0.0/4', addr);
}

/** `ip route` style text of a route. */
export function routeText(r: {
  dst: string;
  via?: string;
  dev?: string;
  metric?: number;
  table?: number;
}): string {
  const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst;
  let text = dst;
  if (r.via) text += ` via ${r.via}`;
  if (r.dev) text += ` dev ${r.dev}`;
  if (r.metric !== undefined) text += ` metric ${r.metric}`;
  if (r.table !== undefined && r.table !== 254) text += ` table ${r.table}`;
  return text;
}

function observedFor(node: ResolvedNode, observed: ObservedState | undefined): ObservedNamespace | undefined {
  return observed?.nodes[node.name];
}

/**
 * Whether a node exists in the kernel: the host always does; a namespace does when `ip netns list` names it
 * or its state was read.
 */
function nodeState(node: ResolvedNode, observed: ObservedState | undefined): LiveState {
  if (!observed || node.kind === 'host') return 'ok';
  if (observed.nodes[node.name]) return 'ok';
  if (node.netns && observed.namespaces.includes(node.netns)) return 'ok';
  return 'missing';
}

function addrViews(
  wanted: string[],
  dev: string,
  obs: ObservedNamespace | undefined,
  checkable: boolean,
): AddrView[] {
  const views: AddrView[] = wanted.map((cidr) => ({ cidr, drift: 'ok' }));
  if (!obs || !checkable) return views;
  const have = obs.addrs.filter((a) => a.dev === dev).map((a) => canonicalCidr(a.cidr));
  const want = new Set(wanted.map(canonicalCidr));
  for (const v of views) if (!have.includes(canonicalCidr(v.cidr))) v.drift = 'missing';
  for (const cidr of have) {
    if (!want.has(cidr) && !isIpv6LinkLocal(cidr)) views.push({ cidr, drift: 'extra' });
  }
  return views;
}

function routeViews(node: ResolvedNode, obs: ObservedNamespace | undefined): RouteView[] {
  const views: RouteView[] = node.routes.map((r) => ({
    text: routeText(r),
    drift: obs && !obs.routes.some((o) => sameRoute(r, o)) ? 'missing' : 'ok',
    ...(r.auto ? { auto: true } : {}),
  }));
  // The host namespace carries the machine's own routes, which are not the lab's business.
  if (obs && node.kind !== 'host') {
    for (const o of obs.routes) {
      if (o.protocol === 'kernel' || isIpv6LinkLocal(o.dst) || isMulticast(o.dst)) continue;
      if (node.routes.some((r) => sameRoute(r, o))) continue;
      views.push({ text: routeText(o), drift: 'extra' });
    }
  }
  return views;
}

function forwardingViews(node: ResolvedNode, obs: ObservedNamespace | undefined): ForwardingView[] {
  const hasV6 = node.interfaces.some((i) => i.ipv6.length > 0) || node.routes.some((r) => r.family === 6);
  const views: ForwardingView[] = [];
  for (const { family, key } of FORWARDING_KEYS) {
    const want = node.sysctls[key];
    const seen = obs?.sysctls[key];
    if (family === 6 && !hasV6 && want === undefined && seen === undefined) continue;
    const toValue = (v: string): 'on' | 'off' => (v !== '0' ? 'on' : 'off');
    let value: ForwardingView['value'];
    if (seen !== undefined) value = toValue(seen);
    else if (want !== undefined) value = toValue(want);
    // A new namespace starts with forwarding off; the host's value is whatever the machine has.
    else value = node.kind === 'host' ? 'unset' : 'off';
    const drift = seen !== undefined && want !== undefined && toValue(seen) !== toValue(want);
    views.push({ family, key, value, drift, ...(want !== undefined ? { want: toValue(want) } : {}) });
  }
  return views;
}

/** Networks an interface pair is on, IPv4 first, without repeats. */
function subnetsOf(addrs: string[]): string[] {
  const nets: { family: number; net: string }[] = [];
  for (const a of addrs) {
    const c = parseCidr(a);
    if (c && !nets.some((n) => n.net === c.network)) nets.push({ family: c.family, net: c.network });
  }
  return nets.sort((x, y) => x.family - y.family).map((n) => n.net);
}

/**
 * Builds the view every renderer draws: per node its interfaces with addresses, routes and forwarding state,
 * per link one edge with its subnet, and, when `opts.observed` is given, how the kernel differs from the file
 * (interfaces down or missing as in `ip link`, addresses as in `ip addr`, routes as in `ip route`).
 */
export function buildView(lab: ResolvedLab, opts: RenderOptions = {}): LabView {
  const observed = opts.observed;
  const nodes: NodeView[] = lab.nodes.map((node) => {
    const state = nodeState(node, observed);
    const obs = observedFor(node, observed);
    const ifaces: IfaceView[] = node.interfaces.map((iface) => {
      let ifState: LiveState = 'ok';
      let masterDrift: string | undefined;
      if (observed) {
        if (state === 'missing') ifState = 'missing';
        else if (obs) {
          const link = obs.links.find((l) => l.name === iface.name);
          if (!link) ifState = 'missing';
          else if (!link.up) ifState = 'down';
          if (link && iface.master && link.master !== iface.master) masterDrift = link.master ?? 'none';
        }
      }
      return {
        name: iface.name,
        addrs: addrViews([...iface.ipv4, ...iface.ipv6], iface.name, obs, ifState !== 'missing'),
        state: ifState,
        masterDrift,
        link: iface.link,
      };
    });
    const bridgeAddrs =
      node.kind === 'bridge'
        ? addrViews(
            [...(node.bridgeIpv4 ?? []), ...(node.bridgeIpv6 ?? [])],
            BRIDGE_DEVICE,
            obs,
            state !== 'missing',
          )
        : [];
    return {
      name: node.name,
      kind: node.kind,
      netns: node.netns,
      ifaces,
      routes: node.kind === 'bridge' ? [] : routeViews(node, obs),
      forwarding: node.kind === 'bridge' ? [] : forwardingViews(node, obs),
      bridgeAddrs,
      subnets: [],
      state,
    };
  });

  const ifaceOf = (node: string, name: string): IfaceView | undefined =>
    nodes.find((n) => n.name === node)?.ifaces.find((i) => i.name === name);
  const addrsOf = (node: string, name: string): string[] => {
    const n = lab.nodes.find((x) => x.name === node);
    const i = n?.interfaces.find((x) => x.name === name);
    return i ? [...i.ipv4, ...i.ipv6] : [];
  };

  const edges: EdgeView[] = lab.links.map((link) => {
    const [a, b] = link.endpoints;
    const states = [ifaceOf(a.node, a.interface)?.state, ifaceOf(b.node, b.interface)?.state];
    const state: LiveState = states.includes('missing') ? 'missing' : states.includes('down') ? 'down' : 'ok';
    return {
      link: link.index,
      a: { node: a.node, iface: a.interface },
      b: { node: b.node, iface: b.interface },
      subnets: subnetsOf([...addrsOf(a.node, a.interface), ...addrsOf(b.node, b.interface)]),
      state,
    };
  });

  for (const node of nodes) {
    const touching = edges.filter((e) => e.a.node === node.name || e.b.node === node.name);
    node.subnets = [...new Set(touching.flatMap((e) => e.subnets))];
  }

  return {
    name: lab.name,
    title: opts.title ?? lab.name,
    nodes,
    edges,
    live: observed !== undefined,
    routes: opts.routes === true,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line saying what the lab holds: `2 namespaces + host, 2 links`. */
export function labSummary(view: LabView): string {
  const count = (kind: NodeKind): number => view.nodes.filter((n) => n.kind === kind).length;
  const parts = [plural(count('netns'), 'namespace')];
  if (count('bridge') > 0) parts.push(plural(count('bridge'), 'bridge'));
  const host = count('host') > 0 ? ' + host' : '';
  return `${parts.join(', ')}${host}, ${plural(view.edges.length, 'link')}`;
}
