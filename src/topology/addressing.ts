import { type Context, FAMILIES, FAMILY_KEY, type Family } from './context.js';
import { addressToBigInt, bigIntToAddress, isDefaultPrefix, parseCidr } from './ip.js';
import type { Segment } from './segments.js';

/**
 * Where IPv4 addresses left out of a topology file come from when `topology.defaults.ipv4-pool` is not given.
 * Each point-to-point link gets a /30 from it (its two usable addresses, .1 and .2, go to the endpoints in
 * order); each bridge LAN gets the smallest block that fits its interfaces (.1, .2, ... in link order).
 */
export const DEFAULT_IPV4_POOL = '10.200.0.0/16';

/** Where IPv6 addresses left out of a file come from, in a file that writes IPv6 addresses: a /64 per segment. */
export const DEFAULT_IPV6_POOL = 'fd00:200::/48';

/**
 * Hands out aligned blocks of a pool, in order, skipping every block that overlaps a reserved prefix.
 * Returns the first address of a block of the given prefix length, or undefined when the pool is full.
 */
export function poolAllocator(pool: string, reserved: string[]): (prefixLen: number) => bigint | undefined {
  const p = parseCidr(pool)!;
  const bits = p.family === 4 ? 32 : 128;
  const end = addressToBigInt(p.address) + (1n << BigInt(bits - p.prefixLen));
  // Sorted by start: the cursor only moves up, so the reserved blocks behind it are passed once.
  const taken = reserved
    .map(parseCidr)
    .filter((c) => c?.family === p.family)
    .map((c) => {
      const start = addressToBigInt(c!.network.split('/')[0]);
      return [start, start + (1n << BigInt(bits - c!.prefixLen))] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let passed = 0;
  let cursor = addressToBigInt(p.address);
  return (prefixLen) => {
    const size = 1n << BigInt(bits - prefixLen);
    for (;;) {
      cursor = ((cursor + size - 1n) / size) * size;
      if (cursor + size > end) return undefined;
      while (passed < taken.length && taken[passed][1] <= cursor) passed++;
      let clash: bigint | undefined;
      for (let i = passed; i < taken.length && taken[i][0] < cursor + size; i++) {
        if (taken[i][1] > cursor && (clash === undefined || taken[i][1] > clash)) clash = taken[i][1];
      }
      if (clash === undefined) break;
      cursor = clash;
    }
    cursor += size;
    return cursor - size;
  };
}

export interface AutoAddressing {
  family: 4 | 6;
  pool: string;
  /** Prefixes already in use (addresses written in the file, route destinations); never handed out. */
  reserved: () => string[];
  /** True when the segment has addresses of this family written, or was told to have none (`ipv4: []`). */
  written: (segment: Segment) => boolean;
}

/**
 * Gives addresses to the interfaces of every segment that has none of the family written: a /30 (IPv4) or a
 * /64 (IPv6) per point-to-point link, and for a bridge LAN the smallest IPv4 block holding all its
 * interfaces (a /64 for IPv6). Blocks are taken from the pool in segment order, so the same file always gets
 * the same addresses. Marks the interfaces `autoAddressed`. Returns the segments for which the pool had no room.
 */
export function assignAddresses(segments: Segment[], opts: AutoAddressing): Segment[] {
  let allocator: ReturnType<typeof poolAllocator> | undefined;
  const full: Segment[] = [];
  for (const seg of segments) {
    if (seg.members.length === 0 || opts.written(seg)) continue;
    allocator ??= poolAllocator(opts.pool, opts.reserved());
    const next = allocator;
    const len = opts.family === 6 ? 64 : Math.min(30, 32 - Math.ceil(Math.log2(seg.members.length + 2)));
    const base = next(len);
    if (base === undefined) {
      full.push(seg);
      continue;
    }
    seg.members.forEach((iface, k) => {
      const addr = `${bigIntToAddress(base + BigInt(k + 1), opts.family)}/${len}`;
      (opts.family === 4 ? iface.ipv4 : iface.ipv6).push(addr);
      iface.autoAddressed = true;
    });
  }
  return full;
}

/**
 * Allocates addresses to the segments that have none of a family written, avoiding every prefix the file uses
 * (addresses, route destinations other than the default). The families allocated: those the file writes
 * addresses of, or IPv4 alone when it writes none; plus any family whose pool `topology.defaults` sets, and never
 * one whose pool is `none`. So an IPv6-only file gets no IPv4.
 */
export function autoAddress(ctx: Context, segments: Segment[]): void {
  let reservedList: string[] | undefined;
  // Only when some segment needs addresses: a file that writes all of them never pays for the list.
  const reserved = () => {
    reservedList ??= [
      ...ctx.written.map((a) => a.parsed.network),
      ...[...ctx.specNodes.values()].flatMap((n) =>
        (n.routes ?? []).map((r) => r.dst).filter((dst) => dst.includes('/') && !isDefaultPrefix(dst)),
      ),
    ];
    return reservedList;
  };
  const writtenFamilies = new Set<Family>(ctx.written.map((a) => a.parsed.family));
  for (const family of FAMILIES) {
    const k = FAMILY_KEY[family];
    const given = ctx.defaults[`${k}-pool`];
    if (given === 'none') continue;
    const wanted = writtenFamilies.size === 0 ? family === 4 : writtenFamilies.has(family);
    if (given === undefined && !wanted) continue;
    const pool = given ?? (family === 4 ? DEFAULT_IPV4_POOL : DEFAULT_IPV6_POOL);
    const written = (seg: Segment) =>
      seg.links.some((l) => ctx.writtenLinks[family].has(l)) ||
      seg.bridges.some((b) => ctx.specNodes.get(b)?.[k] !== undefined);
    for (const seg of assignAddresses(segments, { family, pool, reserved, written })) {
      if (ctx.partial) continue; // what was left out of the file may be what fills the pool
      const where =
        given !== undefined ? ['topology', 'defaults', `${k}-pool`] : ['topology', 'links', seg.links[0]];
      ctx.fail(where, `the ${k} pool ${pool} has no room left for the addresses of link ${seg.links[0] + 1}`);
    }
  }
}
