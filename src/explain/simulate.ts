import type { FibEntry, Lookup } from './fib.js';
import type { LabModel, SysctlValue } from './model.js';
import type { Family, Hop } from './types.js';

/** Why a packet's walk ended. */
export type Stop =
  | { kind: 'delivered' }
  /** No route: at the sender (`inIf` absent) or at a router. */
  | { kind: 'no-route'; node: string; inIf?: string }
  /** The sender has a route but no address of the family to send from. */
  | { kind: 'no-source'; node: string }
  /** Nobody answers ARP/ND for the next hop. */
  | { kind: 'neigh'; node: string; dev: string; nexthop: string; entry: FibEntry }
  | { kind: 'no-forward'; node: string; inIf: string; sysctl: SysctlValue }
  | { kind: 'rp-filter'; node: string; inIf: string; mode: number; values: SysctlValue[]; backDev?: string }
  | { kind: 'ttl'; node: string; inIf: string; ttl: SysctlValue }
  | { kind: 'loop'; node: string; inIf: string; cycle: string[] };

/** One packet's trip through the lab. */
export interface Walk {
  origin: string;
  family: Family;
  dst: string;
  /** Source address of the packet (absent when the sender has no route). */
  src?: string;
  hops: Hop[];
  /** Nodes that forwarded the packet. */
  routers: number;
  /** TTL the sender starts with (and which sysctl says so). */
  ttlStart?: SysctlValue;
  /** TTL on arrival, when delivered. */
  ttl?: number;
  stop: Stop;
  notes: string[];
}

function lookupNotes(node: string, dst: string, lk: Lookup, notes: string[]): void {
  const e = lk.entry;
  if (lk.ties.length > 0) {
    const devs = [e.dev, ...lk.ties.map((t) => t.dev)].join(' and ');
    notes.push(`${node} has a route to ${e.network} by ${devs}: the kernel uses the first one, by ${e.dev}.`);
  }
  if (lk.overlaps.length > 0) {
    const others = lk.overlaps.map((o) => `${o.network} (${o.dev})`).join(', ');
    notes.push(
      `${node}'s subnets overlap: ${dst} is in ${e.network} (${e.dev}) and in ${others}; the longest prefix, /${e.len}, wins.`,
    );
  }
}

/**
 * Reverse-path filter (`fib_validate_source`): with rp_filter 1 (strict) the route back to the source must leave
 * by the interface the packet came in by; with 2 (loose) some route back must exist.
 */
function reversePath(
  m: LabModel,
  node: string,
  inIf: string,
  src: string,
  notes: string[],
): { ok: boolean; mode: number; values: SysctlValue[]; backDev?: string } {
  const { mode, values } = m.rpFilter(node, inIf);
  const host = m.node(node)!.node.kind === 'host' && values.every((v) => v.from === 'default');
  if (mode === 0 && !host) return { ok: true, mode, values };
  const back = m.lookup(node, 4, src);
  const strictFails = !back || back.entry.dev !== inIf;
  if (mode === 0) {
    if (strictFails)
      notes.push(
        `assuming rp_filter = 0 on ${node} (the file does not set it): with strict rp_filter (1) ${node} would drop ` +
          `packets from ${src} coming in by ${inIf}, since its route back ${back ? `leaves by ${back.entry.dev}` : 'does not exist'}.`,
      );
    return { ok: true, mode, values };
  }
  return { ok: mode === 1 ? !strictFails : !!back, mode, values, backDev: back?.entry.dev };
}

/**
 * Follows one packet from `origin` to `dst` the way the Linux kernel forwards it: route lookup and source
 * selection at the sender, ARP/ND on each segment, then at every receiving node rp_filter, local delivery
 * (weak host model), the forwarding sysctl, route lookup, TTL decrement, and loop detection.
 * `ttlOverride` replaces the sender's default TTL (used to measure how long a path would be).
 */
