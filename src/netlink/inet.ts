import ipaddr from 'ipaddr.js';

/**
 * Address text to the bytes netlink carries (IFA_LOCAL, RTA_DST, NDA_DST) and back, in network order. The forms
 * a topology file admits (four-part decimal IPv4, IPv6 with at most one `::` and an optional dotted tail) are
 * parsed here directly; anything else goes to ipaddr.js, so the results are ipaddr.js's own. Requests for a
 * thousand-namespace lab parse a few thousand addresses: ipaddr.js's regular expressions and objects cost more
 * than the kernel's work for them.
 */

/** The bytes of an IPv4 or IPv6 address, with its address family (AF_INET 2, AF_INET6 10). */
export function ipToBuffer(address: string): { family: 2 | 10; bytes: Buffer } {
  const bytes = parseIp(address);
  return { family: bytes.length === 4 ? 2 : 10, bytes };
}

/** Canonical text of an address attribute (4 or 16 bytes): dotted quad, or RFC 5952 IPv6. */
export function bufferToIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return ipaddr.fromByteArray([...b]).toString();
  return ipv6Text(b);
}

/**
 * Splits `address/len` (a bare address counts as a host prefix) into its parts, with the network address of
 * the prefix. Throws TypeError on malformed input: callers pass validated data.
 */
export function splitCidr(cidr: string): { address: string; prefixLen: number; network: string } {
  const slash = cidr.indexOf('/');
  const bytes = parseIp(slash === -1 ? cidr : cidr.slice(0, slash));
  const bits = bytes.length * 8;
  let prefixLen = bits;
  if (slash !== -1) {
    const len = cidr.slice(slash + 1);
    if (!/^\d{1,3}$/.test(len) || Number(len) > bits) throw new TypeError(`not a CIDR: ${cidr}`);
    prefixLen = Number(len);
  }
  const address = bufferToIp(bytes);
  const net = Buffer.from(bytes);
  for (let i = 0; i < net.length; i++) {
    const keep = Math.min(8, Math.max(0, prefixLen - i * 8));
    net[i] &= (0xff00 >> keep) & 0xff;
  }
  return { address, prefixLen, network: bufferToIp(net) };
}

/** Bytes of the address `text` (4 or 16). Throws TypeError when it is not one. */
function parseIp(text: string): Buffer {
  const fast = text.includes(':') ? parseIpv6(text) : parseIpv4(text);
  if (fast) return fast;
  try {
    return Buffer.from(ipaddr.parse(text).toByteArray());
  } catch {
    throw new TypeError(`not an IP address: ${text}`);
  }
}

/** Four-part decimal without leading zeros (`10.1.10.1`), or undefined. */
function parseIpv4(text: string, into?: Buffer, at = 0): Buffer | undefined {
  const out = into ?? Buffer.alloc(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const ch = i < text.length ? text.charCodeAt(i) : 46; // '.' ends the last part
    if (ch === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (ch >= 48 && ch <= 57) {
      if (digits > 0 && value === 0) return undefined; // leading zero: ipaddr.js reads it as octal
      value = value * 10 + (ch - 48);
      if (value > 255) return undefined;
      digits++;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

/** IPv6 of hex groups with at most one `::` and an optional dotted IPv4 tail, or undefined. */
function parseIpv6(text: string): Buffer | undefined {
  const out = Buffer.alloc(16);
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return undefined;
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? '' : text.slice(gap + 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  // A dotted IPv4 tail is the last 32 bits.
  const last = gap === -1 ? headGroups : tailGroups;
  let v4: Buffer | undefined;
  if (last.length > 0 && last[last.length - 1].includes('.')) {
    v4 = parseIpv4(last.pop()!, Buffer.alloc(4));
    if (!v4) return undefined;
  }
  const groups = 8 - (v4 ? 2 : 0);
  const given = headGroups.length + tailGroups.length;
  if (gap === -1 ? given !== groups : given > groups - 1) return undefined;
  const put = (g: string, k: number): boolean => {
    if (g.length === 0 || g.length > 4) return false;
    let v = 0;
    for (let i = 0; i < g.length; i++) {
      const c = g.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) return false;
      v = (v << 4) | d;
    }
    out[2 * k] = v >> 8;
    out[2 * k + 1] = v & 0xff;
    return true;
  };
  for (let k = 0; k < headGroups.length; k++) if (!put(headGroups[k], k)) return undefined;
  const start = groups - tailGroups.length;
  for (let k = 0; k < tailGroups.length; k++) if (!put(tailGroups[k], start + k)) return undefined;
  if (v4) v4.copy(out, 12);
  return out;
}

/** RFC 5952 text of 16 bytes: lower-case, no leading zeros, the longest run of two or more zero groups as `::`. */
function ipv6Text(b: Uint8Array): string {
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let k = 0; k < 8; k++) g[k] = (b[2 * k] << 8) | b[2 * k + 1];
  let bestAt = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && g[end] === 0) end++;
    if (end - k > bestLen) {
      bestAt = k;
      bestLen = end - k;
    }
    k = end;
  }
  let text = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestAt) {
      text += '::';
      k += bestLen - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += g[k].toString(16);
  }
  return text;
}
