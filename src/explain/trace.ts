import type { FibEntry } from './fib.js';
import type { LabModel } from './model.js';
import type { Family } from './types.js';

/**
 * Where a traced packet ended: delivered (to `end`, after `routers` forwards, arriving with `ttl`, sent from
 * `src`), or not. When it is known exactly, `stop` tells where a lost packet stopped, for the two failures whose
 * description does not depend on the rest of the path: no route at the sender, forwarding off at a router.
 */
export type Traced = Delivered | { delivered: false; stop?: TracedStop };

export interface Delivered {
  delivered: true;
  end: string;
  routers: number;
  ttl: number;
  src: string;
}

/** A `Delivered` to fill in place (`trace(..., into)`), sparing an object per trace in big matrices. */
export function deliveredScratch(): Delivered {
  return { delivered: true, end: '', routers: 0, ttl: 0, src: '' };
}

function deliver(
  into: Delivered | undefined,
  end: string,
  routers: number,
  ttl: number,
  src: string,
): Delivered {
  if (!into) return { delivered: true, end, routers, ttl, src };
  into.end = end;
  into.routers = routers;
  into.ttl = ttl;
  into.src = src;
  return into;
}

export interface TracedStop {
  kind: 'no-route' | 'no-forward';
  node: string;
  /** The interface the packet came in by (`no-forward`). */
  inIf?: string;
  /** Routers that forwarded the packet before it stopped. */
  routers: number;
}

const NOT_DELIVERED: Traced = { delivered: false };

/** `next` value of a node that cannot send towards the destination (no route, or nobody answers ARP/ND). */
const STUCK = -1;
/** `dist` values besides a count of routers: not delivered, being worked out, not yet asked. */
const FAIL = -1;
const VISITING = -2;
const UNKNOWN = -3;

/**
 * Everything about one destination that does not depend on who sends: per node (by index), whether it owns the
 * address, the route lookup, the node the packet goes to next, the interface it arrives on and that interface's
 * rp_filter mode. Filled lazily, node by node.
 */
interface DstTable {
  family: Family;
  dst: string;
  /** 1 once the node's row is filled. */
  known: Uint8Array;
  local: Uint8Array;
  /** The route `ip route get dst` picks at the node. */
  entry: (FibEntry | undefined)[];
  next: Int32Array;
  nextIf: string[];
  rp: Int32Array;
  /**
   * For a packet received by the node (not as sender), ignoring TTL: how many routers forward it from there on
   * until it is delivered (or FAIL), to which node (`end`), and whether an rp_filter on the way may drop it.
   * A FAIL that is a router with forwarding off says which one (`failAt`, else -1), after how many routers
   * (`failDist`), and which node hands the packet to it (`failPrev`, -1 when it is the node itself).
   */
  dist: Int32Array;
  end: Int32Array;
  rpOn: Uint8Array;
  failAt: Int32Array;
  failDist: Int32Array;
  failPrev: Int32Array;
}

/**
 * A fast stand-in for `simulate` over many pairs of one model: it follows the same kernel rules (local delivery,
 * route lookup and source selection, ARP/ND, rp_filter, the forwarding sysctl, TTL, loops) and finds the same
 * end, router count and arrival TTL, but builds no hops, routes or notes. Per-destination facts (lookups,
 * next hops, and how far each node is from delivery) are computed once per node and shared by every sender, so
 * a trace mostly costs a few array reads. Why a packet is lost is `simulate` and `describe`'s job; the tracer
 * only says where, for the failures `describe` shares across walks (`sharedFailureKey`).
 */
export class Tracer {
  private readonly names: string[];
  private readonly index = new Map<string, number>();
  private readonly tables: Record<Family, Map<string, DstTable>> = { 4: new Map(), 6: new Map() };
  /** Per family, per node: 1 when it forwards, 0 when not, -1 not yet asked. */
  private readonly forwards: Record<Family, Int8Array>;
  /** Loop detection in `walk`: `seen[i] === stamp` when node i already forwarded the packet being traced. */
  private readonly seen: Int32Array;
  private stamp = 0;
  private readonly stack: Int32Array;
  /** Source address a node picks for a route (`ip route get` `src`; null when it has none), per route entry. */
  private readonly sources = new Map<FibEntry, string | null>();
  /** TTL a node starts its packets with, per family and node: IPv4 one value, IPv6 one per output device. */
  private readonly ttl4: Float64Array;
  private readonly ttl6: Map<string, number>[];