export function simulate(
  m: LabModel,
  origin: string,
  family: Family,
  dst: string,
  src?: string,
  ttlOverride?: number,
): Walk {
  const w: Walk = { origin, family, dst, src, hops: [], routers: 0, stop: { kind: 'delivered' }, notes: [] };
  const { hops, notes } = w;
  if (m.isLocal(origin, family, dst)) {
    hops.push({ node: origin, outIf: 'lo' });
    w.src ??= dst;
    w.ttlStart = m.defaultTtl(origin, family, 'lo');
    w.ttl = Number(w.ttlStart.value);
    return w;
  }
  let lk = m.lookup(origin, family, dst);
  if (!lk) {
    hops.push({ node: origin });
    w.stop = { kind: 'no-route', node: origin };
    return w;
  }
  w.src ??= m.selectSource(origin, family, lk);
  if (!w.src) {
    hops.push({ node: origin });
    w.stop = { kind: 'no-source', node: origin };
    return w;
  }
  w.ttlStart = m.defaultTtl(origin, family, lk.entry.dev);
  let ttl = ttlOverride ?? (Number(w.ttlStart.value) || 64);
  let cur = origin;
  let inIf: string | undefined;
  const seen = new Set([origin]);
  for (;;) {
    if (lk.ties.length > 0 || lk.overlaps.length > 0) lookupNotes(cur, dst, lk, notes);
    const e = lk.entry;
    const hop: Hop = { node: cur, inIf, outIf: e.dev, route: e.text };
    if (e.via) hop.via = e.via;
    hops.push(hop);
    const out = m.node(cur)!.ifs.get(e.dev)!;
    const nexthop = e.via ?? dst;
    const nb = m.neighbour(out, family, nexthop);
    if (!nb) {
      w.stop = { kind: 'neigh', node: cur, dev: e.dev, nexthop, entry: e };
      return w;
    }
    if (nb.dups.length > 0)
      notes.push(
        `${nexthop} is answered by ${[nb.target, ...nb.dups].map((i) => i.node).join(' and ')} on ${cur}'s ${e.dev} segment: ` +
          `a duplicate address; the simulation follows ${nb.target.node}.`,
      );
    if (nb.assumed)
      notes.push(
        `${nexthop} is link-local: assuming ${nb.target.node}, the only neighbour on ${cur}'s ${e.dev}, has it.`,
      );
    const bridges = m.l2Path(out, nb.target);
    if (bridges.length > 0) hop.bridges = bridges;
    const next = nb.target.node;
    const nextIn = nb.target.name;
    hops.push({ node: next, inIf: nextIn });
    if (family === 4) {
      const rp = reversePath(m, next, nextIn, w.src, notes);
      if (!rp.ok) {
        w.stop = {
          kind: 'rp-filter',
          node: next,
          inIf: nextIn,
          mode: rp.mode,
          values: rp.values,
          backDev: rp.backDev,
        };
        return w;
      }
    }
    if (m.isLocal(next, family, dst)) {
      w.ttl = ttl;
      return w;
    }
    const fwd = m.forwarding(next, family);
    const lk2 = fwd.value === '1' ? m.lookup(next, family, dst) : undefined;
    if (fwd.value !== '1') w.stop = { kind: 'no-forward', node: next, inIf: nextIn, sysctl: fwd };
    else if (!lk2) w.stop = { kind: 'no-route', node: next, inIf: nextIn };
    else if (ttl <= 1) w.stop = { kind: 'ttl', node: next, inIf: nextIn, ttl: w.ttlStart };
    else if (seen.has(next)) {
      const cycle = hops.slice(hops.findIndex((h) => h.node === next && h.outIf)).filter((h) => h.outIf);
      w.stop = { kind: 'loop', node: next, inIf: nextIn, cycle: [...cycle.map((h) => h.node), next] };
    }
    if (w.stop.kind !== 'delivered' || !lk2) return w;
    hops.pop();
    seen.add(next);
    ttl -= 1;
    w.routers += 1;
    cur = next;
    inIf = nextIn;
    lk = lk2;
  }
}

/** The outcome of a walk without its hops (memoised on the model: fixes and ICMP checks ask the same questions). */
export function outcome(
  m: LabModel,
  origin: string,
  family: Family,
  dst: string,
  src?: string,
  ttlOverride?: number,
): Pick<Walk, 'stop' | 'routers' | 'src'> {
  return m.memo(`walk|${origin}|${family}|${dst}|${src}|${ttlOverride}`, () => {
    const { stop, routers, src: s } = simulate(m, origin, family, dst, src, ttlOverride);
    return { stop, routers, src: s };
  });
}
