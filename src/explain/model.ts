import { protocolRoutes } from '../topology/external.js';
import { addressToBigInt, type Cidr, parseCidr } from '../topology/ip.js';
import { segmentsOf } from '../topology/segments.js';
import { BRIDGE_DEVICE, type ResolvedLab, type ResolvedNode, type ResolvedRoute } from '../topology/types.js';
import { Fib, type FibEntry, familyBits, type Lookup, prefixMask, routeText } from './fib.js';
import type { ExplainOptions, Family, Hop } from './types.js';

/** An address on an interface, with its network precomputed. */
export interface IfAddr {
  address: string;
  len: number;
  /** Canonical `network/len`. */
  network: string;
  net: bigint;
}

/** An interface that takes part in routing: a veth end of a host/netns node, or the `br0` of a bridge with addresses. */
export interface L3If {
  node: string;
  name: string;
  /** L2 segment: interfaces with the same number hear each other's ARP/ND (one veth pair, or everything on bridges). */
  seg: number;
  addrs: Record<Family, IfAddr[]>;
  /** The bridge node this interface hangs on (its peer is a port of that bridge, or it is the bridge's own br0). */
  bridge?: string;
  /** Memoised ARP/ND answers for addresses asked out of this interface. */
  neigh: Map<string, Neighbour | null>;
}

export interface SysctlValue {
  key: string;
  value: string;
  /** Where the value comes from: the file, `opts.assume` (live kernel), or the kernel default. */
  from: 'file' | 'assume' | 'default';
}

export interface NodeModel {
  node: ResolvedNode;
  ifs: Map<string, L3If>;
  local: Record<Family, Set<string>>;
  fib: Record<Family, Fib>;
  /** Routes of the file the kernel would refuse, as sentences. */
  refused: string[];
  lookups: Record<Family, Map<string, Lookup | null>>;
  /** Sysctls from the file and from `opts.assume`, keys normalised to dots. */
  sysctls: Map<string, string>;
  assume: Map<string, string>;
  rp: Map<string, { mode: number; values: SysctlValue[] }>;
}

export interface Neighbour {
  target: L3If;
  /** Other interfaces answering for the same address (duplicate address on the segment). */
  dups: L3If[];
  /** True when the answer is assumed (IPv6 link-local gateway the file cannot tell). */
  assumed?: boolean;
}

const KERNEL_DEFAULTS: Record<string, string> = {
  'net.ipv4.ip_forward': '0',
  'net.ipv6.conf.all.forwarding': '0',
  'net.ipv4.ip_default_ttl': '64',
};

// ipaddr.js parses slowly (~10 µs); labs repeat the same few addresses, and `remedy` rebuilds models. Bounded caches.
const cidrs = new Map<string, Cidr | null>();
const bigs = new Map<string, bigint>();

function remember<K, V>(cache: Map<K, V>, key: K, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined && !cache.has(key)) {
    if (cache.size > 100_000) cache.clear();
    v = make();
    cache.set(key, v);
  }
  return v as V;
}

/** `parseCidr`, memoised: `address/len`, or a bare address as /32 or /128. */
export function cidrOf(text: string): Cidr | undefined {
  return remember(cidrs, text, () => parseCidr(text) ?? null) ?? undefined;
}

/** An address as a number, memoised. */
export function bigOf(addr: string): bigint {
  return remember(bigs, addr, () => addressToBigInt(addr));
}

function normalise(rec: Record<string, string> | undefined): Map<string, string> {
  return new Map(Object.entries(rec ?? {}).map(([k, v]) => [k.replaceAll('/', '.'), String(v)]));
}

function ifAddrs(list: string[] | undefined, family: Family): IfAddr[] {
  const out: IfAddr[] = [];
  for (const text of list ?? []) {
    const c = cidrOf(text);
    if (!c || c.family !== family) continue;
    const net = bigOf(c.address) & prefixMask(family, c.prefixLen);
    out.push({ address: c.address, len: c.prefixLen, network: c.network, net });
  }
  return out;
}

/** True for IPv6 link-local addresses (fe80::/10), which the file never lists (the kernel makes them from the MAC). */
function isLinkLocal(addr: string): boolean {
  return addr.includes(':') && bigOf(addr) >> 118n === 0x3fan;
}

/**
 * Everything the forwarding simulator needs, computed once per lab: L3 interfaces, L2 segments (veth pairs
 * and bridges merged), each node's main table (connected routes plus the file's routes, as the kernel would
 * install them) and sysctls; route lookups and ARP answers are memoised.
 */
