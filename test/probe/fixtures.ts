/**
 * Test labs for the probe layer: a ResolvedLab built by hand (as the resolver would produce it), and, for root
 * integration tests, the same lab made real with NetnsHandle in sandbox namespaces (a minimal apply: namespaces,
 * bridges, veth pairs, addresses, sysctls, routes), with a destroy that deletes exactly what it made.
 */
import { labNetnsSysctls } from '../../src/apply/session.js';
import { NetnsHandle } from '../../src/netns/handle.js';
import {
  BRIDGE_DEVICE,
  type Expectation,
  type NodeKind,
  type ResolvedLab,
  type ResolvedNode,
} from '../../src/topology/types.js';
import { uniqueName } from '../helpers/kernel.js';

export class LabBuilder {
  private readonly lab: ResolvedLab;
  private readonly byName = new Map<string, ResolvedNode>();

  /** With `live`, namespace names are sandbox names from uniqueName (`nslab-t-...`). */
  constructor(private readonly live = false) {
    this.lab = { name: 'probe-test', prefix: '', nodes: [], links: [], expect: [] };
  }

  node(
    name: string,
    kind: NodeKind = 'netns',
    o: { sysctls?: Record<string, string>; bridgeIpv4?: string[]; bridgeIpv6?: string[] } = {},
  ): this {
    const n: ResolvedNode = {
      name,
      kind,
      netns: kind === 'host' ? null : this.live ? uniqueName(name) : `t-${name}`,
      sysctls: { ...o.sysctls },
      routes: [],
      exec: [],
      interfaces: [],
    };
    if (o.bridgeIpv4) n.bridgeIpv4 = o.bridgeIpv4;
    if (o.bridgeIpv6) n.bridgeIpv6 = o.bridgeIpv6;
    this.byName.set(name, n);
    this.lab.nodes.push(n);
    return this;
  }

  private get(name: string): ResolvedNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`fixture: no node ${name}`);
    return n;
  }

  /** A veth pair `node:iface` <-> `node:iface`, each end with its addresses (both families mixed). */
  link(a: string, aAddrs: string[], b: string, bAddrs: string[] = []): this {
    const index = this.lab.links.length;
    const [an, ai] = a.split(':');
    const [bn, bi] = b.split(':');
    const end = (node: string, name: string, addrs: string[], peer: { node: string; name: string }) => {
      const n = this.get(node);
      n.interfaces.push({
        node,
        name,
        ipv4: addrs.filter((x) => !x.includes(':')),
        ipv6: addrs.filter((x) => x.includes(':')),
        link: index,
        peer,
        ...(n.kind === 'bridge' ? { master: BRIDGE_DEVICE } : {}),
      });
    };
    end(an, ai, aAddrs, { node: bn, name: bi });
    end(bn, bi, bAddrs, { node: an, name: ai });
    this.lab.links.push({
      index,
      endpoints: [
        { node: an, interface: ai },
        { node: bn, interface: bi },
      ],
    });
    return this;
  }

  route(node: string, dst: string, via?: string, dev?: string): this {
    const family = dst.includes(':') ? 6 : 4;
    this.get(node).routes.push({ dst, family, ...(via ? { via } : {}), ...(dev ? { dev } : {}) });
    return this;
  }

  expect(from: string, to: string, reach: boolean, o: { hops?: number; family?: 4 | 6 } = {}): this {
    const x: Expectation = { from, to, reach, ...o };
    this.lab.expect.push(x);
    return this;
  }

  build(): ResolvedLab {
    return this.lab;
  }
}

export interface LiveLab {
  handles: Map<string, NetnsHandle>;
  fdOf: (node: string) => number;
  /** Deletes every namespace made for the lab (not the sandbox playing the host). */
  destroy: () => void;
}

/**
 * Makes `lab` real: one namespace per netns/bridge node (named as the lab says), the sandbox `host` handle for the
 * host node, then bridges, veth pairs (peer created directly in the other namespace), addresses, sysctls, routes.
 */
export function deploy(lab: ResolvedLab, host: NetnsHandle): LiveLab {
  const handles = new Map<string, NetnsHandle>();
  const made: NetnsHandle[] = [];
  const destroy = () => {
    for (const h of made.splice(0)) {
      try {
        h.destroy();
      } catch {
        // the caller's after hook deletes leftovers by name with iproute2
      }
    }
  };
  try {
    for (const n of lab.nodes) {
      if (n.kind === 'host') {
        handles.set(n.name, host);
        continue;
      }
      const h = NetnsHandle.create(n.netns!, { sysctls: labNetnsSysctls(true) });
      made.push(h);
      handles.set(n.name, h);
    }
    const h = (node: string) => handles.get(node)!;
    for (const n of lab.nodes) {
      h(n.name).setLink('lo', { up: true });
      if (n.kind === 'bridge') h(n.name).addBridge(BRIDGE_DEVICE, { up: true });
    }
    for (const l of lab.links) {
      const [a, b] = l.endpoints;
      h(a.node).addVeth(a.interface, { handle: h(b.node), name: b.interface }, { up: true });
      h(b.node).setLink(b.interface, { up: true });
    }
    for (const n of lab.nodes) {
      for (const i of n.interfaces) {
        if (i.master) h(n.name).setLink(i.name, { master: i.master, up: true });
        for (const cidr of [...i.ipv4, ...i.ipv6]) h(n.name).addAddr(i.name, cidr);
      }
      for (const cidr of [...(n.bridgeIpv4 ?? []), ...(n.bridgeIpv6 ?? [])])
        h(n.name).addAddr(BRIDGE_DEVICE, cidr);
      for (const [k, v] of Object.entries(n.sysctls)) h(n.name).setSysctl(k, v);
    }
    for (const n of lab.nodes) {
      for (const r of n.routes) h(n.name).addRoute({ dst: r.dst, via: r.via, dev: r.dev, metric: r.metric });
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    handles,
    fdOf: (node) => {
      const x = handles.get(node);
      if (!x) throw new Error(`fixture: no node ${node}`);
      return x.fd;
    },
    destroy,
  };
}
