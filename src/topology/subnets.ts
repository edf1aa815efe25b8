import type { Context, Family, WrittenAddress } from './context.js';
import { prefixRange } from './ip.js';
import { interfaceKey, type Segment } from './segments.js';
import { BRIDGE_DEVICE } from './types.js';

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
  const segmentOf = new Map<string, number>();
  segments.forEach((seg, s) => {
    for (const m of seg.members) segmentOf.set(interfaceKey(m.node, m.name), s);
    for (const b of seg.bridges) segmentOf.set(interfaceKey(b, BRIDGE_DEVICE), s);
  });
  const line = (a: WrittenAddress) => ctx.locate(a.path).line;

  // Per segment and family: each interface's written addresses, in file order.
  const bySegment = new Map<string, Map<string, WrittenAddress[]>>();
  const placed: { a: WrittenAddress; segment: number; first: bigint; last: bigint }[] = [];
  for (const a of ctx.written) {
    const s = segmentOf.get(a.holder);
    if (s === undefined || repeated.has(a)) continue;
    const group = `${s}/${a.parsed.family}`;
    let holders = bySegment.get(group);
    if (!holders) {
      holders = new Map();
      bySegment.set(group, holders);
    }
    const list = holders.get(a.holder);
    if (list) list.push(a);
    else holders.set(a.holder, [a]);
    const r = prefixRange(a.cidr)!;
    placed.push({ a, segment: s, first: r.first, last: r.last });
  }

  for (const [group, holders] of bySegment) {
    if (holders.size < 2) continue;
    const seg = segments[Number(group.split('/')[0])];
    const networks = new Map<string, string[]>(); // subnet -> interfaces holding an address in it
    for (const [holder, list] of holders) {
      for (const a of list) {
        const net = a.parsed.network;
        const have = networks.get(net);
        if (!have) networks.set(net, [holder]);
        else if (!have.includes(holder)) have.push(holder);
      }
    }
    const lone = [...holders].filter(([, list]) =>
      list.every((a) => networks.get(a.parsed.network)!.length === 1),
    );
    if (seg.bridges.length === 0 && lone.length === 2) {
      // A point-to-point link: one problem for its two ends.
      const [x, y] = lone.map(([, list]) => list[0]);
      const [first, second] = line(x) <= line(y) ? [x, y] : [y, x];
      ctx.fail(
        second.path,
        `the two ends of link ${seg.links[0] + 1} are in different subnets: ${second.cidr} of ${second.owner} and ${first.cidr} of ${first.owner} (line ${line(first)}); neither can reach the other: give both addresses of one subnet`,
      );
      continue;
    }
    for (const [holder, list] of lone) {
      const others = [...holders].filter(([h]) => h !== holder).map(([, l]) => l[0]);
      const near = others[0];
      ctx.fail(
        list[0].path,
        `${list[0].cidr} of ${list[0].owner} shares its subnet with no other interface on ${segmentName(seg)}, which uses ${near.parsed.network} (${near.owner}, line ${line(near)}): it cannot reach them`,
      );
    }
  }

  for (const family of [4, 6] as Family[]) {
    const ranges = placed
      .filter((p) => p.a.parsed.family === family)
      .sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : x.last > y.last ? -1 : 1));
    // Sweep by first address, keeping the range that reaches furthest so far.
    let reach: (typeof ranges)[number] | undefined;
    const reported = new Set<string>(); // pairs of segments: one problem each
    for (const r of ranges) {
      const pair = reach && `${Math.min(r.segment, reach.segment)}/${Math.max(r.segment, reach.segment)}`;
      if (reach && pair && r.first <= reach.last && r.segment !== reach.segment && !reported.has(pair)) {
        reported.add(pair);
        const [earlier, later] = line(reach.a) <= line(r.a) ? [reach, r] : [r, reach];
        const net = (x: typeof r) => x.a.parsed.network;
        const same = net(earlier) === net(later);
        ctx.fail(
          later.a.path,
          `${later.a.cidr} of ${later.a.owner} ${same ? 'is in' : `(${net(later)}) overlaps`} ${net(earlier)} of ${segmentName(segments[earlier.segment])} at line ${line(earlier.a)}, on another segment: a subnet belongs to one link or LAN, or the kernel sends its packets out of one interface only`,
        );
      }
      if (!reach || r.last > reach.last) reach = r;
    }
  }
}