  constructor(private readonly m: LabModel) {
    this.names = [...m.nodes.keys()];
    this.names.forEach((n, i) => {
      this.index.set(n, i);
    });
    const n = this.names.length;
    this.forwards = { 4: new Int8Array(n).fill(-1), 6: new Int8Array(n).fill(-1) };
    this.seen = new Int32Array(n);
    this.stack = new Int32Array(n);
    this.ttl4 = new Float64Array(n).fill(-1);
    this.ttl6 = Array.from({ length: n }, () => new Map());
  }

  /** The TTL (hop limit) node o's packets leave by `dev` with (`net.ipv4.ip_default_ttl`, IPv6 per device). */
  private startTtl(o: number, family: Family, dev: string): number {
    if (family === 4) {
      let v = this.ttl4[o];
      if (v < 0) {
        v = Number(this.m.defaultTtl(this.names[o], 4, dev).value) || 64;
        this.ttl4[o] = v;
      }
      return v;
    }
    let v = this.ttl6[o].get(dev);
    if (v === undefined) {
      v = Number(this.m.defaultTtl(this.names[o], 6, dev).value) || 64;
      this.ttl6[o].set(dev, v);
    }
    return v;
  }

  private table(family: Family, dst: string): DstTable {
    let t = this.tables[family].get(dst);
    if (!t) {
      const n = this.names.length;
      t = {
        family,
        dst,
        known: new Uint8Array(n),
        local: new Uint8Array(n),
        entry: new Array(n),
        next: new Int32Array(n),
        nextIf: new Array(n),
        rp: new Int32Array(n),
        dist: new Int32Array(n).fill(UNKNOWN),
        end: new Int32Array(n),
        rpOn: new Uint8Array(n),
        failAt: new Int32Array(n),
        failDist: new Int32Array(n),
        failPrev: new Int32Array(n),
      };
      this.tables[family].set(dst, t);
    }
    return t;
  }

  /** Fills node i's row: does it own dst; else where does `ip route get dst` send it, and who answers ARP/ND. */
  private fill(t: DstTable, i: number): void {
    t.known[i] = 1;
    const node = this.names[i];
    if (this.m.isLocal(node, t.family, t.dst)) {
      t.local[i] = 1;
      return;
    }
    t.next[i] = STUCK;
    // The table is the memo: no need for the model's cache of lookups by address.
    const e = this.m.node(node)!.fib[t.family].match(this.m.big(t.dst));
    if (!e) return;
    t.entry[i] = e;
    const out = this.m.node(node)!.ifs.get(e.dev)!;
    const nb = this.m.neighbour(out, t.family, e.via ?? t.dst);
    if (!nb) return;
    t.next[i] = this.index.get(nb.target.node)!;
    t.nextIf[i] = nb.target.name;
    if (t.family === 4) t.rp[i] = this.m.rpFilter(nb.target.node, nb.target.name).mode;
  }

  private forwarding(family: Family, i: number): boolean {
    let f = this.forwards[family][i];
    if (f === -1) {
      f = this.m.forwarding(this.names[i], family).value === '1' ? 1 : 0;
      this.forwards[family][i] = f;
    }
    return f === 1;
  }

  /** rp_filter at node i for a packet from `src` arriving by `inIf`, with a non-zero mode (`reversePath`). */
  private reversePathOk(i: number, inIf: string, src: string, mode: number): boolean {
    const back = this.m.lookup(this.names[i], 4, src);
    return mode === 1 ? back !== undefined && back.entry.dev === inIf : back !== undefined;
  }