export class LabModel {
  readonly nodes = new Map<string, NodeModel>();
  readonly segments: L3If[][] = [];
  /** Address → interfaces holding it. */
  private readonly owners = new Map<string, L3If[]>();
  private readonly bridgeAdj = new Map<string, string[]>();
  private readonly l2Paths = new Map<string, string[]>();
  private readonly memos = new Map<string, unknown>();
  private anyRefused = false;
  /** Routes a routing protocol installs on the nodes with `routing: external`, by node (see protocolRoutes). */
  private readonly protocol: Map<string, ResolvedRoute[]>;
  /** True when some route of the model is one of several equal-cost paths (the kernel hashes flows over them). */
  readonly multipath: boolean;

  constructor(
    readonly lab: ResolvedLab,
    readonly opts: ExplainOptions = {},
  ) {
    const kind = new Map(lab.nodes.map((n) => [n.name, n.kind]));
    const down = new Set(opts.linksDown ?? []);
    this.protocol = lab.nodes.some((n) => n.externalRouting)
      ? protocolRoutes(lab, segmentsOf(lab), down)
      : new Map();
    this.multipath = [...this.protocol.values()].some((rs) => rs.some((r) => r.ecmp));
    // L2 segments by union-find over link endpoints; all ports of a bridge (and its br0) are one key.
    const parent = new Map<string, string>();
    const find = (k: string): string => {
      let r = k;
      while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
      parent.set(k, r);
      return r;
    };
    const key = (node: string, iface: string) =>
      kind.get(node) === 'bridge' ? `b:${node}` : `i:${node}/${iface}`;
    for (const link of lab.links) {
      if (down.has(link.index)) continue;
      const [a, b] = link.endpoints.map((e) => find(key(e.node, e.interface)));
      if (a !== b) parent.set(a, b);
      const [x, y] = link.endpoints;
      if (kind.get(x.node) === 'bridge' && kind.get(y.node) === 'bridge') {
        this.bridgeAdj.set(x.node, [...(this.bridgeAdj.get(x.node) ?? []), y.node]);
        this.bridgeAdj.set(y.node, [...(this.bridgeAdj.get(y.node) ?? []), x.node]);
      }
    }
    const segIds = new Map<string, number>();
    const segOf = (k: string): number => {
      const root = find(k);
      let id = segIds.get(root);
      if (id === undefined) {
        id = this.segments.length;
        segIds.set(root, id);
        this.segments.push([]);
      }
      return id;
    };

    for (const node of lab.nodes) {
      const nm: NodeModel = {
        node,
        ifs: new Map(),
        local: { 4: new Set(), 6: new Set() },
        fib: { 4: new Fib(4), 6: new Fib(6) },
        refused: [],
        lookups: { 4: new Map(), 6: new Map() },
        sysctls: normalise(node.sysctls),
        assume: normalise(opts.assume?.[node.name]),
        rp: new Map(),
      };
      this.nodes.set(node.name, nm);
      const l3: L3If[] = [];
      if (node.kind === 'bridge') {
        if (node.bridgeIpv4?.length || node.bridgeIpv6?.length) {
          l3.push({
            node: node.name,
            name: BRIDGE_DEVICE,
            seg: segOf(`b:${node.name}`),
            addrs: { 4: ifAddrs(node.bridgeIpv4, 4), 6: ifAddrs(node.bridgeIpv6, 6) },
            bridge: node.name,
            neigh: new Map(),
          });
        }
      } else {
        for (const i of node.interfaces) {
          if (down.has(i.link)) continue;
          l3.push({
            node: node.name,
            name: i.name,
            seg: segOf(key(node.name, i.name)),
            addrs: { 4: ifAddrs(i.ipv4, 4), 6: ifAddrs(i.ipv6, 6) },
            bridge: kind.get(i.peer.node) === 'bridge' ? i.peer.node : undefined,
            neigh: new Map(),
          });
        }
      }
      for (const i of l3) {
        nm.ifs.set(i.name, i);
        this.segments[i.seg].push(i);
        for (const f of [4, 6] as const) {
          for (const a of i.addrs[f]) {
            nm.local[f].add(a.address);
            this.owners.set(a.address, [...(this.owners.get(a.address) ?? []), i]);
          }
        }
      }
      for (const f of [4, 6] as const) this.install(nm, f);
      if (nm.refused.length > 0) this.anyRefused = true;
    }
  }

