import type { Context, Holder, WrittenAddress } from './context.js';
import { prefixRange } from './ip.js';
import type { Segment } from './segments.js';

/**
 * Every address at most once in the lab (whatever its prefix length). Returns the addresses found to repeat one
 * written before, so that the address plan does not report them a second time.
 */
export function checkUniqueAddresses(ctx: Context): Set<WrittenAddress> {
  const owners = new Map<string, WrittenAddress>();
  const repeated = new Set<WrittenAddress>();
  for (const a of ctx.written) {
    const address = a.parsed.address;
    const first = owners.get(address);
    if (!first) owners.set(address, a);
    else {
      repeated.add(a);
      ctx.fail(
        a.path,
        `address ${address} is already used by ${first.owner} (line ${ctx.locate(first.path).line})`,
      );
    }
  }
  return repeated;
}

/** How a segment is named in messages: `link 3`, or `the LAN of bridge 'sw'`. */
function segmentName(seg: Segment): string {
  return seg.bridges.length > 0 ? `the LAN of bridge '${seg.bridges[0]}'` : `link ${seg.links[0] + 1}`;
}

/**
 * Refuses address plans that cannot work, from the addresses the file writes:
 * - On one segment (a link, or a bridge LAN), an interface whose addresses of a family share a subnet with no
 *   other interface there, while others have addresses of that family: the two ends of a link in 10.0.2.0/24
 *   and 10.0.3.0/24 never reach each other (neither is on the other's connected subnet). An interface alone in
 *   its family on the segment is fine (the other ends are left unaddressed).
 * - One subnet on two segments, or subnets that overlap (10.0.0.0/24 and 10.0.0.128/25): the kernel would send
 *   packets for them out of one interface only.
 * Each problem is reported at one address and names the line of the other. Runs in O(n log n) in the number of
 * written addresses.
 */
export function checkAddressPlan(ctx: Context, segments: Segment[], repeated: Set<WrittenAddress>): void {
  const segmentOf = new Map<Holder, number>();
  segments.forEach((seg, s) => {
    for (const m of seg.members) segmentOf.set(m, s);
    for (const b of seg.bridges) segmentOf.set(ctx.nodes.get(b)!, s);
  });
  const line = (a: WrittenAddress) => ctx.locate(a.path).line;

  // Per segment and family (0: IPv4, 1: IPv6): each interface's written addresses, in file order.
  const groups: Map<Holder, WrittenAddress[]>[][] = segments.map(() => []);
  const placed: Placed[][] = [[], []];
  for (const a of ctx.written) {
    const s = segmentOf.get(a.holder);
    if (s === undefined || repeated.has(a)) continue;
    const f = a.parsed.family === 4 ? 0 : 1;
    let holders = groups[s][f];
    if (!holders) {
      holders = new Map();
      groups[s][f] = holders;
    }
    const list = holders.get(a.holder);
    if (list) list.push(a);
    else holders.set(a.holder, [a]);
    const r = prefixRange(a.cidr)!;
    // IPv4 as numbers (exact in a double), IPv6 as bigints: sorting 100,000 bigints is slow.
    placed[f].push({
      a,
      segment: s,
      first: f === 0 ? Number(r.first) : r.first,
      last: f === 0 ? Number(r.last) : r.last,
    });
  }

  groups.forEach((byFamily, s) => {
    for (const holders of byFamily)
      if (holders && holders.size > 1) checkSegment(ctx, segments[s], holders, line);
  });
  for (const ranges of placed) checkOverlaps(ctx, segments, ranges, line);
}

interface Placed {
  a: WrittenAddress;
  segment: number;
  first: number | bigint;
  last: number | bigint;
}

/** The interfaces of one segment, of one family: each must share a subnet with another one. */
function checkSegment(
  ctx: Context,
  seg: Segment,
  holders: Map<Holder, WrittenAddress[]>,
  line: (a: WrittenAddress) => number,
): void {
  const lists = [...holders.values()];
  // The common case, a link with one address at each end in one subnet, without building anything.
  if (lists.length === 2 && lists[0].length === 1 && lists[1].length === 1) {
    if (lists[0][0].parsed.network === lists[1][0].parsed.network) return;
  }
  const networks = new Map<string, Set<Holder>>(); // subnet -> interfaces holding an address in it
  for (const [holder, list] of holders) {
    for (const a of list) {
      const have = networks.get(a.parsed.network);
      if (have) have.add(holder);
      else networks.set(a.parsed.network, new Set([holder]));
    }
  }
  const lone = [...holders].filter(([, list]) =>
    list.every((a) => networks.get(a.parsed.network)!.size === 1),
  );
  if (seg.bridges.length === 0 && lone.length === 2) {
    // A point-to-point link: one problem for its two ends.
    const [x, y] = lone.map(([, list]) => list[0]);
    const [first, second] = line(x) <= line(y) ? [x, y] : [y, x];
    ctx.fail(
      second.path,
      `the two ends of link ${seg.links[0] + 1} are in different subnets: ${second.cidr} of ${second.owner} and ${first.cidr} of ${first.owner} (line ${line(first)}); neither can reach the other: give both addresses of one subnet`,
    );
    return;
  }
  for (const [holder, list] of lone) {
    const near = [...holders].find(([h]) => h !== holder)![1][0];
    ctx.fail(
      list[0].path,
      `${list[0].cidr} of ${list[0].owner} shares its subnet with no other interface on ${segmentName(seg)}, which uses ${near.parsed.network} (${near.owner}, line ${line(near)}): it cannot reach them`,
    );
  }
}

/** Subnets of one family on different segments that share addresses: one problem per pair of segments. */
function checkOverlaps(
  ctx: Context,
  segments: Segment[],
  ranges: Placed[],
  line: (a: WrittenAddress) => number,
): void {
  ranges.sort((x, y) =>
    x.first < y.first ? -1 : x.first > y.first ? 1 : x.last > y.last ? -1 : x.last < y.last ? 1 : 0,
  );
  // Sweep by first address, keeping the range that reaches furthest so far.
  let reach: Placed | undefined;
  const reported = new Set<string>();
  for (const r of ranges) {
    if (reach && r.first <= reach.last && r.segment !== reach.segment) {
      const pair = `${Math.min(r.segment, reach.segment)}/${Math.max(r.segment, reach.segment)}`;
      if (!reported.has(pair)) {
        reported.add(pair);
        const [earlier, later] = line(reach.a) <= line(r.a) ? [reach, r] : [r, reach];
        const [net, netLater] = [earlier.a.parsed.network, later.a.parsed.network];
        ctx.fail(
          later.a.path,
          `${later.a.cidr} of ${later.a.owner} ${net === netLater ? 'is in' : `(${netLater}) overlaps`} ${net} of ${segmentName(segments[earlier.segment])} at line ${line(earlier.a)}, on another segment: a subnet belongs to one link or LAN, or the kernel sends its packets out of one interface only`,
        );
      }
    }
    if (!reach || r.last > reach.last) reach = r;
  }
}
