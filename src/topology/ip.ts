/**
 * IP addresses and prefixes as topology files write them: IPv4 in four-part decimal (`10.1.10.1`, no leading
 * zeros), IPv6 in hexadecimal groups with at most one `::` and an optional dotted IPv4 tail (`::ffff:10.0.0.1`),
 * no zone (`%eth0`: a route's interface is its `dev`). A small parser of exactly these forms, with every result
 * kept by its text, since a big lab parses the same addresses in the schema, the resolver and the planner
 * (ipaddr.js, which also reads octal, hexadecimal and short IPv4 forms, cost 0.17 s in a 1000-node `up`).
 */

/** An address with its prefix length, as written on an interface (`10.1.10.1/24`) or as a route destination. */
export interface Cidr {
  family: 4 | 6;
  /** The address as written, canonical form (`10.1.10.1`, `2001:db8::1`). */
  address: string;
  prefixLen: number;
  /** The network the prefix covers, canonical (`10.1.10.0/24`). */
  network: string;
}

/** A parsed address: its family and its value as an unsigned integer of 32 or 128 bits. */
interface Address {
  family: 4 | 6;
  value: bigint;
}

/** A parsed prefix: the `Cidr` (frozen: it is shared), its canonical text, and its addresses as integers. */
interface Prefix {
  cidr: Readonly<Cidr>;
  /** `address/len`, canonical. */
  canonical: string;
  value: bigint;
  /** The first and the last address of its network. */
  start: bigint;
  last: bigint;
}

const BITS = { 4: 32, 6: 128 } as const;
const ALL_ONES = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n } as const;

/** Results by text. Cleared when full, so a long-running process loading many labs stays bounded. */
const MAX_CACHED = 1 << 17;
const addresses = new Map<string, Address | null>();
const prefixes = new Map<string, Prefix | null>();

function remember<T>(cache: Map<string, T>, text: string, value: T): T {
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(text, value);
  return value;
}

/** The value of a four-part decimal IPv4 address in `s[from, to)`, or -1 when it is not one. */
function parseIPv4(s: string, from: number, to: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero: octal in some parsers, refused here
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The value of an IPv6 address in `s[from, to)`, or undefined when it is not one. */
function parseIPv6(s: string, from: number, to: number): bigint | undefined {
  const groups: number[] = [];
  let gap = -1; // index in groups where `::` stands
  let i = from;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return undefined;
    gap = 0;
    i += 2;
  }
  while (i < to) {
    const start = i;
    let group = 0;
    while (i < to && i - start < 5) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      group = group * 16 + d;
      i++;
    }
    if (i < to && s.charCodeAt(i) === 46) {
      // A dotted IPv4 tail takes the last two groups.
      const v4 = parseIPv4(s, start, to);
      if (v4 < 0) return undefined;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
      i = to;
      break;
    }
    if (i === start || i - start > 4) return undefined;
    groups.push(group);
    if (i === to) break;
    if (s.charCodeAt(i) !== 58) return undefined;
    i++;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      i++;
    } else if (i === to) return undefined;
  }
  if (gap >= 0 ? groups.length > 7 : groups.length !== 8) return undefined;
  if (gap >= 0) groups.splice(gap, 0, ...new Array<number>(8 - groups.length).fill(0));
  let value = 0n;
  for (let g = 0; g < 8; g += 2) value = (value << 32n) | BigInt(groups[g] * 65536 + groups[g + 1]);
  return value;
}

/** Four-part decimal, no leading zeros: a regular expression runs natively, where a loop is interpreted at first. */
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseAddress(text: string): Address | null {
  const known = addresses.get(text);
  if (known !== undefined) return known;
  let parsed: Address | null = null;
  if (text.includes(':')) {
    const v = parseIPv6(text, 0, text.length);
    if (v !== undefined) parsed = { family: 6, value: v };
  } else if (IPV4.test(text)) {
    const [a, b, c, d] = text.split('.');
    parsed = { family: 4, value: BigInt(((+a * 256 + +b) * 256 + +c) * 256 + +d) };
  }
  return remember(addresses, text, parsed);
}

function mustParse(text: string): Address {
  const a = parseAddress(text);
  if (!a) throw new Error(`not an IP address: '${text}'`);
  return a;
}

