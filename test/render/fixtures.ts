import type { ObservedNamespace, ObservedState } from '../../src/plan/types.js';
import { parseCidr } from '../../src/topology/ip.js';
import { BRIDGE_DEVICE, type ResolvedLab } from '../../src/topology/types.js';
import { LabBuilder } from '../helpers/lab.js';

/** ResolvedLab values for the render tests, built with the shared test LabBuilder. */

/** The tutorial: ns0 and ns1 hang off the host by veth pairs, routed through the host with ip_forward on. */
export function tutorialLab(): ResolvedLab {
  return new LabBuilder('seed', '')
    .node('host', 'host', { 'net.ipv4.ip_forward': '1' })
    .node('ns0')
    .node('ns1')
    .link('host:veth11', ['10.1.10.1/24'], 'ns0:veth12', ['10.1.10.2/24'])
    .link('host:veth21', ['10.1.20.1/24'], 'ns1:veth22', ['10.1.20.2/24'])
    .route('ns0', '10.1.20.0/24', '10.1.10.1')
    .route('ns1', '10.1.10.0/24', '10.1.20.1')
    .build();
}

/** Four namespaces on one LAN through the bridge node `sw`. */
export function bridgeLab(): ResolvedLab {
  const hosts = ['a', 'b', 'c', 'd'];
  const b = new LabBuilder('lan', 'lan-').node('sw', 'bridge');
  for (const h of hosts) b.node(`ns-${h}`);
  hosts.forEach((h, i) => {
    b.link(`ns-${h}:eth0`, [`192.168.50.${i + 10}/24`], `sw:p-${h}`);
  });
  return b.build();
}

/** The tutorial layout with IPv4 and IPv6 on every link, forwarding on for both families on the host. */
export function dualStackLab(): ResolvedLab {
  return new LabBuilder('dual', 'ds-')
    .node('host', 'host', { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' })
    .node('left')
    .node('right')
    .link('host:vl-host', ['10.2.10.1/24', '2001:db8:10::1/64'], 'left:vl', [
      '10.2.10.2/24',
      '2001:db8:10::2/64',
    ])
    .link('host:vr-host', ['10.2.20.1/24', '2001:db8:20::1/64'], 'right:vr', [
      '10.2.20.2/24',
      '2001:db8:20::2/64',
    ])
    .route('left', '10.2.20.0/24', '10.2.10.1')
    .route('left', '2001:db8:20::/64', '2001:db8:10::1')
    .route('right', '10.2.10.0/24', '10.2.20.1')
    .route('right', '2001:db8:10::/64', '2001:db8:20::1')
    .build();
}

/**
 * A generated 100-node lab: the host routes to 3 routers, each router serves 3 bridged LANs, the rest are
 * namespaces on those LANs (1 host + 3 routers + 9 bridges + 87 namespaces = 100 nodes).
 */
export function largeLab(): ResolvedLab {
  const b = new LabBuilder('campus-100', 'c-').node('host', 'host', { 'net.ipv4.ip_forward': '1' });
  const leaves = 87;
  let placed = 0;
  for (let r = 0; r < 3; r++) {
    const router = `r${r}`;
    b.node(router, 'netns', { 'net.ipv4.ip_forward': '1' })
      .link(`host:up-r${r}`, [`10.0.${r}.1/30`], `${router}:up`, [`10.0.${r}.2/30`])
      .route(router, '0.0.0.0/0', `10.0.${r}.1`);
    for (let s = 0; s < 3; s++) {
      const lan = r * 3 + s;
      const sw = `sw${lan}`;
      b.node(sw, 'bridge').link(`${router}:lan${s}`, [`172.16.${lan}.1/24`], `${sw}:uplink`);
      const count = Math.ceil((leaves - placed) / (9 - lan));
      for (let k = 0; k < count; k++) {
        const leaf = `n${placed}`;
        b.node(leaf)
          .link(`${leaf}:eth0`, [`172.16.${lan}.${k + 10}/24`], `${sw}:p${k}`)
          .route(leaf, '0.0.0.0/0', `172.16.${lan}.1`);
        placed++;
      }
    }
  }
  return b.build();
}

/** A host with 99 namespaces hanging straight off it (a star), the worst case for a one-row layout. */
export function starLab(count = 99): ResolvedLab {
  const b = new LabBuilder('star-100', 'st-').node('host', 'host');
  for (let i = 0; i < count; i++) {
    const net = `10.${100 + Math.floor(i / 64)}.${(i % 64) * 4}`;
    b.node(`s${i}`).link(`host:vs${i}`, [`${net}.1/30`], `s${i}:eth0`, [`${net}.2/30`]);
  }
  return b.build();
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
