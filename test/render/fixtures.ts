import type { ObservedNamespace, ObservedState } from '../../src/plan/types.js';
import { parseCidr } from '../../src/topology/ip.js';
import {
  BRIDGE_DEVICE,
  type NodeKind,
  type ResolvedInterface,
  type ResolvedLab,
  type ResolvedNode,
  type ResolvedRoute,
} from '../../src/topology/types.js';

/** Hand-built ResolvedLab values for the render tests (the topology loader is written separately). */

interface NodeSpec {
  name: string;
  kind?: NodeKind;
  sysctls?: Record<string, string>;
  routes?: { dst: string; via: string; dev?: string }[];
  bridgeIpv4?: string[];
}

/** One veth pair: `node:interface` at each end with the addresses it carries. */
interface LinkSpec {
  a: [string, string, ...string[]];
  b: [string, string, ...string[]];
}

/** Builds a consistent ResolvedLab: interfaces point at their link and peer, route devs are filled in. */
export function buildLab(
  name: string,
  nodeSpecs: NodeSpec[],
  linkSpecs: LinkSpec[],
  prefix = '',
): ResolvedLab {
  const nodes: ResolvedNode[] = nodeSpecs.map((n) => {
    const kind = n.kind ?? 'netns';
    return {
      name: n.name,
      kind,
      netns: kind === 'host' ? null : `${prefix}${n.name}`,
      sysctls: n.sysctls ?? {},
      routes: [],
      exec: [],
      interfaces: [],
      ...(n.bridgeIpv4 ? { bridgeIpv4: n.bridgeIpv4 } : {}),
    };
  });
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const links = linkSpecs.map((spec, index) => {
    const [an, ai, ...aAddrs] = spec.a;
    const [bn, bi, ...bAddrs] = spec.b;
    const make = (
      node: string,
      iface: string,
      addrs: string[],
      peer: { node: string; name: string },
    ): ResolvedInterface => {
      const owner = byName.get(node);
      if (!owner) throw new Error(`fixture: unknown node ${node}`);
      const i: ResolvedInterface = {
        node,
        name: iface,
        ipv4: addrs.filter((a) => parseCidr(a)?.family === 4),
        ipv6: addrs.filter((a) => parseCidr(a)?.family === 6),
        link: index,
        peer,
      };
      if (owner.kind === 'bridge') i.master = BRIDGE_DEVICE;
      owner.interfaces.push(i);
      return i;
    };
    make(an, ai, aAddrs, { node: bn, name: bi });
    make(bn, bi, bAddrs, { node: an, name: ai });
    return {
      index,
      endpoints: [
        { node: an, interface: ai },
        { node: bn, interface: bi },
      ] as [{ node: string; interface: string }, { node: string; interface: string }],
    };
  });
  for (const spec of nodeSpecs) {
    const node = byName.get(spec.name)!;
    node.routes = (spec.routes ?? []).map((r): ResolvedRoute => {
      const family = parseCidr(r.via)!.family;
      const dev =
        r.dev ?? node.interfaces.find((i) => [...i.ipv4, ...i.ipv6].some((a) => sameNet(a, r.via)))?.name;
      return { dst: parseCidr(r.dst)!.network, family, via: r.via, ...(dev ? { dev } : {}) };
    });
  }
  return { name, prefix, nodes, links, expect: [] };
}

function sameNet(cidr: string, address: string): boolean {
  const c = parseCidr(cidr);
  const a = parseCidr(`${address}/${c?.prefixLen}`);
  return c !== undefined && a !== undefined && c.network === a.network;
}

/** The tutorial: ns0 and ns1 hang off the host by veth pairs, routed through the host with ip_forward on. */
export function tutorialLab(): ResolvedLab {
  return buildLab(
    'seed',
    [
      { name: 'host', kind: 'host', sysctls: { 'net.ipv4.ip_forward': '1' } },
      { name: 'ns0', routes: [{ dst: '10.1.20.0/24', via: '10.1.10.1' }] },
      { name: 'ns1', routes: [{ dst: '10.1.10.0/24', via: '10.1.20.1' }] },
    ],
    [
      { a: ['host', 'veth11', '10.1.10.1/24'], b: ['ns0', 'veth12', '10.1.10.2/24'] },
      { a: ['host', 'veth21', '10.1.20.1/24'], b: ['ns1', 'veth22', '10.1.20.2/24'] },
    ],
  );
}

/** Four namespaces on one LAN through the bridge node `sw`. */
export function bridgeLab(): ResolvedLab {
  const hosts = ['a', 'b', 'c', 'd'];
  return buildLab(
    'lan',
    [{ name: 'sw', kind: 'bridge' }, ...hosts.map((h) => ({ name: `ns-${h}` }))],
    hosts.map((h, i) => ({
      a: [`ns-${h}`, 'eth0', `192.168.50.${i + 10}/24`],
      b: ['sw', `p-${h}`],
    })),
    'lan-',
  );
}