function formatIPv6(value: bigint): string {
  const groups: number[] = [];
  for (let g = 7; g >= 0; g--) groups.push(Number((value >> BigInt(16 * g)) & 0xffffn));
  // RFC 5952: the longest run of two or more zero groups (the first of equal ones) becomes `::`.
  let best = -1;
  let bestLen = 1;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    let end = g;
    while (end < 8 && groups[end] === 0) end++;
    if (end - g > bestLen) [best, bestLen] = [g, end - g];
    g = end;
  }
  const hex = groups.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function format(value: bigint, family: 4 | 6): string {
  if (family === 6) return formatIPv6(value);
  const n = Number(value);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function networkStart(value: bigint, family: 4 | 6, prefixLen: number): bigint {
  const hostBits = BigInt(BITS[family] - prefixLen);
  return (value >> hostBits) << hostBits;
}

function parsePrefix(text: string): Prefix | null {
  const known = prefixes.get(text);
  if (known !== undefined) return known;
  const slash = text.indexOf('/');
  let parsed: Prefix | null = null;
  const a = parseAddress(slash < 0 ? text : text.slice(0, slash));
  const lenText = slash < 0 ? '' : text.slice(slash + 1);
  if (a && (slash < 0 || /^\d{1,3}$/.test(lenText))) {
    const prefixLen = slash < 0 ? BITS[a.family] : Number(lenText);
    if (prefixLen <= BITS[a.family]) {
      const start = networkStart(a.value, a.family, prefixLen);
      const address = format(a.value, a.family);
      const network = `${start === a.value ? address : format(start, a.family)}/${prefixLen}`;
      const cidr = Object.freeze({ family: a.family, address, prefixLen, network });
      const last = start | (ALL_ONES[a.family] >> BigInt(prefixLen));
      parsed = { cidr, canonical: `${address}/${prefixLen}`, value: a.value, start, last };
    }
  }
  return remember(prefixes, text, parsed);
}

/** True when `text` is a valid IPv4 or IPv6 address without prefix. */
export function isAddress(text: string): boolean {
  return parseAddress(text) !== null;
}

export function addressFamily(text: string): 4 | 6 {
  return mustParse(text).family;
}

/** Canonical text of an address (`2001:DB8:0::1` → `2001:db8::1`). */
export function canonicalAddress(text: string): string {
  const a = mustParse(text);
  return format(a.value, a.family);
}

/** Parses `address/len`; returns undefined when it is not a valid CIDR. A bare address gets /32 or /128. */
export function parseCidr(text: string): Cidr | undefined {
  const c = parsePrefix(text)?.cidr;
  // A copy, so that no caller can change what the cache holds (written out: object spread is slow in V8).
  return c && { family: c.family, address: c.address, prefixLen: c.prefixLen, network: c.network };
}

/**
 * `parseCidr` without the copy: the parsed prefix itself, shared by every caller (frozen), for the loops of the
 * topology layer that read many addresses.
 */
export function cidrOf(text: string): Readonly<Cidr> | undefined {
  return parsePrefix(text)?.cidr;
}

/** Canonical `address/len` of an interface address (`2001:DB8::1/64` → `2001:db8::1/64`); unparsable text as is. */
export function canonicalCidr(text: string): string {
  return parsePrefix(text)?.canonical ?? text;
}

/** True for the prefixes that mean every address of a family: `0.0.0.0/0` and `::/0`, what `default` means. */
export function isDefaultPrefix(text: string): boolean {
  return parsePrefix(text)?.cidr.prefixLen === 0;
}

/** Canonical `network/len` for a route destination; `default` becomes `0.0.0.0/0` (or `::/0` when family is 6). */
export function canonicalPrefix(text: string, family: 4 | 6 = 4): string | undefined {
  if (text === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return parsePrefix(text)?.cidr.network;
}

/** The addresses a prefix covers, as the integers of its first and its last address, with its family. */
export function prefixRange(text: string): { family: 4 | 6; first: bigint; last: bigint } | undefined {
  const p = parsePrefix(text);
  return p ? { family: p.cidr.family, first: p.start, last: p.last } : undefined;
}

/** True when `address` lies inside the prefix `cidr` (either an interface CIDR or a network). */
export function prefixContains(cidr: string, address: string): boolean {
  const p = parsePrefix(cidr);
  const a = parseAddress(address);
  if (!p || !a || a.family !== p.cidr.family) return false;
  return networkStart(a.value, a.family, p.cidr.prefixLen) === p.start;
}

/** True when the two prefixes share any address. */
export function prefixesOverlap(a: string, b: string): boolean {
  const x = parsePrefix(a);
  const y = parsePrefix(b);
  if (!x || !y || x.cidr.family !== y.cidr.family) return false;
  const len = Math.min(x.cidr.prefixLen, y.cidr.prefixLen);
  const family = x.cidr.family;
  return networkStart(x.start, family, len) === networkStart(y.start, family, len);
}

/** Address as a bigint (for pools and arithmetic). */
export function addressToBigInt(text: string): bigint {
  return mustParse(text).value;
}

/** bigint back to canonical address text of the given family. */
export function bigIntToAddress(value: bigint, family: 4 | 6): string {
  return format(value & ALL_ONES[family], family);
}
