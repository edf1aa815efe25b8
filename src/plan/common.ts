import { NslabError } from '../sys/errors.js';
import { canonicalAddress, canonicalCidr, parseCidr, prefixContains } from '../topology/ip.js';
import type { ResolvedLab, ResolvedNode, ResolvedRoute } from '../topology/types.js';
import type { ObservedNamespace, ObservedRoute, OpTarget } from './types.js';

/** A plan that cannot be made: the kernel holds something in the way, or the ledger belongs to another setup. */
export class PlanError extends NslabError {
  constructor(message: string, exitCode = 1) {
    super(message, exitCode);
    this.name = 'PlanError';
  }
}

/** The main routing table (`RT_TABLE_MAIN`), used when a route names no table. */
export const MAIN_TABLE = 254;

export const EMPTY_NAMESPACE: ObservedNamespace = { links: [], addrs: [], routes: [], sysctls: {} };

/**
 * The interface alias (`IFLA_IFALIAS`, `ip link set dev X alias TEXT`) nslab puts on every device it creates for
 * a lab. A device carrying it belongs to the lab; one without it is never deleted or modified.
 */
export function ownershipAlias(lab: { name: string }): string {
  return `nslab:${lab.name}`;
}

/** Where a node's operations run: the host node is `ns: null` (whatever namespace plays the host). */
export function targetOf(node: ResolvedNode): OpTarget {
  return { node: node.name, ns: node.kind === 'host' ? null : node.netns };
}

export function hostNodeOf(lab: ResolvedLab | undefined): ResolvedNode | undefined {
  return lab?.nodes.find((n) => n.kind === 'host');
}

const canonicalCidrs = new Map<string, string>();

/**
 * `canonicalCidr`, remembered: planning a big lab compares thousands of addresses, each written in the file and
 * read back from the kernel, and parsing them is most of the planner's time.
 */
export function canonicalCidrOf(text: string): string {
  if (isCanonicalIpv4Cidr(text)) return text;
  let c = canonicalCidrs.get(text);
  if (c === undefined) {
    if (canonicalCidrs.size >= 100_000) canonicalCidrs.clear();
    c = canonicalCidr(text);
    canonicalCidrs.set(text, c);
  }
  return c;
}

const IPV4_CIDR = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\/(0|[1-9]\d?)$/;

/** `a.b.c.d/len` in the one spelling canonicalCidr gives it (no leading zeros, every part in range). */
function isCanonicalIpv4Cidr(text: string): boolean {
  const m = IPV4_CIDR.exec(text);
  return (
    m !== null &&
    Number(m[1]) < 256 &&
    Number(m[2]) < 256 &&
    Number(m[3]) < 256 &&
    Number(m[4]) < 256 &&
    Number(m[5]) <= 32
  );
}

/** True for an IPv6 link-local address (fe80::/10), which the kernel puts on every interface by itself. */
export function isIpv6LinkLocal(cidr: string): boolean {
  const c = parseCidr(cidr);
  return c !== undefined && prefixContains('fe80::/10', c.address);
}

/** Sysctl values compare after collapsing whitespace (`0\t2147483647` reads back as `0 2147483647`). */
export function sameSysctl(a: string, b: string): boolean {
  return a.trim().split(/\s+/).join(' ') === b.trim().split(/\s+/).join(' ');
}

export function tableOf(route: { table?: number }): number {
  return route.table ?? MAIN_TABLE;
}

/** The metric the kernel gives a route: as asked, else 0 for IPv4 and 1024 for IPv6. */
export function metricOf(route: { metric?: number; family: 4 | 6 }): number {
  return route.metric ?? (route.family === 6 ? 1024 : 0);
}

function sameAddress(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  try {
    return canonicalAddress(a) === canonicalAddress(b);
  } catch {
    return a === b;
  }
}

type RouteLike = Pick<ResolvedRoute, 'dst' | 'family' | 'via' | 'dev' | 'metric' | 'table'>;

/** Same destination in the same table: the kernel would see `route add` of one while the other exists as a clash. */
export function sameRouteSlot(a: RouteLike, b: RouteLike): boolean {
  return a.family === b.family && a.dst === b.dst && tableOf(a) === tableOf(b);
}

/** Same slot and same metric: the kernel's identity of a route (what `route replace` replaces). */
export function sameRouteKey(a: RouteLike, b: RouteLike): boolean {
  return sameRouteSlot(a, b) && metricOf(a) === metricOf(b);
}

/** Same route in every respect the file can state; an absent `dev` on either side matches any device. */
export function sameRoute(a: RouteLike, b: RouteLike): boolean {
  return (
    sameRouteKey(a, b) &&
    sameAddress(a.via, b.via) &&
    (a.dev === undefined || b.dev === undefined || a.dev === b.dev)
  );
}

/** An observed route as the route to give `ip route del`, leaving out default metric and table. */
export function routeFromObserved(o: ObservedRoute): ResolvedRoute {
  const r: ResolvedRoute = { dst: o.dst, family: o.family };
  if (o.via !== undefined) r.via = o.via;
  if (o.dev !== undefined) r.dev = o.dev;
  if (o.metric !== undefined && o.metric !== metricOf({ family: o.family })) r.metric = o.metric;
  if (o.table !== MAIN_TABLE) r.table = o.table;
  return r;
}

export function endpointKey(node: string, name: string): string {
  return `${node}\u0000${name}`;
}