/** The tutorial layout with IPv4 and IPv6 on every link, forwarding on for both families on the host. */
export function dualStackLab(): ResolvedLab {
  return buildLab(
    'dual',
    [
      {
        name: 'host',
        kind: 'host',
        sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' },
      },
      {
        name: 'left',
        routes: [
          { dst: '10.2.20.0/24', via: '10.2.10.1' },
          { dst: '2001:db8:20::/64', via: '2001:db8:10::1' },
        ],
      },
      {
        name: 'right',
        routes: [
          { dst: '10.2.10.0/24', via: '10.2.20.1' },
          { dst: '2001:db8:10::/64', via: '2001:db8:20::1' },
        ],
      },
    ],
    [
      {
        a: ['host', 'vl-host', '10.2.10.1/24', '2001:db8:10::1/64'],
        b: ['left', 'vl', '10.2.10.2/24', '2001:db8:10::2/64'],
      },
      {
        a: ['host', 'vr-host', '10.2.20.1/24', '2001:db8:20::1/64'],
        b: ['right', 'vr', '10.2.20.2/24', '2001:db8:20::2/64'],
      },
    ],
    'ds-',
  );
}

/**
 * A generated 100-node lab: the host routes to 3 routers, each router serves 3 bridged LANs, the rest are
 * namespaces on those LANs (1 host + 3 routers + 9 bridges + 87 namespaces = 100 nodes).
 */
export function largeLab(): ResolvedLab {
  const nodes: NodeSpec[] = [{ name: 'host', kind: 'host', sysctls: { 'net.ipv4.ip_forward': '1' } }];
  const links: LinkSpec[] = [];
  const leaves = 87;
  let placed = 0;
  for (let r = 0; r < 3; r++) {
    const router = `r${r}`;
    const routes: NodeSpec['routes'] = [{ dst: '0.0.0.0/0', via: `10.0.${r}.1` }];
    nodes.push({ name: router, sysctls: { 'net.ipv4.ip_forward': '1' }, routes });
    links.push({ a: ['host', `up-r${r}`, `10.0.${r}.1/30`], b: [router, 'up', `10.0.${r}.2/30`] });
    for (let s = 0; s < 3; s++) {
      const lan = r * 3 + s;
      const sw = `sw${lan}`;
      nodes.push({ name: sw, kind: 'bridge' });
      links.push({ a: [router, `lan${s}`, `172.16.${lan}.1/24`], b: [sw, 'uplink'] });
      const count = Math.ceil((leaves - placed) / (9 - lan));
      for (let k = 0; k < count; k++) {
        const leaf = `n${placed}`;
        nodes.push({ name: leaf, routes: [{ dst: '0.0.0.0/0', via: `172.16.${lan}.1` }] });
        links.push({ a: [leaf, 'eth0', `172.16.${lan}.${k + 10}/24`], b: [sw, `p${k}`] });
        placed++;
      }
    }
  }
  return buildLab('campus-100', nodes, links, 'c-');
}

/** A host with 99 namespaces hanging straight off it (a star), the worst case for a one-row layout. */
export function starLab(count = 99): ResolvedLab {
  const nodes: NodeSpec[] = [{ name: 'host', kind: 'host' }];
  const links: LinkSpec[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push({ name: `s${i}` });
    const net = `10.${100 + Math.floor(i / 64)}.${(i % 64) * 4}`;
    links.push({ a: ['host', `vs${i}`, `${net}.1/30`], b: [`s${i}`, 'eth0', `${net}.2/30`] });
  }
  return buildLab('star-100', nodes, links, 'st-');
}

/**
 * The kernel state a correctly deployed lab would show: every interface up with its addresses, every route
 * installed, every sysctl set (plus the connected routes and link-local addresses the kernel adds by itself).
 */
export function observedFromLab(lab: ResolvedLab): ObservedState {
  const nodes: Record<string, ObservedNamespace> = {};
  for (const node of lab.nodes) {
    let index = 1;
    const ns: ObservedNamespace = {
      links: [{ name: 'lo', index: index++, up: true, mtu: 65536 }],
      addrs: [{ dev: 'lo', cidr: '127.0.0.1/8', family: 4 }],
      routes: [],
      sysctls: { ...node.sysctls },
    };
    if (node.kind === 'bridge') {
      ns.links.push({ name: BRIDGE_DEVICE, index: index++, kind: 'bridge', up: true, mtu: 1500 });
    }
    for (const iface of node.interfaces) {
      ns.links.push({
        name: iface.name,
        index: index++,
        kind: 'veth',
        up: true,
        mtu: 1500,
        ...(iface.master ? { master: iface.master } : {}),
      });
      for (const cidr of [...iface.ipv4, ...iface.ipv6]) {
        const c = parseCidr(cidr)!;
        ns.addrs.push({ dev: iface.name, cidr: `${c.address}/${c.prefixLen}`, family: c.family });
        ns.routes.push({ dst: c.network, family: c.family, dev: iface.name, table: 254, protocol: 'kernel' });
      }
      ns.addrs.push({ dev: iface.name, cidr: 'fe80::1/64', family: 6 });
    }
    for (const r of node.routes) {
      ns.routes.push({
        dst: r.dst,
        family: r.family,
        via: r.via,
        dev: r.dev,
        table: 254,
        protocol: 'static',
      });
    }
    nodes[node.name] = ns;
  }
  const namespaces = lab.nodes.flatMap((n) => (n.netns ? [n.netns] : []));
  return { namespaces, nodes };
}