  /** Connected routes first (in interface order), then the file's main-table routes, refusing what the kernel refuses. */
  private install(nm: NodeModel, family: Family): void {
    const fib = nm.fib[family];
    for (const i of nm.ifs.values()) {
      for (const a of i.addrs[family]) {
        // A /32 or /128 address gets no prefix route; a second address in the same subnet is a secondary.
        if (a.len === familyBits(family)) continue;
        if (fib.entries.some((e) => e.kernel && e.dev === i.name && e.network === a.network)) continue;
        const e = { family, len: a.len, network: a.network, dev: i.name, metric: family === 4 ? 0 : 256 };
        fib.add({
          ...e,
          net: a.net,
          kernel: true,
          src: a.address,
          text: routeText({ ...e, kernel: true, src: a.address }),
        });
      }
    }
    // Only connected routes make a gateway on-link; the file's routes come after them.
    const connected = [...fib.entries];
    for (const r of [...nm.node.routes, ...(this.protocol.get(nm.node.name) ?? [])]) {
      if (r.family !== family || (r.table !== undefined && r.table !== 254)) continue;
      const entry = this.staticEntry(nm, r, family, connected);
      if (typeof entry === 'string')
        nm.refused.push(`${nm.node.name}: the route to ${r.dst} cannot be installed: ${entry}`);
      else fib.add(entry);
    }
  }

  private staticEntry(
    nm: NodeModel,
    r: ResolvedRoute,
    family: Family,
    connected: FibEntry[],
  ): FibEntry | string {
    const c = cidrOf(r.dst);
    if (!c || c.family !== family) return `${r.dst} is not an IPv${family} prefix`;
    const metric = r.metric ?? (family === 4 ? 0 : 1024);
    let dev = r.dev;
    let via: string | undefined;
    if (r.via) {
      const gwc = r.via.includes('/') ? undefined : cidrOf(r.via);
      if (gwc?.family !== family) return `gateway ${r.via} is not an IPv${family} address`;
      via = gwc.address;
      const gw = this.big(via);
      // The longest connected prefix holding the gateway (the first one among equals).
      let onLink: FibEntry | undefined;
      for (const e of connected) {
        if ((gw & prefixMask(family, e.len)) !== e.net || (dev && e.dev !== dev)) continue;
        if (!onLink || e.len > onLink.len) onLink = e;
      }
      if (onLink) dev ??= onLink.dev;
      else if (!(dev && family === 6 && isLinkLocal(via)))
        return `${via} is in no subnet of ${dev ?? `${nm.node.name}'s interfaces`} (ip route: "Nexthop has invalid gateway")`;
    }
    if (!dev) return 'it has neither via nor dev';
    if (!nm.ifs.has(dev))
      return `${nm.node.name} has no interface ${dev} that routes (ip route: "Cannot find device")`;
    const net = this.big(c.address) & prefixMask(family, c.prefixLen);
    const clash = nm.fib[family].clash(net, c.prefixLen, metric);
    if (clash)
      return `the table already has \`${clash.text}\` with the same metric (ip route: "File exists")`;
    // A literal, not `{ ...e }`: spreading costs microseconds per route, and labs with auto routing have 10⁵ of them.
    const e = { family, len: c.prefixLen, network: c.network, dev, via, metric, kernel: false };
    return {
      family,
      len: c.prefixLen,
      network: c.network,
      dev,
      via,
      metric,
      kernel: false,
      net,
      text: routeText(e),
      route: r,
    };
  }

  /**
   * True when the routers an echo reply crosses are not known from the file: the sender's route to `to` (which
   * picks the source address the reply goes back to), or a route on the reply's way from `replier` back to
   * `src`, is one of several equal-cost paths a routing protocol installs, over which the kernel hashes flows.
   */
  hopsVary(from: string, family: Family, to: string, replier: string, src: string): boolean {
    if (!this.multipath) return false;
    if (this.lookup(from, family, to)?.entry.route?.ecmp) return true;
    const seen = new Set<string>();
    for (let node = replier; !seen.has(node); ) {
      seen.add(node);
      if (this.isLocal(node, family, src)) return false;
      const lk = this.lookup(node, family, src);
      if (!lk) return false;
      if (lk.entry.route?.ecmp) return true;
      const out = this.nodes.get(node)?.ifs.get(lk.entry.dev);
      const nb = out && this.neighbour(out, family, lk.entry.via ?? src);
      if (!nb) return false;
      node = nb.target.node;
    }
    return false;
  }

  /** Address as a number. */
  big(addr: string): bigint {
    return bigOf(addr);
  }

