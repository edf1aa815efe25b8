/**
 * Waiting for a lab to get somewhere (a routing protocol converged, a daemon listening): driven by the kernel
 * where it can tell (route events on a netlink socket in the node's namespace), else by a short poll; a wait that
 * runs out fails with the state it saw last.
 */
import type { KernelSession } from '../apply/session.js';
import {
  parseRoute,
  type RouteInfo,
  RTM_DELROUTE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_ROUTE,
} from '../netlink/route.js';
import { NetlinkSocket } from '../netlink/socket.js';
import { connectOnce } from '../netns/tcp.js';
import { inNetns } from '../netns/thread.js';
import { probe } from '../probe/icmp.js';
import type { ReachResult } from '../reach/types.js';
import { NslabError } from '../sys/errors.js';
import * as sys from '../sys/libc.js';
import { canonicalAddress, isAddress, parseCidr } from '../topology/ip.js';
import { addressesOf } from '../topology/lookup.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';

export interface WaitOptions {
  /** How long to wait, in ms (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function nodeOf(lab: ResolvedLab, name: string): ResolvedNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) {
    throw new NslabError(
      `lab ${lab.name} has no node ${name} (nodes: ${lab.nodes.map((x) => x.name).join(', ')})`,
      2,
    );
  }
  return n;
}

function handleOf(session: KernelSession, node: ResolvedNode) {
  return session.handle(node.kind === 'host' ? null : node.netns);
}

/**
 * Pings `to` (a node: each of its addresses; or an address) from `from` until every address answers, as
 * `ping -c 1 -W 1` would, a round every 200 ms. Resolves with the answers.
 */
export async function waitForReach(
  session: KernelSession,
  lab: ResolvedLab,
  from: string,
  to: string,
  opts: WaitOptions & { family?: 4 | 6 } = {},
): Promise<ReachResult[]> {
  const src = nodeOf(lab, from);
  const fd = handleOf(session, src).fd;
  const targets = isAddress(to)
    ? [{ from, fd, to: canonicalAddress(to) }]
    : addressesOf(nodeOf(lab, to), { family: opts.family }).map((a) => ({ from, fd, to: a, toNode: to }));
  if (targets.length === 0) throw new NslabError(`${to} has no address to reach in lab ${lab.name}`, 2);
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  const deadline = performance.now() + timeout;
  for (;;) {
    const round = performance.now();
    const left = deadline - round;
    const results = await probe(targets, { timeoutMs: Math.max(50, Math.min(500, left)) });
    if (results.every((r) => r.verdict === 'reached')) return results;
    if (performance.now() >= deadline) {
      const seen = results.map((r) => `${r.to} ${r.verdict}${r.reason ? ` (${r.reason})` : ''}`).join(', ');
      throw new NslabError(`${from} cannot reach ${to} after ${seconds(timeout)}: ${seen}`, 1);
    }
    await sleep(Math.max(0, Math.min(200 - (performance.now() - round), deadline - performance.now())));
  }
}

/**
 * Connects to `port` from inside `node` (to 127.0.0.1, or `address`) until something accepts, every 100 ms.
 * Nothing is sent: the connection is closed as soon as it is made.
 */
export async function waitForPort(
  session: KernelSession,
  lab: ResolvedLab,
  node: string,
  port: number,
  opts: WaitOptions & { address?: string } = {},
): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new NslabError(`${port} is not a TCP port`, 2);
  const address = opts.address ?? '127.0.0.1';
  if (!isAddress(address)) throw new NslabError(`${address} is not an address`, 2);
  const fd = handleOf(session, nodeOf(lab, node)).fd;
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  const deadline = performance.now() + timeout;
  for (;;) {
    const round = performance.now();
    const code = await connectOnce(fd, address, port, Math.max(50, Math.min(1000, deadline - round)));
    if (code === undefined) return;
    if (performance.now() >= deadline) {
      throw new NslabError(
        `nothing in ${node} accepted a TCP connection to ${address}:${port} after ${seconds(timeout)} (last answer: ${code})`,
        1,
      );
    }
    await sleep(Math.max(0, Math.min(100 - (performance.now() - round), deadline - performance.now())));
  }
}

function routeKey(r: RouteInfo): string {
  return `${r.table} ${r.dst} ${r.metric ?? ''} ${r.via ?? ''} ${r.oif ?? ''}`;
}

function routeText(r: RouteInfo, devs: Map<number, string>): string {
  const parts = [/\/0$/.test(r.dst) ? 'default' : r.dst];
  if (r.via) parts.push(`via ${r.via}`);
  if (r.oif !== undefined) parts.push(`dev ${devs.get(r.oif) ?? `if${r.oif}`}`);
  if (r.protocol !== 'boot' && r.protocol !== 'kernel') parts.push(`proto ${r.protocol}`);
  return parts.join(' ');
}

/**
 * Waits until `node` has a route whose destination is exactly `prefix` (in the main table, or `table`): a dump
 * first, then the kernel's route events (RTNLGRP_IPV4_ROUTE / RTNLGRP_IPV6_ROUTE) on a netlink socket opened in
 * the node's namespace, read every 20 ms. Resolves with the route.
 */
export async function waitForRoute(
  session: KernelSession,
  lab: ResolvedLab,
  node: string,
  prefix: string,
  opts: WaitOptions & { table?: number } = {},
): Promise<RouteInfo> {
  const c = parseCidr(prefix);
  if (!c || !prefix.includes('/')) throw new NslabError(`${prefix} is not a prefix like 10.9.2.0/24`, 2);
  const dst = c.network;
  const table = opts.table ?? 254;
  const h = handleOf(session, nodeOf(lab, node));
  const matches = (r: RouteInfo) => r.dst === dst && r.table === table && r.type === RTN_UNICAST;
  // Subscribed before the dump, so that no change between the two is missed; events repeat what the dump saw.
  const events = inNetns(h.fd, () => NetlinkSocket.open());
  try {
    events.subscribe([c.family === 4 ? RTNLGRP_IPV4_ROUTE : RTNLGRP_IPV6_ROUTE]);
    const present = new Map<string, RouteInfo>();
    const resync = () => {
      present.clear();
      for (const r of h.routes(c.family)) if (matches(r)) present.set(routeKey(r), r);
    };
    resync();
    const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT;
    const deadline = performance.now() + timeout;
    while (present.size === 0) {
      if (performance.now() >= deadline) {
        const devs = new Map(h.links().map((l) => [l.index, l.name]));
        const rows = h
          .routes(c.family)
          .filter((r) => r.table === table && r.type === RTN_UNICAST && !r.dst.startsWith('fe80:'))
          .map((r) => routeText(r, devs));
        throw new NslabError(
          `${node} has no route to ${dst} after ${seconds(timeout)}; its table: ${rows.join(', ') || 'empty'}`,
          1,
        );
      }
      await sleep(Math.min(20, Math.max(0, deadline - performance.now())));
      try {
        for (const m of events.drain()) {
          if (m.type !== RTM_NEWROUTE && m.type !== RTM_DELROUTE) continue;
          const r = parseRoute(m);
          if (!matches(r)) continue;
          if (m.type === RTM_NEWROUTE) present.set(routeKey(r), r);
          else present.delete(routeKey(r));
        }
      } catch (e) {
        // The kernel dropped events (ENOBUFS): read the table afresh.
        if (!(e instanceof sys.SysError && e.code === 'ENOBUFS')) throw e;
        resync();
      }
    }
    return [...present.values()][0];
  } finally {
    events.close();
  }
}
