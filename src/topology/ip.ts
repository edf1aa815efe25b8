import ipaddr from 'ipaddr.js';

/** An address with its prefix length, as written on an interface (`10.1.10.1/24`) or as a route destination. */
export interface Cidr {
  family: 4 | 6;
  /** The address as written, canonical form (`10.1.10.1`, `2001:db8::1`). */
  address: string;
  prefixLen: number;
  /** The network the prefix covers, canonical (`10.1.10.0/24`). */
  network: string;
}

/** True when `text` is a valid IPv4 or IPv6 address without prefix. */
export function isAddress(text: string): boolean {
  return ipaddr.isValid(text) && (ipaddr.IPv4.isValidFourPartDecimal(text) || text.includes(':'));
}

export function addressFamily(text: string): 4 | 6 {
  return ipaddr.parse(text).kind() === 'ipv4' ? 4 : 6;
}

/** Canonical text of an address (`2001:DB8:0::1` → `2001:db8::1`). */
export function canonicalAddress(text: string): string {
  return ipaddr.parse(text).toString();
}

/** Parses `address/len`; returns undefined when it is not a valid CIDR. A bare address gets /32 or /128. */
export function parseCidr(text: string): Cidr | undefined {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  let len: number;
  try {
    if (text.includes('/')) {
      const [a, l] = text.split('/');
      if (!/^\d{1,3}$/.test(l)) return undefined;
      if (!isAddress(a)) return undefined;
      [addr, len] = ipaddr.parseCIDR(text);
    } else {
      if (!isAddress(text)) return undefined;
      addr = ipaddr.parse(text);
      len = addr.kind() === 'ipv4' ? 32 : 128;
    }
  } catch {
    return undefined;
  }
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const net =
    family === 4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${len}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${len}`);
  return { family, address: addr.toString(), prefixLen: len, network: `${net.toString()}/${len}` };
}

/** Canonical `address/len` of an interface address (`2001:DB8::1/64` → `2001:db8::1/64`); unparsable text as is. */
export function canonicalCidr(text: string): string {
  const c = parseCidr(text);
  return c ? `${c.address}/${c.prefixLen}` : text;
}

/** Canonical `network/len` for a route destination; `default` becomes `0.0.0.0/0` (or `::/0` when family is 6). */
export function canonicalPrefix(text: string, family: 4 | 6 = 4): string | undefined {
  if (text === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return parseCidr(text)?.network;
}

/** True when `address` lies inside the prefix `cidr` (either an interface CIDR or a network). */
export function prefixContains(cidr: string, address: string): boolean {
  const c = parseCidr(cidr);
  if (!c || !isAddress(address) || addressFamily(address) !== c.family) return false;
  return ipaddr.parse(address).match(ipaddr.parseCIDR(c.network));
}

/** True when the two prefixes share any address. */
export function prefixesOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y || x.family !== y.family) return false;
  const shorter = x.prefixLen <= y.prefixLen ? x : y;
  const longer = shorter === x ? y : x;
  return prefixContains(shorter.network, longer.address);
}

/** Address as a bigint (for pools and arithmetic). */
export function addressToBigInt(text: string): bigint {
  const bytes = ipaddr.parse(text).toByteArray();
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

/** bigint back to canonical address text of the given family. */
export function bigIntToAddress(value: bigint, family: 4 | 6): string {
  const n = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  let v = value;
  for (let i = 0; i < n; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}
