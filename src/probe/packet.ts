/**
 * ICMP and ICMPv6 packets as ping sends and reads them: echo requests built here, echo replies and ICMP errors
 * parsed here. Pure functions on bytes, no sockets.
 *
 * What a raw socket hands over differs by family: an AF_INET raw socket returns the whole IPv4 datagram (IP
 * header first), an AF_INET6 raw socket only the ICMPv6 message (the hop limit comes as ancillary data).
 */
import ipaddr from 'ipaddr.js';

export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;

export const ICMP6_DST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROB = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;

const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

/** Bytes of the echo payload: a marker and the run's token, so that replies to someone else's ping are ignored. */
export const PAYLOAD_LEN = 8;
/** `nslb` */
const MAGIC = 0x6e736c62;

/**
 * The Internet checksum (RFC 1071) of `data`: the ones' complement of the ones' complement sum of its 16-bit
 * big-endian words, an odd last byte padded with zero. A message whose checksum field holds this value sums to 0.
 */
export function internetChecksum(data: Uint8Array): number {
  let sum = 0;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (data.length & 1) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An echo request (ICMP type 8, or ICMPv6 type 128) with identifier `id`, sequence `seq` and a payload carrying
 * `token`. The IPv4 checksum is filled in here; for IPv6 it stays 0, since the kernel computes the ICMPv6 checksum
 * (it covers a pseudo-header with the source address, which only the kernel knows) on raw ICMPv6 sockets.
 */
export function echoRequest(family: 4 | 6, id: number, seq: number, token: number): Buffer {
  const b = Buffer.alloc(8 + PAYLOAD_LEN);
  b[0] = family === 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  b.writeUInt32BE(MAGIC, 8);
  b.writeUInt32BE(token >>> 0, 12);
  if (family === 4) b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** An echo reply that answers one of our requests. */
export interface EchoReply {
  kind: 'reply';
  family: 4 | 6;
  /** Address that sent the reply. */
  src: string;
  id: number;
  seq: number;
  /** Token from the echoed payload; undefined when the payload is not ours (no marker). */
  token?: number;
  /** IPv4 TTL / IPv6 hop limit of the reply as it arrived (undefined when the socket did not say). */
  ttl?: number;
}

/** An ICMP error that quotes one of our echo requests. */
export interface IcmpError {
  kind: 'error';
  family: 4 | 6;
  /** Address that sent the error (the router or host that gave up). */
  src: string;
  type: number;
  code: number;
  /** What ping prints for it (`Destination Net Unreachable`, `Time exceeded: Hop limit`...). */
  reason: string;
  /** Destination of the quoted echo request. */
  dst: string;
  id: number;
  seq: number;
  /** Token from the quoted payload, when the quote is long enough to hold it and it is ours. */
  token?: number;
}

export type ParsedIcmp = EchoReply | IcmpError;

function ipv4Text(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** Canonical text of the 16-byte IPv6 address at `at` (`2001:db8::1`). */
export function ipv6Text(b: Uint8Array, at: number): string {
  return ipaddr.fromByteArray(Array.from(b.subarray(at, at + 16))).toString();
}

function tokenAt(b: Buffer, at: number): number | undefined {
  if (b.length < at + PAYLOAD_LEN || b.readUInt32BE(at) !== MAGIC) return undefined;
  return b.readUInt32BE(at + 4);
}

/**
 * What iputils ping prints for an ICMP error (type, code, and the type's 32-bit info field: next-hop MTU,
 * pointer). For IPv4 `Destination Net Unreachable`, `Destination Host Unreachable`, `Time to live exceeded`...;
 * for IPv6 `Destination unreachable: No route`, `Destination unreachable: Address unreachable`,
 * `Time exceeded: Hop limit`... Undefined for types that are not errors about the packet's delivery (redirects).
 */
export function icmpErrorText(family: 4 | 6, type: number, code: number, info = 0): string | undefined {
  if (family === 4) {
    if (type === ICMP_DEST_UNREACH) {
      const texts: Record<number, string> = {
        0: 'Destination Net Unreachable',
        1: 'Destination Host Unreachable',
        2: 'Destination Protocol Unreachable',
        3: 'Destination Port Unreachable',
        4: `Frag needed and DF set (mtu = ${info & 0xffff})`,
        5: 'Source Route Failed',
        6: 'Destination Net Unknown',
        7: 'Destination Host Unknown',
        8: 'Source Host Isolated',
        9: 'Destination Net Prohibited',
        10: 'Destination Host Prohibited',
        11: 'Destination Net Unreachable for Type of Service',
        12: 'Destination Host Unreachable for Type of Service',
        13: 'Packet filtered',
        14: 'Precedence Violation',
        15: 'Precedence Cutoff',
      };
      return texts[code] ?? `Dest Unreachable, Bad Code: ${code}`;
    }
    if (type === ICMP_TIME_EXCEEDED) {
      if (code === 0) return 'Time to live exceeded';
      if (code === 1) return 'Frag reassembly time exceeded';
      return `Time exceeded, Bad Code: ${code}`;
    }
    if (type === ICMP_PARAMETERPROB) return `Parameter problem: pointer = ${info >>> 24}`;
    return undefined;
  }
  if (type === ICMP6_DST_UNREACH) {
    const texts: Record<number, string> = {
      0: 'No route',
      1: 'Administratively prohibited',
      2: 'Beyond scope of source address',
      3: 'Address unreachable',
      4: 'Port unreachable',
      5: 'Source address failed ingress/egress policy',
      6: 'Reject route to destination',
    };
    return `Destination unreachable: ${texts[code] ?? `Unknown code ${code}`}`;
  }
  if (type === ICMP6_PACKET_TOO_BIG) return `Packet too big: mtu=${info >>> 0}`;
  if (type === ICMP6_TIME_EXCEEDED) {
    if (code === 0) return 'Time exceeded: Hop limit';
    if (code === 1) return 'Time exceeded: Defragmentation failure';
    return `Time exceeded: code ${code}`;
  }
  if (type === ICMP6_PARAM_PROB) {
    const what = ['Wrong header field ', 'Unknown header ', 'Unknown option '][code] ?? `code ${code} `;
    return `Parameter problem: ${what}at ${info >>> 0}`;
  }
  return undefined;
}

/**
 * Parses an IPv4 datagram read from a raw ICMP socket (IP header included). Returns the echo reply, or the
 * ICMP error quoting an echo request (with the quoted destination, id and sequence), or undefined for anything
 * else (echo requests, redirects, truncated or foreign packets).
 */
export function parseIcmp4(pkt: Buffer): ParsedIcmp | undefined {
  if (pkt.length < 20 || pkt[0] >> 4 !== 4) return undefined;
  const ihl = (pkt[0] & 0x0f) * 4;
  if (ihl < 20 || pkt[9] !== IPPROTO_ICMP || pkt.length < ihl + 8) return undefined;
  const src = ipv4Text(pkt, 12);
  const ttl = pkt[8];
  const icmp = pkt.subarray(ihl);
  const type = icmp[0];
  if (type === ICMP_ECHOREPLY) {
    return {
      kind: 'reply',
      family: 4,
      src,
      id: icmp.readUInt16BE(4),
      seq: icmp.readUInt16BE(6),
      token: tokenAt(icmp, 8),
      ttl,
    };
  }
  const reason = icmpErrorText(4, type, icmp[1], icmp.readUInt32BE(4));
  if (reason === undefined) return undefined;
  // The quoted original: its IP header, then (at least) the first 8 bytes of our echo request.
  const q = icmp.subarray(8);
  if (q.length < 20 || q[0] >> 4 !== 4 || q[9] !== IPPROTO_ICMP) return undefined;
  const qihl = (q[0] & 0x0f) * 4;
  if (qihl < 20 || q.length < qihl + 8 || q[qihl] !== ICMP_ECHO) return undefined;
  return {
    kind: 'error',
    family: 4,
    src,
    type,
    code: icmp[1],
    reason,
    dst: ipv4Text(q, 16),
    id: q.readUInt16BE(qihl + 4),
    seq: q.readUInt16BE(qihl + 6),
    token: tokenAt(q, qihl + 8),
  };
}

/**
 * Parses an ICMPv6 message read from a raw ICMPv6 socket (no IPv6 header: `src` and the hop limit come from
 * recvmsg). Same results as parseIcmp4. The quoted echo request must follow the quoted IPv6 header directly
 * (no extension headers, as ours are sent).
 */
export function parseIcmp6(msg: Buffer, src: string, hopLimit?: number): ParsedIcmp | undefined {
  if (msg.length < 8) return undefined;
  const type = msg[0];
  if (type === ICMP6_ECHO_REPLY) {
    return {
      kind: 'reply',
      family: 6,
      src,
      id: msg.readUInt16BE(4),
      seq: msg.readUInt16BE(6),
      token: tokenAt(msg, 8),
      ttl: hopLimit,
    };
  }
  const reason = icmpErrorText(6, type, msg[1], msg.readUInt32BE(4));
  if (reason === undefined) return undefined;
  const q = msg.subarray(8);
  if (q.length < 48 || q[0] >> 4 !== 6 || q[6] !== IPPROTO_ICMPV6 || q[40] !== ICMP6_ECHO_REQUEST)
    return undefined;
  return {
    kind: 'error',
    family: 6,
    src,
    type,
    code: msg[1],
    reason,
    dst: ipv6Text(q, 24),
    id: q.readUInt16BE(44),
    seq: q.readUInt16BE(46),
    token: tokenAt(q, 48),
  };
}

/**
 * Routers crossed, guessed from a reply's TTL as ping users do: the sender started from the smallest of the
 * usual initial TTLs (64 for Linux, 128, 255) not below what arrived, and each router took one off. So a reply
 * with ttl 64 crossed none, ttl 63 one.
 */
export function hopsFromTtl(ttl: number): number {
  const initial = [64, 128, 255].find((t) => t >= ttl) ?? 255;
  return initial - ttl;
}

/** sockaddr_in / sockaddr_in6 for `address` (port 0), as sendto(2) takes it. */
export function sockaddr(address: string): Buffer {
  const a = ipaddr.parse(address);
  if (a.kind() === 'ipv4') {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(2, 0);
    Buffer.from(a.toByteArray()).copy(b, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(10, 0);
  Buffer.from(a.toByteArray()).copy(b, 8);
  return b;
}