  /** Memoises a computation on this (immutable) model by key. */
  memo<T>(key: string, make: () => T): T {
    if (!this.memos.has(key)) this.memos.set(key, make());
    return this.memos.get(key) as T;
  }

  node(name: string): NodeModel | undefined {
    return this.nodes.get(name);
  }

  /** Nodes that take part in routing (host/netns, and bridges with addresses), in file order. */
  l3Nodes(): string[] {
    return [...this.nodes.values()]
      .filter((n) => n.ifs.size > 0 || n.node.kind !== 'bridge')
      .map((n) => n.node.name);
  }

  /** Every address a node has on the lab's links, IPv4 first, in interface order. */
  addressesOf(node: string, family?: Family): { address: string; family: Family }[] {
    const nm = this.nodes.get(node);
    if (!nm) return [];
    const fams: Family[] = family ? [family] : [4, 6];
    return fams.flatMap((f) => [...nm.local[f]].map((address) => ({ address, family: f })));
  }

  /** Routes of the file the kernel would refuse, as sentences, for the given nodes. */
  refused(...paths: Hop[][]): string[] {
    if (!this.anyRefused) return [];
    return [...new Set(paths.flat().map((h) => h.node))].flatMap((n) => this.nodes.get(n)?.refused ?? []);
  }

  /** True when `addr` is one of the node's addresses (any interface: Linux's weak host model). */
  isLocal(node: string, family: Family, addr: string): boolean {
    return this.nodes.get(node)?.local[family].has(addr) ?? false;
  }

  /** Interfaces holding an address. */
  holders(addr: string): L3If[] {
    return this.owners.get(addr) ?? [];
  }

  /** The subnet (`10.1.20.0/24`) of the interface address equal to `addr`, when some node holds it. */
  subnetOf(addr: string): string | undefined {
    const i = this.owners.get(addr)?.[0];
    if (!i) return undefined;
    const f: Family = addr.includes(':') ? 6 : 4;
    return i.addrs[f].find((a) => a.address === addr)?.network;
  }

  /** `ip route get <dst>` in the node's main table, memoised. */
  lookup(node: string, family: Family, dst: string): Lookup | undefined {
    const nm = this.nodes.get(node)!;
    const cache = nm.lookups[family];
    let r = cache.get(dst);
    if (r === undefined) {
      r = nm.fib[family].lookup(this.big(dst)) ?? null;
      cache.set(dst, r);
    }
    return r ?? undefined;
  }

  /**
   * A sysctl as it will be inside the node: the file's value, else the live value given in `opts.assume`, else the
   * kernel default of a new namespace (which for the host is an assumption). Keys may use `/` or `.`.
   */
  sysctl(node: string, key: string, fallback = KERNEL_DEFAULTS[key] ?? '0'): SysctlValue {
    const nm = this.nodes.get(node);
    const file = nm?.sysctls.get(key);
    if (file !== undefined) return { key, value: file, from: 'file' };
    const live = nm?.assume.get(key);
    if (live !== undefined) return { key, value: live, from: 'assume' };
    return { key, value: fallback, from: 'default' };
  }

  /** Whether the node routes packets not addressed to it (`net.ipv4.ip_forward` / `net.ipv6.conf.all.forwarding`). */
  forwarding(node: string, family: Family): SysctlValue {
    if (family === 6) return this.sysctl(node, 'net.ipv6.conf.all.forwarding');
    const v = this.sysctl(node, 'net.ipv4.ip_forward');
    if (v.from !== 'default') return v;
    const alias = this.sysctl(node, 'net.ipv4.conf.all.forwarding');
    return alias.from === 'default' ? v : alias;
  }

  /** Effective rp_filter of an interface: the larger of `conf.all.rp_filter` and `conf.<dev>.rp_filter`. */
  rpFilter(node: string, dev: string): { mode: number; values: SysctlValue[] } {
    const nm = this.nodes.get(node)!;
    let r = nm.rp.get(dev);
    if (!r) {
      const values = [
        this.sysctl(node, 'net.ipv4.conf.all.rp_filter'),
        this.sysctl(node, `net.ipv4.conf.${dev}.rp_filter`),
      ];
      r = { mode: Math.max(...values.map((v) => Number(v.value) || 0)), values };
      nm.rp.set(dev, r);
    }
    return r;
  }