  /**
   * Where a packet from `origin` to `dst` ends, as `simulate(m, origin, family, dst, src)` would find it:
   * delivered (end node, routers crossed, TTL on arrival, source address) or not. A delivered result is written
   * into `into` when given (valid until its next use).
   */
  trace(origin: string, family: Family, dst: string, src?: string, into?: Delivered): Traced {
    const t = this.table(family, dst);
    const o = this.index.get(origin)!;
    if (!t.known[o]) this.fill(t, o);
    if (t.local[o]) {
      const ttl = Number(this.m.defaultTtl(origin, family, 'lo').value);
      return deliver(into, origin, 0, ttl, src ?? dst);
    }
    const entry = t.entry[o];
    if (!entry) return { delivered: false, stop: { kind: 'no-route', node: origin, routers: 0 } };
    let from = src;
    if (from === undefined) {
      let s = this.sources.get(entry);
      if (s === undefined) {
        s = this.m.selectSource(origin, family, { entry, ties: [], overlaps: [] }) ?? null;
        this.sources.set(entry, s);
      }
      if (s === null) return NOT_DELIVERED;
      from = s;
    }
    const ttl = this.startTtl(o, family, entry.dev);
    const nx = t.next[o];
    if (nx === STUCK) return NOT_DELIVERED;
    const mode = t.rp[o];
    if (mode !== 0 && !this.reversePathOk(nx, t.nextIf[o], from, mode)) return NOT_DELIVERED;
    const d = this.distance(t, nx);
    if (t.rpOn[nx]) return this.walk(t, o, from, ttl, into);
    // Router j (from 1) on the way gets the packet with TTL ttl - (j - 1), and drops it when that is 1 or less:
    // k routers pass it on when ttl > k.
    if (d === FAIL) {
      const z = t.failAt[nx];
      const k = t.failDist[nx];
      if (z < 0 || ttl <= k) return NOT_DELIVERED;
      const inIf = t.nextIf[t.failPrev[nx] < 0 ? o : t.failPrev[nx]];
      return { delivered: false, stop: { kind: 'no-forward', node: this.names[z], inIf, routers: k } };
    }
    if (d > 0 && ttl <= d) return NOT_DELIVERED;
    return deliver(into, this.names[t.end[nx]], d, ttl - d, from);
  }

  /**
   * Routers from node i (receiving the packet) until delivery, memoised for every node on the way: follows
   * `next` until a node that owns the address, that does not forward or cannot send, or a node already on the
   * way (a loop). The sender is never on the way of a delivered packet (its next hop would lead back into a
   * loop), nor before a router with forwarding off.
   */
  private distance(t: DstTable, i: number): number {
    if (t.dist[i] !== UNKNOWN) return t.dist[i];
    const stack = this.stack;
    let sp = 0;
    let count = 0;
    let failed = false;
    let end = -1;
    let rpOn = 0;
    let z = -1;
    let zPrev = -1;
    for (let cur = i; ; ) {
      const d = t.dist[cur];
      if (d !== UNKNOWN) {
        rpOn = t.rpOn[cur];
        if (d >= 0) {
          count = d;
          end = t.end[cur];
        } else {
          failed = true;
          if (d === FAIL && t.failAt[cur] >= 0) {
            z = t.failAt[cur];
            count = t.failDist[cur];
            zPrev = t.failPrev[cur];
          }
        }
        break;
      }
      if (!t.known[cur]) this.fill(t, cur);
      if (t.local[cur]) {
        t.dist[cur] = 0;
        t.end[cur] = end = cur;
        break;
      }
      failed = true;
      t.dist[cur] = FAIL;
      t.failAt[cur] = -1;
      if (!this.forwarding(t.family, cur)) {
        t.failAt[cur] = z = cur;
        t.failDist[cur] = 0;
        t.failPrev[cur] = -1;
        break;
      }
      if (!t.entry[cur] || t.next[cur] === STUCK) break;
      failed = false;
      t.dist[cur] = VISITING;
      stack[sp++] = cur;
      cur = t.next[cur];
    }
    while (sp > 0) {
      const y = stack[--sp];
      count += 1;
      if (t.rp[y] !== 0) rpOn = 1;
      t.rpOn[y] = rpOn;
      if (!failed) {
        t.dist[y] = count;
        t.end[y] = end;
        continue;
      }
      t.dist[y] = FAIL;
      t.failAt[y] = z;
      if (z < 0) continue;
      if (zPrev < 0) zPrev = y;
      t.failDist[y] = count;
      t.failPrev[y] = zPrev;
    }
    return t.dist[i];
  }

  /** Hop by hop from the sender, checking rp_filter at each node: for paths where one is on. */
  private walk(t: DstTable, o: number, from: string, start: number, into?: Delivered): Traced {
    let ttl = start;
    const stamp = ++this.stamp;
    const seen = this.seen;
    seen[o] = stamp;
    let routers = 0;
    for (let cur = o; ; ) {
      const nx = t.next[cur];
      if (nx === STUCK) return NOT_DELIVERED;
      const mode = t.rp[cur];
      if (mode !== 0 && !this.reversePathOk(nx, t.nextIf[cur], from, mode)) return NOT_DELIVERED;
      if (!t.known[nx]) this.fill(t, nx);
      if (t.local[nx]) return deliver(into, this.names[nx], routers, ttl, from);
      if (!this.forwarding(t.family, nx) || !t.entry[nx] || ttl <= 1 || seen[nx] === stamp)
        return NOT_DELIVERED;
      seen[nx] = stamp;
      ttl -= 1;
      routers += 1;
      cur = nx;
    }
  }
}
