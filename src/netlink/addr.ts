/**
 * rtnetlink address family (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR): IPv4 and IPv6 addresses on devices.
 * Layout: struct ifaddrmsg (8 bytes: family, prefixlen, flags, scope, index) then IFA_* attributes.
 */
import { bufferToIp, ipToBuffer, splitCidr } from './inet.js';
import {
  attrString,
  attrU32,
  type Message,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  parseAttrs,
  type Request,
  Writer,
} from './message.js';

export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_FLAGS = 8;
/** Skip duplicate address detection (IPv6): the address is usable at once instead of 'tentative' for ~1 s. */
export const IFA_F_NODAD = 0x02;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

/** An address as the kernel reports it (`ip addr show`). */
export interface AddrInfo {
  index: number;
  family: 4 | 6;
  address: string;
  prefixLen: number;
  /** `address/prefixLen`. */
  cidr: string;
  /** 0 global, 253 link, 254 host. */
  scope: number;
  flags: number;
  label?: string;
}

function ifaddrmsg(family: number, prefixLen: number, index: number, scope = 0): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLen, 1);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

/**
 * Adds an address to a device: `ip addr add CIDR dev DEV` (IPv6 with `nodad` unless `dad` is set, so lab
 * addresses work immediately). `replace` makes it `ip addr replace`.
 */
export function addrAdd(o: {
  index: number;
  cidr: string;
  dev?: string;
  dad?: boolean;
  replace?: boolean;
}): Request {
  const c = splitCidr(o.cidr);
  const { family, bytes } = ipToBuffer(c.address);
  const w = new Writer().bytes(ifaddrmsg(family, c.prefixLen, o.index));
  w.attr(IFA_LOCAL, bytes).attr(IFA_ADDRESS, bytes);
  if (family === 10 && !o.dad) w.u32(IFA_FLAGS, IFA_F_NODAD);
  return {
    type: RTM_NEWADDR,
    flags: NLM_F_CREATE | (o.replace ? NLM_F_REPLACE : NLM_F_EXCL),
    payload: w.finish(),
    op: 'add address',
    object: `${o.cidr} dev ${o.dev ?? `ifindex ${o.index}`}`,
  };
}

/** Removes an address from a device: `ip addr del CIDR dev DEV`. */
export function addrDel(o: { index: number; cidr: string; dev?: string }): Request {
  const c = splitCidr(o.cidr);
  const { family, bytes } = ipToBuffer(c.address);
  const w = new Writer()
    .bytes(ifaddrmsg(family, c.prefixLen, o.index))
    .attr(IFA_LOCAL, bytes)
    .attr(IFA_ADDRESS, bytes);
  return {
    type: RTM_DELADDR,
    flags: 0,
    payload: w.finish(),
    op: 'delete address',
    object: `${o.cidr} dev ${o.dev ?? `ifindex ${o.index}`}`,
  };
}

/** Lists addresses: `ip addr show` (family 0 both, 2 IPv4, 10 IPv6). */
export function addrDump(family = 0): Request {
  return { type: RTM_GETADDR, flags: 0, payload: ifaddrmsg(family, 0, 0), op: 'list addresses', object: '' };
}

/** Decodes an RTM_NEWADDR message. */
export function parseAddr(m: Message): AddrInfo {
  const p = m.payload;
  const fam = p.readUInt8(0);
  const prefixLen = p.readUInt8(1);
  const at = parseAttrs(p, 8);
  const raw = at.get(IFA_LOCAL) ?? at.get(IFA_ADDRESS);
  const address = raw ? bufferToIp(raw) : '';
  return {
    index: p.readUInt32LE(4),
    family: fam === 2 ? 4 : 6,
    address,
    prefixLen,
    cidr: `${address}/${prefixLen}`,
    scope: p.readUInt8(3),
    flags: attrU32(at.get(IFA_FLAGS)) ?? p.readUInt8(2),
    label: attrString(at.get(IFA_LABEL)),
  };
}
