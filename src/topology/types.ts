/**
 * The resolved lab: what a topology file means once defaults, addresses and routes are filled in.
 * Every layer after `topology` (plan, apply, probe, explain, render, lab) reads only these types,
 * never the raw YAML.
 */
import type { Impairment, TimelineEvent } from './faults.js';
import type { ResolvedProcess } from './processes.js';

export type { ReadyCheck, ResolvedProcess } from './processes.js';

/** Seconds a named process has to become ready when its entry sets no `timeout`. */
export const DEFAULT_READY_TIMEOUT_S = 30;

/** A place in a topology file, 1-based, for messages such as `seed.nslab.yml:12:7`. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/**
 * - `host`: the namespace nslab runs from (the real default namespace, or the one named by `--host-netns`).
 * - `netns`: a named network namespace made by nslab (`ip netns add`).
 * - `bridge`: a named namespace holding one Linux bridge (an L2 switch); the node's link endpoints are its ports.
 */
export type NodeKind = 'host' | 'netns' | 'bridge';

/** Name of the bridge device inside a `kind: bridge` node's namespace. */
export const BRIDGE_DEVICE = 'br0';

export interface ResolvedRoute {
  /** Destination as a canonical CIDR (`10.1.20.0/24`, `2001:db8::/64`); a default route is `0.0.0.0/0` or `::/0`. */
  dst: string;
  family: 4 | 6;
  /** Gateway address (`ip route add ... via`). */
  via?: string;
  /** Output interface (`ip route add ... dev`). Filled in by the resolver from the connected subnet of `via` when absent. */
  dev?: string;
  metric?: number;
  /** Routing table id; absent means main (254). */
  table?: number;
  /** True when computed by `routing: auto` rather than written in the file. */
  auto?: boolean;
  /**
   * Set on a route predicted for `routing: external` when the protocol has equal-cost paths to the destination
   * through other gateways too: the kernel then picks one per flow, by a hash.
   */
  ecmp?: boolean;
  pos?: SourcePos;
}

export interface ResolvedInterface {
  /** Node owning the interface (node name from the file, not the namespace name). */
  node: string;
  /** Interface name inside the node's namespace, at most 15 bytes. */
  name: string;
  /** Addresses as `address/prefixlen` (`10.1.10.1/24`). */
  ipv4: string[];
  ipv6: string[];
  mac?: string;
  mtu?: number;
  /** Index into `ResolvedLab.links` of the link this interface is one end of. */
  link: number;
  /** The other end of the veth pair. */
  peer: { node: string; name: string };
  /** Set on ports of a `kind: bridge` node: the bridge device they are attached to (`ip link set dev X master br0`). */
  master?: string;
  /** True for addresses the resolver allocated from a pool rather than read from the file. */
  autoAddressed?: boolean;
  /** What the interface does to packets leaving it (`impair:`), applied with tc (see plan/faults.ts). */
  impair?: Impairment;
  pos?: SourcePos;
}

export interface ResolvedNode {
  /** Node name as written in the file (`ns0`, `host`). */
  name: string;
  kind: NodeKind;
  /** Namespace name (prefix + node name); null for the host node, which is whatever namespace plays the host. */
  netns: string | null;
  /** Sysctls to set inside the node's namespace, dotted keys, values as strings (`net.ipv4.ip_forward: "1"`). */
  sysctls: Record<string, string>;
  routes: ResolvedRoute[];
  /** Shell commands run inside the node after deploy, in order. */
  exec: string[];
  /** Seconds each `exec` entry may run (same index; null: the default, 60 s); absent when no entry sets one. */
  execTimeouts?: (number | null)[];
  /** Interfaces of the node, in the order of the links that make them. */
  interfaces: ResolvedInterface[];
  /** Set when `routing: auto` applies to this node. */
  autoRouting?: boolean;
  /**
   * Set when `routing: external` applies: a routing daemon of the node installs its routes, nslab none (the
   * prediction assumes the shortest paths a routing protocol converges to).
   */
  externalRouting?: boolean;
  /** Long-running processes (`processes:`), in the order `up` starts them. */
  processes?: ResolvedProcess[];
  /**
   * The node's own view of the filesystem: `files` (path -> content, sorted by path) and `private` directories
   * (sorted), with the lab's /etc/hosts; both set (maybe empty) when the file declares either, for this node, its
   * kind or the defaults. A node without them runs its processes in the host's mount namespace.
   */
  files?: Record<string, string>;
  private?: string[];
  /** For `kind: bridge`: addresses given to the bridge device itself (rare; lets a switch be pinged). */
  bridgeIpv4?: string[];
  bridgeIpv6?: string[];
  pos?: SourcePos;
}

export interface EndpointRef {
  node: string;
  interface: string;
}

export interface ResolvedLink {
  index: number;
  endpoints: [EndpointRef, EndpointRef];
  mtu?: number;
  pos?: SourcePos;
}

/** One reachability expectation from the file's top-level `expect:` list. */
export interface Expectation {
  from: string;
  /** A node name (every address it has on the lab's links) or a literal address. */
  to: string;
  reach: boolean;
  /** Routers crossed on the way (what the reply TTL tells: ttl=63 is 1 hop, a neighbour is 0). */
  hops?: number;
  family?: 4 | 6;
  pos?: SourcePos;
}

/** A problem of the file that does not stop the lab (the lab is built; some pings may not work as hoped). */
export interface LabWarning {
  pos?: SourcePos;
  message: string;
}

export interface ResolvedLab {
  name: string;
  /** Prefix prepended to node names to form namespace names ('' when none). */
  prefix: string;
  /** Path of the file the lab came from, when it came from one. */
  file?: string;
  /** All nodes, in file order. The `host` node is present only when the file names it. */
  nodes: ResolvedNode[];
  links: ResolvedLink[];
  expect: Expectation[];
  /** `routing:` at the top level. */
  routing?: 'auto' | 'static' | 'external';
  /** `private: true`: the lab is made in a sandbox of its own (see lab/private.ts). */
  private?: boolean;
  /** Timed fault events (`timeline:`), played by `nslab play`; absent when the file has none. */
  timeline?: TimelineEvent[];
  /** Problems found while resolving that do not stop the lab (`routing: auto` finding no route, ...). */
  warnings?: LabWarning[];
}
