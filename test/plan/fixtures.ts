// Hand-built ResolvedLab fixtures (the topology loader is written separately) and a realistic host namespace.
import type { ObservedNamespace, ObservedState } from '../../src/plan/types.js';
import type { ResolvedInterface, ResolvedLab, ResolvedNode } from '../../src/topology/types.js';

function iface(
  node: string,
  name: string,
  addrs: string[],
  link: number,
  peer: [string, string],
  extra: Partial<ResolvedInterface> = {},
): ResolvedInterface {
  return {
    node,
    name,
    ipv4: addrs.filter((a) => !a.includes(':')),
    ipv6: addrs.filter((a) => a.includes(':')),
    link,
    peer: { node: peer[0], name: peer[1] },
    ...extra,
  };
}

function node(name: string, extra: Partial<ResolvedNode>): ResolvedNode {
  return { name, kind: 'netns', netns: name, sysctls: {}, routes: [], exec: [], interfaces: [], ...extra };
}

/** The tutorial: ns0 and ns1 hang off the host by veth pairs; the host forwards between them. */
export function tutorialLab(): ResolvedLab {
  return {
    name: 'seed',
    prefix: '',
    file: 'seed.nslab.yml',
    nodes: [
      node('host', {
        kind: 'host',
        netns: null,
        sysctls: { 'net.ipv4.ip_forward': '1' },
        interfaces: [
          iface('host', 'veth11', ['10.1.10.1/24'], 0, ['ns0', 'veth12']),
          iface('host', 'veth21', ['10.1.20.1/24'], 1, ['ns1', 'veth22']),
        ],
      }),
      node('ns0', {
        routes: [{ dst: '10.1.20.0/24', family: 4, via: '10.1.10.1', dev: 'veth12' }],
        interfaces: [iface('ns0', 'veth12', ['10.1.10.2/24'], 0, ['host', 'veth11'])],
      }),
      node('ns1', {
        routes: [{ dst: '10.1.10.0/24', family: 4, via: '10.1.20.1', dev: 'veth22' }],
        interfaces: [iface('ns1', 'veth22', ['10.1.20.2/24'], 1, ['host', 'veth21'])],
      }),
    ],
    links: [
      {
        index: 0,
        endpoints: [
          { node: 'host', interface: 'veth11' },
          { node: 'ns0', interface: 'veth12' },
        ],
      },
      {
        index: 1,
        endpoints: [
          { node: 'host', interface: 'veth21' },
          { node: 'ns1', interface: 'veth22' },
        ],
      },
    ],
    expect: [],
  };
}

/** A switch (kind bridge, with an address on br0) and two hosts on one LAN; h1 runs a command after deploy. */
export function bridgeLab(): ResolvedLab {
  return {
    name: 'lan',
    prefix: 'lan-',
    nodes: [
      node('sw', {
        kind: 'bridge',
        netns: 'lan-sw',
        bridgeIpv4: ['192.168.50.254/24'],
        interfaces: [
          iface('sw', 'p1', [], 0, ['h1', 'eth0'], { master: 'br0' }),
          iface('sw', 'p2', [], 1, ['h2', 'eth0'], { master: 'br0' }),
        ],
      }),
      node('h1', {
        netns: 'lan-h1',
        exec: ["echo 'h1 up' > /dev/null"],
        interfaces: [iface('h1', 'eth0', ['192.168.50.1/24'], 0, ['sw', 'p1'])],
      }),
      node('h2', {
        netns: 'lan-h2',
        interfaces: [iface('h2', 'eth0', ['192.168.50.2/24'], 1, ['sw', 'p2'])],
      }),
    ],
    links: [
      {
        index: 0,
        endpoints: [
          { node: 'sw', interface: 'p1' },
          { node: 'h1', interface: 'eth0' },
        ],
      },
      {
        index: 1,
        endpoints: [
          { node: 'sw', interface: 'p2' },
          { node: 'h2', interface: 'eth0' },
        ],
      },
    ],
    expect: [],
  };
}

/** Two namespaces on one dual-stack link with jumbo MTU, a fixed MAC, default routes for both families. */
export function dualStackLab(): ResolvedLab {
  return {
    name: 'ds',
    prefix: 'ds-',
    nodes: [
      node('a', {
        netns: 'ds-a',
        sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' },
        interfaces: [
          iface('a', 'eth0', ['10.0.0.1/30', '2001:db8::1/64'], 0, ['b', 'eth0'], {
            mac: '02:00:00:00:00:0a',
            mtu: 9000,
          }),
        ],
      }),
      node('b', {
        netns: 'ds-b',
        routes: [
          { dst: '0.0.0.0/0', family: 4, via: '10.0.0.1', dev: 'eth0' },
          { dst: '::/0', family: 6, via: '2001:db8::1', dev: 'eth0' },
        ],
        interfaces: [iface('b', 'eth0', ['10.0.0.2/30', '2001:DB8::2/64'], 0, ['a', 'eth0'], { mtu: 9000 })],
      }),
    ],
    links: [
      {
        index: 0,
        mtu: 9000,
        endpoints: [
          { node: 'a', interface: 'eth0' },
          { node: 'b', interface: 'eth0' },
        ],
      },
    ],
    expect: [],
  };
}

/** A host namespace as found on a machine: loopback, an uplink with a DHCP default route, forwarding off. */
export function hostState(): ObservedNamespace {
  return {
    links: [
      { name: 'lo', index: 1, up: true, mtu: 65536 },
      { name: 'eth0', index: 2, up: true, mtu: 1500, mac: '52:54:00:66:51:0b' },
    ],
    addrs: [
      { dev: 'lo', cidr: '127.0.0.1/8', family: 4 },
      { dev: 'eth0', cidr: '192.168.1.10/24', family: 4 },
      { dev: 'eth0', cidr: 'fe80::5054:ff:fe66:510b/64', family: 6 },
    ],
    routes: [
      {
        dst: '0.0.0.0/0',
        family: 4,
        via: '192.168.1.1',
        dev: 'eth0',
        metric: 100,
        table: 254,
        protocol: 'dhcp',
      },
      { dst: '192.168.1.0/24', family: 4, dev: 'eth0', table: 254, protocol: 'kernel' },
    ],
    sysctls: { 'net.ipv4.ip_forward': '0' },
  };
}

/** A machine with no lab namespace yet; `host` is present only for labs that use it. */
export function freshMachine(withHost = true): ObservedState {
  return { namespaces: ['unrelated'], nodes: withHost ? { host: hostState() } : {} };
}
