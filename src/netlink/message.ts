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
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n + 64));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** Writes an attribute header for `len` bytes of data and zeroes its padding; returns where the data goes. */
  private header(type: number, len: number): number {
    const total = align4(4 + len);
    this.ensure(total);
    const at = this.off;
    this.buf.writeUInt16LE(4 + len, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.fill(0, at + 4 + len, at + total);
    this.off += total;
    return at + 4;
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

  attr(type: number, data: Uint8Array): this {
    this.buf.set(data, this.header(type, data.length));
    return this;
  }

  u8(type: number, v: number): this {
    this.buf[this.header(type, 1)] = v & 0xff;
    return this;
  }

  u16(type: number, v: number): this {
    this.buf.writeUInt16LE(v, this.header(type, 2));
    return this;
  }

  /** A big-endian u16 (ports). */
  be16(type: number, v: number): this {
    this.buf.writeUInt16BE(v, this.header(type, 2));
    return this;
  }

  u32(type: number, v: number): this {
    this.buf.writeUInt32LE(v >>> 0, this.header(type, 4));
    return this;
  }

  s32(type: number, v: number): this {
    this.buf.writeInt32LE(v, this.header(type, 4));
    return this;
  }

  /** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND). */
  str(type: number, s: string): this {
    const len = Buffer.byteLength(s);
    const at = this.header(type, len + 1);
    this.buf.write(s, at, len, 'utf8');
    this.buf[at + len] = 0;
    return this;
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

  /** The bytes written, in a buffer of their own. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.off));
  }
}

/** Frames a request with its nlmsghdr. */
export function frame(req: Request, seq: number): Buffer {
  const b = Buffer.alloc(align4(NLMSG_HDRLEN + req.payload.length));
  frameInto(b, 0, req.type, req.flags, req.payload, seq);
  return b;
}

/**
 * Writes a request with its nlmsghdr into `b` at `off` (the caller makes room); returns the aligned length
 * written, padding zeroed.
 */
export function frameInto(
  b: Buffer,
  off: number,
  type: number,
  flags: number,
  payload: Buffer,
  seq: number,
): number {
  const len = NLMSG_HDRLEN + payload.length;
  b.writeUInt32LE(len, off);
  b.writeUInt16LE(type, off + 4);
  b.writeUInt16LE(flags | NLM_F_REQUEST, off + 6);
  b.writeUInt32LE(seq >>> 0, off + 8);
  b.writeUInt32LE(0, off + 12);
  payload.copy(b, off + NLMSG_HDRLEN);
  const total = align4(len);
  b.fill(0, off + len, off + total);
  return total;
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

/**
 * Decodes the attributes in `buf` from `offset` on; with `only`, just those types (a device's dump message
 * carries forty attributes, statistics and per-family configuration included, of which a reader wants a few).
 */
export function parseAttrs(buf: Buffer, offset = 0, only?: ReadonlySet<number>): Attrs {
  const attrs: Attrs = new Map();
  let off = offset;
  const end = buf.length;
  while (off + 4 <= end) {
    const len = buf[off] | (buf[off + 1] << 8);
    const type = (buf[off + 2] | (buf[off + 3] << 8)) & 0x7fff & ~NLA_F_NESTED;
    if (len < 4 || off + len > end) break;
    if (!only || only.has(type)) attrs.set(type, buf.subarray(off + 4, off + len));
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
  let text = HEX[b[0]];
  for (let i = 1; i < b.length; i++) text += `:${HEX[b[i]]}`;
  return text;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function macFromString(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`not a MAC address: ${mac}`);
  }
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}
