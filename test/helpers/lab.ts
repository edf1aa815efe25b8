/**
 * One fluent builder of ResolvedLab values for tests that need a lab the topology file cannot easily say (or that
 * want to say it in a few lines of code): nodes, veth links with addresses per end, routes, sysctls, bridge
 * addresses and expectations, filled in the way src/topology/resolve.ts fills them in (namespace names from the
 * prefix, bridge ports attached to br0, route family inferred, a route's `dev` found from the connected subnet of
 * its gateway).
 */
import { canonicalPrefix, isAddress, prefixContains } from '../../src/topology/ip.js';
import {
  BRIDGE_DEVICE,
  type NodeKind,
  type ResolvedInterface,
  type ResolvedLab,
  type ResolvedNode,
  type ResolvedRoute,
} from '../../src/topology/types.js';

/** Splits CIDRs of either family, mixed, into [IPv4, IPv6]. */
function byFamily(cidrs: readonly string[]): [string[], string[]] {
  return [cidrs.filter((c) => !c.includes(':')), cidrs.filter((c) => c.includes(':'))];
}

export class LabBuilder {
  private readonly lab: ResolvedLab;
  private readonly byName = new Map<string, ResolvedNode>();

  /**
   * A lab called `name` whose namespaces are `prefix` + node name (`t-ns0` by default; integration tests pass a
   * sandbox prefix such as `nslab-t-...-`).
   */
  constructor(name = 'test', prefix = 't-') {
    this.lab = { name, prefix, nodes: [], links: [], expect: [] };
  }

  /** Adds a node (in order); nodes first named by `link`, `route`, `sysctl` or `bridgeAddr` are netns nodes. */
  node(name: string, kind: NodeKind = 'netns', sysctls: Record<string, string> = {}): this {
    if (this.byName.has(name)) throw new Error(`fixture: node ${name} is already in the lab`);
    const n: ResolvedNode = {
      name,
      kind,
      netns: kind === 'host' ? null : `${this.lab.prefix}${name}`,
      sysctls: { ...sysctls },
      routes: [],
      exec: [],
      interfaces: [],
    };
    this.byName.set(name, n);
    this.lab.nodes.push(n);
    return this;
  }

  private get(name: string): ResolvedNode {
    if (!this.byName.has(name)) this.node(name);
    return this.byName.get(name)!;
  }

  /**
   * A veth pair between `a` and `b` (each `node:interface`), each end with its addresses (`address/prefixlen`,
   * either family, mixed). An end on a bridge node is a port of its br0.
   */
  link(a: string, aAddrs: string[], b: string, bAddrs: string[] = []): this {
    const index = this.lab.links.length;
    const [an, ai] = a.split(':');
    const [bn, bi] = b.split(':');
    const end = (node: string, name: string, addrs: string[], peer: { node: string; name: string }) => {
      const n = this.get(node);
      const [ipv4, ipv6] = byFamily(addrs);
      const i: ResolvedInterface = { node, name, ipv4, ipv6, link: index, peer };
      if (n.kind === 'bridge') i.master = BRIDGE_DEVICE;
      n.interfaces.push(i);
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

  /**
   * A route of `node` to `dst` (a prefix, or `default`), through gateway `via` when given. The family is the
   * destination's (the gateway's for `default`); `dev`, unless given in `extra`, is filled in by `build()` from
   * the first interface whose subnet holds the gateway, as the resolver does (left out when none does).
   */
  route(node: string, dst: string, via?: string, extra: Partial<ResolvedRoute> = {}): this {
    const family = (dst === 'default' ? (via ?? '') : dst).includes(':') ? 6 : 4;
    const r: ResolvedRoute = { dst: canonicalPrefix(dst, family)!, family };
    if (via) r.via = via;
    this.get(node).routes.push({ ...r, ...extra });
    return this;
  }

  /** A sysctl set inside the node's namespace (`sysctl -w KEY=VALUE` there). */
  sysctl(node: string, key: string, value: string): this {
    this.get(node).sysctls[key] = value;
    return this;
  }

  /** Addresses of a bridge node's br0 itself (either family, mixed). */
  bridgeAddr(node: string, ...addrs: string[]): this {
    const n = this.get(node);
    const [ipv4, ipv6] = byFamily(addrs);
    if (ipv4.length) n.bridgeIpv4 = ipv4;
    if (ipv6.length) n.bridgeIpv6 = ipv6;
    return this;
  }

  /** An `expect:` entry: `from` reaches (or not) the node or address `to`. */
  expect(from: string, to: string, reach: boolean, o: { hops?: number; family?: 4 | 6 } = {}): this {
    this.lab.expect.push({ from, to, reach, ...o });
    return this;
  }

  /** The lab as built so far (a copy: the builder can go on), with the `dev` of gateway routes filled in. */
  build(): ResolvedLab {
    const lab = structuredClone(this.lab);
    for (const node of lab.nodes) {
      const devices = node.interfaces.map((i) => ({ name: i.name, cidrs: [...i.ipv4, ...i.ipv6] }));
      if (node.kind === 'bridge') {
        devices.push({
          name: BRIDGE_DEVICE,
          cidrs: [...(node.bridgeIpv4 ?? []), ...(node.bridgeIpv6 ?? [])],
        });
      }
      for (const r of node.routes) {
        if (r.dev !== undefined || r.via === undefined || !isAddress(r.via)) continue;
        const via = r.via;
        const onLink = devices.find((d) => d.cidrs.some((c) => prefixContains(c, via)));
        if (onLink) r.dev = onLink.name;
      }
    }
    return lab;
  }
}
