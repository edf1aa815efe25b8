import type { ResolvedRoute } from '../topology/types.js';
import type { Family } from './types.js';

/** One route of a node's main table, as the kernel's FIB holds it. */
export interface FibEntry {
  family: Family;
  /** Network address as a number, and its prefix length. */
  net: bigint;
  len: number;
  /** Canonical `network/len`. */
  network: string;
  dev: string;
  via?: string;
  metric: number;
  /** A connected route the kernel adds for an interface address (`proto kernel scope link`). */
  kernel: boolean;
  /** Preferred source (`src`), set on connected routes. */
  src?: string;
  /** The route as `ip route` prints it. */
  text: string;
  /** The file's route this entry comes from (absent for connected routes). */
  route?: ResolvedRoute;
}

export interface Lookup {
  entry: FibEntry;
  /** Other routes with the same prefix and metric on other devices: the kernel uses the first one. */
  ties: FibEntry[];
  /** Connected routes with a shorter prefix that match too (overlapping interface subnets). */
  overlaps: FibEntry[];
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };
const MASKS: Record<Family, bigint[]> = { 4: masks(32), 6: masks(128) };

function masks(bits: number): bigint[] {
  const all = (1n << BigInt(bits)) - 1n;
  return Array.from({ length: bits + 1 }, (_, len) => (all >> BigInt(bits - len)) << BigInt(bits - len));
}

/** Network mask of a prefix length as a number (`/24` → 0xffffff00). */
export function prefixMask(family: Family, len: number): bigint {
  return MASKS[family][len];
}

/** Maximum prefix length of the family (32 or 128). */
export function familyBits(family: Family): number {
  return BITS[family];
}

/** Destination as `ip route` prints it: `default`, a bare address for host routes, else `network/len`. */
export function routeDst(network: string, family: Family): string {
  const [addr, len] = network.split('/');
  if (len === '0') return 'default';
  return Number(len) === BITS[family] ? addr : network;
}

/** The line `ip route` (or `ip -6 route`) prints for a route. */
export function routeText(e: Omit<FibEntry, 'text' | 'net' | 'route'>): string {
  // routeDst(e.network, e.family), without splitting the network again.
  const dst =
    e.len === 0
      ? 'default'
      : e.len === BITS[e.family]
        ? e.network.slice(0, e.network.indexOf('/'))
        : e.network;
  if (e.kernel) {
    return e.family === 4
      ? `${dst} dev ${e.dev} proto kernel scope link src ${e.src}`
      : `${dst} dev ${e.dev} proto kernel metric ${e.metric} pref medium`;
  }
  const hop = e.via ? ` via ${e.via} dev ${e.dev}` : ` dev ${e.dev}`;
  if (e.family === 6) return `${dst}${hop} metric ${e.metric} pref medium`;
  return `${dst}${hop}${e.via ? '' : ' scope link'}${e.metric ? ` metric ${e.metric}` : ''}`;
}

/**
 * Map key of a network. V8 hashes a BigInt by its lowest 64 bits only: IPv6 prefixes up to /64 (low half zero)
 * would all collide and make every probe a scan. The high half is folded in; distinct networks may still share a
 * key, so bucket lists are filtered by `net`.
 */
function netKey(family: Family, net: bigint): bigint {
  return family === 4 ? net : BigInt.asUintN(64, net ^ (net >> 64n));
}

/**
 * A main routing table with longest-prefix-match lookup (`ip route get`): routes are bucketed by prefix length,
 * so a lookup costs one map probe per distinct prefix length present.
 */
export class Fib {
  private readonly byLen = new Map<number, Map<bigint, FibEntry[]>>();
  private lens: number[] = [];
  readonly entries: FibEntry[] = [];

  constructor(readonly family: Family) {}

  /** Entry already present with the same prefix and metric (adding another makes `ip route add` fail: File exists). */
  clash(net: bigint, len: number, metric: number): FibEntry | undefined {
    return this.byLen
      .get(len)
      ?.get(netKey(this.family, net))
      ?.find((e) => e.net === net && e.metric === metric);
  }

  add(e: FibEntry): void {
    let bucket = this.byLen.get(e.len);
    if (!bucket) {
      bucket = new Map();
      this.byLen.set(e.len, bucket);
      this.lens = [...this.byLen.keys()].sort((a, b) => b - a);
    }
    const key = netKey(this.family, e.net);
    const list = bucket.get(key);
    if (list) list.push(e);
    else bucket.set(key, [e]);
    this.entries.push(e);
  }

  /** The route `lookup` picks, without working out its ties and overlaps (for the tracer's many lookups). */
  match(addr: bigint): FibEntry | undefined {
    for (const len of this.lens) {
      const net = addr & MASKS[this.family][len];
      const list = this.byLen.get(len)!.get(netKey(this.family, net));
      if (!list) continue;
      let best: FibEntry | undefined;
      for (const e of list) if (e.net === net && (!best || e.metric < best.metric)) best = e;
      if (best) return best;
    }
    return undefined;
  }

  /** Longest prefix match, then lowest metric, then the route added first (as the kernel does). */
  lookup(addr: bigint): Lookup | undefined {
    let found: Lookup | undefined;
    for (const len of this.lens) {
      const net = addr & MASKS[this.family][len];
      const list = this.byLen.get(len)!.get(netKey(this.family, net));
      if (!list) continue;
      if (found) {
        for (const e of list)
          if (e.net === net && e.kernel && found.entry.kernel && e.dev !== found.entry.dev)
            found.overlaps.push(e);
        continue;
      }
      let best: FibEntry | undefined;
      for (const e of list) if (e.net === net && (!best || e.metric < best.metric)) best = e;
      if (!best) continue;
      const b = best;
      const ties = list.filter((e) => e !== b && e.net === net && e.metric === b.metric && e.dev !== b.dev);
      found = { entry: b, ties, overlaps: [] };
    }
    return found;
  }
}