  /** TTL (hop limit) a node puts on packets it originates by `dev`. */
  defaultTtl(node: string, family: Family, dev: string): SysctlValue {
    if (family === 4) return this.sysctl(node, 'net.ipv4.ip_default_ttl');
    for (const key of [`net.ipv6.conf.${dev}.hop_limit`, 'net.ipv6.conf.default.hop_limit']) {
      const v = this.sysctl(node, key, '64');
      if (v.from !== 'default') return v;
    }
    return this.sysctl(node, 'net.ipv6.conf.all.hop_limit', '64');
  }

  /**
   * Source address for a packet leaving by the route found (`ip route get` `src`): the route's preferred source,
   * else an address of the output device in the gateway's subnet, else its first, else any of the node's.
   */
  selectSource(node: string, family: Family, lk: Lookup): string | undefined {
    if (lk.entry.src) return lk.entry.src;
    const nm = this.nodes.get(node)!;
    const onDev = nm.ifs.get(lk.entry.dev)?.addrs[family] ?? [];
    const via = lk.entry.via;
    const inSubnet = via
      ? onDev.find((a) => (this.big(via) & prefixMask(family, a.len)) === a.net)
      : undefined;
    return (inSubnet ?? onDev[0])?.address ?? [...nm.local[family]][0];
  }

  /**
   * Who answers ARP (IPv4) or neighbour solicitation (IPv6) for `addr` sent out of `out`: another node's interface on
   * the same segment. IPv4 follows arp_ignore=0 (a node answers for any of its addresses, on any interface) unless the
   * answering interface has arp_ignore ≥ 1; IPv6 answers only for addresses on the interface itself.
   */
  neighbour(out: L3If, family: Family, addr: string): Neighbour | undefined {
    let r = out.neigh.get(addr);
    if (r === undefined) {
      const members = this.segments[out.seg].filter((i) => i.node !== out.node);
      const answers = members.filter((i) => {
        if (i.addrs[family].some((a) => a.address === addr)) return true;
        if (family === 6) return false;
        const ignore = Math.max(
          Number(this.sysctl(i.node, 'net.ipv4.conf.all.arp_ignore').value) || 0,
          Number(this.sysctl(i.node, `net.ipv4.conf.${i.name}.arp_ignore`).value) || 0,
        );
        return ignore === 0 && this.isLocal(i.node, 4, addr);
      });
      if (answers.length > 0)
        r = { target: answers[0], dups: answers.slice(1).filter((i) => i.node !== answers[0].node) };
      else if (family === 6 && isLinkLocal(addr) && members.length === 1)
        r = { target: members[0], dups: [], assumed: true };
      else r = null;
      out.neigh.set(addr, r);
    }
    return r ?? undefined;
  }

  /**
   * Hops from each node to the node holding `addr` in the lab graph (nodes sharing an L2 segment are one hop
   * apart), by breadth-first search from the holders; absent for nodes that cannot get there. Memoised.
   */
  hopsTo(addr: string): Map<string, number> {
    return this.memo(`hopsTo|${addr}`, () => {
      const dist = new Map<string, number>();
      const queue: string[] = [];
      for (const i of this.holders(addr)) {
        if (dist.has(i.node)) continue;
        dist.set(i.node, 0);
        queue.push(i.node);
      }
      for (let q = 0; q < queue.length; q++) {
        const u = queue[q];
        const d = dist.get(u)! + 1;
        for (const i of this.nodes.get(u)!.ifs.values()) {
          for (const j of this.segments[i.seg]) {
            if (dist.has(j.node)) continue;
            dist.set(j.node, d);
            queue.push(j.node);
          }
        }
      }
      return dist;
    });
  }

  /** Bridges a frame crosses from interface `a` to interface `b` on the same segment (breadth-first over bridge links). */
  l2Path(a: L3If, b: L3If): string[] {
    if (!a.bridge || !b.bridge) return [];
    const k = `${a.bridge}|${b.bridge}`;
    let path = this.l2Paths.get(k);
    if (!path) {
      const prev = new Map<string, string>([[a.bridge, '']]);
      const queue = [a.bridge];
      while (queue.length > 0 && !prev.has(b.bridge)) {
        const cur = queue.shift()!;
        for (const n of this.bridgeAdj.get(cur) ?? []) {
          if (prev.has(n)) continue;
          prev.set(n, cur);
          queue.push(n);
        }
      }
      path = [];
      for (let n = b.bridge; n; n = prev.get(n) ?? '') path.unshift(n);
      this.l2Paths.set(k, path);
    }
    return path.filter((n) => n !== a.node && n !== b.node);
  }
}
