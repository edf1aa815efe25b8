import ipaddr from 'ipaddr.js';

/**
 * Netlink message framing (nlmsghdr) and attribute (rtattr/nlattr) encoding and decoding, shared by the
 * per-family files. Layout per include/uapi/linux/netlink.h: a 16-byte header (len u32, type u16, flags u16,
 * seq u32, pid u32), then the family header, then attributes aligned to 4 bytes.
 */

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** On an NLMSG_ERROR: extended-ack attributes follow the (capped) original header. */
export const NLM_F_ACK_TLVS = 0x200;

export const NLA_F_NESTED = 0x8000;
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

export const NLMSG_HDRLEN = 16;

export const align4 = (n: number) => (n + 3) & ~3;

/**
 * A request ready to be sent: everything after the nlmsghdr, plus what the header needs. `op` and `object`
 * say in words what it does (`add link`, `veth11`), for errors.
 */
export interface Request {
  type: number;
  flags: number;
  payload: Buffer;
  op: string;
  object: string;
}

/** A received message, header fields decoded, `payload` being what follows the header. */
export interface Message {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/**
 * Builds a message body: a fixed family header followed by attributes, nests included.
 * Grows its buffer as needed; `finish()` returns exactly the bytes written.
 */
export class Writer {
  private buf: Buffer;
  private off = 0;

  constructor(size = 256) {
    this.buf = Buffer.alloc(size);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.off + n + 64));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** Raw bytes (a family header such as ifinfomsg), padded to 4. */
  bytes(b: Buffer): this {
    const len = align4(b.length);
    this.ensure(len);
    b.copy(this.buf, this.off);
    this.buf.fill(0, this.off + b.length, this.off + len);
    this.off += len;
    return this;
  }

  attr(type: number, data: Buffer): this {
    const len = 4 + data.length;
    this.ensure(align4(len));
    this.buf.writeUInt16LE(len, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    data.copy(this.buf, this.off + 4);
    this.buf.fill(0, this.off + len, this.off + align4(len));
    this.off += align4(len);
    return this;
  }

  u8(type: number, v: number): this {
    return this.attr(type, Buffer.from([v & 0xff]));
  }

  u16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return this.attr(type, b);
  }

  /** A big-endian u16 (ports). */
  be16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.attr(type, b);
  }

  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.attr(type, b);
  }

  s32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.attr(type, b);
  }

  /** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND). */
  str(type: number, s: string): this {
    return this.attr(type, Buffer.concat([Buffer.from(s), Buffer.from([0])]));
  }

  /** A nested attribute: `fill` writes its children. */
  nest(type: number, fill: (w: this) => void): this {
    this.ensure(4);
    const start = this.off;
    this.off += 4;
    fill(this);
    this.buf.writeUInt16LE(this.off - start, start);
    this.buf.writeUInt16LE(type | NLA_F_NESTED, start + 2);
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.off));
  }
}

/** Frames a request with its nlmsghdr. */
export function frame(req: Request, seq: number): Buffer {
  const len = NLMSG_HDRLEN + req.payload.length;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(req.type, 4);
  b.writeUInt16LE(req.flags | NLM_F_REQUEST, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(0, 12);
  req.payload.copy(b, NLMSG_HDRLEN);
  return b;
}

/** Splits a datagram into its netlink messages. */
export function parseMessages(buf: Buffer, n = buf.length): Message[] {
  const out: Message[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= n) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > n) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes by type (the last one wins for repeated types; nested flag stripped). */
export type Attrs = Map<number, Buffer>;

/** Decodes the attributes in `buf` from `offset` on. */
export function parseAttrs(buf: Buffer, offset = 0): Attrs {
  const attrs: Attrs = new Map();
  let off = offset;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & ~NLA_F_NESTED & 0x7fff;
    if (len < 4 || off + len > buf.length) break;
    attrs.set(type, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return attrs;
}

/** A NUL-terminated string attribute's text. */
export function attrString(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z === -1 ? b.length : z);
}

export function attrU32(b: Buffer | undefined): number | undefined {
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}

export function attrS32(b: Buffer | undefined): number | undefined {
  return b && b.length >= 4 ? b.readInt32LE(0) : undefined;
}

/** Colon-separated lowercase hex of a hardware address. */
export function macToString(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function macFromString(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`not a MAC address: ${mac}`);
  }
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

/** The bytes of an IPv4 or IPv6 address, in network order, with its address family (AF_INET 2, AF_INET6 10). */
export function ipToBuffer(address: string): { family: 2 | 10; bytes: Buffer } {
  const ip = ipaddr.parse(address);
  return { family: ip.kind() === 'ipv4' ? 2 : 10, bytes: Buffer.from(ip.toByteArray()) };
}

/** Canonical text of an address attribute (4 or 16 bytes). */
export function bufferToIp(b: Buffer): string {
  return ipaddr.fromByteArray([...b]).toString();
}

/**
 * Splits `address/len` (a bare address counts as a host prefix) into its parts, with the network address of
 * the prefix. Throws TypeError on malformed input: callers pass validated data.
 */
export function splitCidr(cidr: string): { address: string; prefixLen: number; network: string } {
  const [addr, len] = ipaddr.parseCIDR(
    cidr.includes('/') ? cidr : `${cidr}/${cidr.includes(':') ? 128 : 32}`,
  );
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${len}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${len}`);
  return { address: addr.toString(), prefixLen: len, network: network.toString() };
}
