/**
 * rtnetlink neighbour family (RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH): the ARP and NDP caches.
 * Layout: struct ndmsg (12 bytes: family, pad, pad, ifindex, state, flags, type) then NDA_* attributes.
 */
import { bufferToIp, ipToBuffer } from './inet.js';
import {
  type Message,
  macFromString,
  macToString,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  parseAttrs,
  type Request,
  Writer,
} from './message.js';

export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

const NDA_DST = 1;
const NDA_LLADDR = 2;

const STATES: Record<number, string> = {
  1: 'INCOMPLETE',
  2: 'REACHABLE',
  4: 'STALE',
  8: 'DELAY',
  16: 'PROBE',
  32: 'FAILED',
  64: 'NOARP',
  128: 'PERMANENT',
};
export const NUD_PERMANENT = 0x80;

/** A neighbour entry (`ip neigh show`). */
export interface NeighInfo {
  index: number;
  family: 4 | 6;
  address: string;
  mac?: string;
  state: string;
}

function ndmsg(family: number, index: number, state: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt16LE(state, 8);
  return b;
}

/** Adds or replaces a permanent entry: `ip neigh replace ADDR lladdr MAC dev DEV nud permanent`. */
export function neighAdd(o: { index: number; address: string; mac: string; dev?: string }): Request {
  const { family, bytes } = ipToBuffer(o.address);
  const w = new Writer()
    .bytes(ndmsg(family, o.index, NUD_PERMANENT))
    .attr(NDA_DST, bytes)
    .attr(NDA_LLADDR, macFromString(o.mac));
  return {
    type: RTM_NEWNEIGH,
    flags: NLM_F_CREATE | NLM_F_REPLACE,
    payload: w.finish(),
    op: 'add neighbour',
    object: `${o.address} dev ${o.dev ?? `ifindex ${o.index}`}`,
  };
}

/** Deletes an entry: `ip neigh del ADDR dev DEV`. */
export function neighDel(o: { index: number; address: string; dev?: string }): Request {
  const { family, bytes } = ipToBuffer(o.address);
  const w = new Writer().bytes(ndmsg(family, o.index, 0)).attr(NDA_DST, bytes);
  return {
    type: RTM_DELNEIGH,
    flags: 0,
    payload: w.finish(),
    op: 'delete neighbour',
    object: `${o.address} dev ${o.dev ?? `ifindex ${o.index}`}`,
  };
}

/** Lists neighbour entries: `ip neigh show`. */
export function neighDump(family = 0): Request {
  return { type: RTM_GETNEIGH, flags: 0, payload: ndmsg(family, 0, 0), op: 'list neighbours', object: '' };
}

/** Decodes an RTM_NEWNEIGH message. */
export function parseNeigh(m: Message): NeighInfo {
  const p = m.payload;
  const at = parseAttrs(p, 12);
  const dst = at.get(NDA_DST);
  const ll = at.get(NDA_LLADDR);
  const state = p.readUInt16LE(8);
  return {
    index: p.readInt32LE(4),
    family: p.readUInt8(0) === 2 ? 4 : 6,
    address: dst ? bufferToIp(dst) : '',
    mac: ll && ll.length === 6 ? macToString(ll) : undefined,
    state: STATES[state] ?? String(state),
  };
}
