import { addressToBigInt, bigIntToAddress, parseCidr } from './ip.js';
import type { Segment } from './segments.js';

/**
 * Where IPv4 addresses left out of a topology file come from when `topology.defaults.ipv4-pool` is not given.
 * Each point-to-point link gets a /30 from it (its two usable addresses, .1 and .2, go to the endpoints in
 * order); each bridge LAN gets the smallest block that fits its interfaces (.1, .2, ... in link order).
 */
export const DEFAULT_IPV4_POOL = '10.200.0.0/16';

/**
 * Hands out aligned blocks of a pool, in order, skipping every block that overlaps a reserved prefix.
 * Returns the first address of a block of the given prefix length, or undefined when the pool is full.
 */
export function poolAllocator(pool: string, reserved: string[]): (prefixLen: number) => bigint | undefined {
  const p = parseCidr(pool)!;
  const bits = p.family === 4 ? 32 : 128;
  const end = addressToBigInt(p.address) + (1n << BigInt(bits - p.prefixLen));
  const taken = reserved
    .map(parseCidr)
    .filter((c) => c?.family === p.family)
    .map((c) => {
      const start = addressToBigInt(c!.network.split('/')[0]);
      return [start, start + (1n << BigInt(bits - c!.prefixLen))] as const;
    });
  let cursor = addressToBigInt(p.address);
  return (prefixLen) => {
    const size = 1n << BigInt(bits - prefixLen);
    for (;;) {
      cursor = ((cursor + size - 1n) / size) * size;
      if (cursor + size > end) return undefined;
      const clash = taken.find(([s, e]) => s < cursor + size && cursor < e);
      if (!clash) break;
      cursor = clash[1];
    }
    cursor += size;
    return cursor - size;
  };
}

export interface AutoAddressing {
  family: 4 | 6;
  pool: string;
  /** Prefixes already in use (addresses written in the file, route destinations); never handed out. */
  reserved: string[];
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
  const next = poolAllocator(opts.pool, opts.reserved);
  const full: Segment[] = [];
  for (const seg of segments) {
    if (seg.members.length === 0 || opts.written(seg)) continue;
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
