/**
 * rtnetlink route family (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE): IPv4 and IPv6 routing tables.
 * Layout: struct rtmsg (12 bytes: family, dst_len, src_len, tos, table, protocol, scope, type, flags) then RTA_*.
 */
import { bufferToIp, ipToBuffer, splitCidr } from './inet.js';
import {
  attrU32,
  type Message,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  parseAttrs,
  type Request,
  Writer,
} from './message.js';

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

/** Multicast groups of route changes (enum rtnetlink_groups), for `NetlinkSocket.subscribe`. */
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV6_ROUTE = 11;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;

export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
export const RTPROT_KERNEL = 2;
/** What `ip route add` uses when no `proto` is given. */
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;

const PROTOCOLS: Record<number, string> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  16: 'dhcp',
  186: 'bgp',
  188: 'ospf',
};

/** A route to add or delete. */
export interface RouteSpec {
  /** Destination prefix (`10.1.20.0/24`, `0.0.0.0/0`, `::/0`). */
  dst: string;
  /** Gateway (`via`). */
  via?: string;
  /** Output device index (`dev`). */
  oif?: number;
  /** Output device name, only for messages. */
  dev?: string;
  metric?: number;
  table?: number;
  /** Preferred source address (`src`). */
  src?: string;
  protocol?: number;
}

/** A route as the kernel reports it (`ip route show table all`). */
export interface RouteInfo {
  family: 4 | 6;
  /** Canonical CIDR; the default route is `0.0.0.0/0` or `::/0`. */
  dst: string;
  via?: string;
  oif?: number;
  metric?: number;
  table: number;
  protocol: string;
  scope: number;
  type: number;
  prefsrc?: string;
}

function rtmsg(
  family: number,
  dstLen: number,
  table: number,
  protocol: number,
  scope: number,
  type: number,
): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeUInt8(dstLen, 1);
  b.writeUInt8(table > 255 ? 0 : table, 4);
  b.writeUInt8(protocol, 5);
  b.writeUInt8(scope, 6);
  b.writeUInt8(type, 7);
  return b;
}

function describe(r: RouteSpec): string {
  const parts = [r.dst];
  if (r.via) parts.push(`via ${r.via}`);
  if (r.dev ?? r.oif) parts.push(`dev ${r.dev ?? `ifindex ${r.oif}`}`);
  if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
  if (r.table !== undefined && r.table !== RT_TABLE_MAIN) parts.push(`table ${r.table}`);
  return parts.join(' ');
}

function build(type: number, flags: number, r: RouteSpec, scope: number, op: string): Request {
  const c = splitCidr(r.dst);
  const dst = ipToBuffer(c.network);
  const table = r.table ?? RT_TABLE_MAIN;
  const w = new Writer().bytes(
    rtmsg(dst.family, c.prefixLen, table, r.protocol ?? RTPROT_BOOT, scope, RTN_UNICAST),
  );
  if (c.prefixLen > 0) w.attr(RTA_DST, dst.bytes);
  if (r.via) w.attr(RTA_GATEWAY, ipToBuffer(r.via).bytes);
  if (r.oif) w.u32(RTA_OIF, r.oif);
  if (r.metric !== undefined) w.u32(RTA_PRIORITY, r.metric);
  if (r.src) w.attr(RTA_PREFSRC, ipToBuffer(r.src).bytes);
  if (table > 255) w.u32(RTA_TABLE, table);
  return { type, flags, payload: w.finish(), op, object: describe(r) };
}

/**
 * Adds a route: `ip route add DST [via GW] [dev DEV] [metric M] [table T]` (`replace` makes it
 * `ip route replace`). A route with a gateway has universe scope; one with only a device has link scope,
 * as iproute2 chooses.
 */
export function routeAdd(r: RouteSpec, opts: { replace?: boolean } = {}): Request {
  const scope = r.via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  const flags = NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  return build(RTM_NEWROUTE, flags, r, scope, opts.replace ? 'replace route' : 'add route');
}

/** Deletes a route: `ip route del DST [via GW] [dev DEV] [metric M] [table T]`. */
export function routeDel(r: RouteSpec): Request {
  return build(RTM_DELROUTE, 0, { ...r, protocol: 0 }, RT_SCOPE_NOWHERE, 'delete route');
}

/**
 * Lists routes of every table: `ip route show table all` (family 2 IPv4, 10 IPv6, 0 every family); with `type`,
 * only routes of that type (`... type unicast`), filtered by the kernel on a strictly checked socket.
 */
export function routeDump(family: 0 | 2 | 10, type = 0): Request {
  return {
    type: RTM_GETROUTE,
    flags: 0,
    payload: rtmsg(family, 0, 0, 0, 0, type),
    op: 'list routes',
    object: '',
  };
}

/** Decodes an RTM_NEWROUTE message. */
export function parseRoute(m: Message): RouteInfo {
  const p = m.payload;
  const fam = p.readUInt8(0) === 2 ? 4 : 6;
  const dstLen = p.readUInt8(1);
  const at = parseAttrs(p, 12);
  const dst = at.get(RTA_DST);
  const gw = at.get(RTA_GATEWAY);
  const src = at.get(RTA_PREFSRC);
  const proto = p.readUInt8(5);
  return {
    family: fam,
    dst: `${dst ? bufferToIp(dst) : fam === 4 ? '0.0.0.0' : '::'}/${dstLen}`,
    via: gw ? bufferToIp(gw) : undefined,
    oif: attrU32(at.get(RTA_OIF)),
    metric: attrU32(at.get(RTA_PRIORITY)),
    table: attrU32(at.get(RTA_TABLE)) ?? p.readUInt8(4),
    protocol: PROTOCOLS[proto] ?? String(proto),
    scope: p.readUInt8(6),
    type: p.readUInt8(7),
    prefsrc: src ? bufferToIp(src) : undefined,
  };
}
