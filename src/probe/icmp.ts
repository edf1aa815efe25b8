/**
 * Live reachability probing with ICMP echo, like `ip netns exec NS ping -c 1 -W 1 ADDR` for many pairs at once,
 * without a process per pair: one raw ICMP socket per namespace and family, opened inside the namespace (a socket
 * stays in the namespace it was created in for life), every echo request sent at once, every answer read back
 * from all sockets in one poll loop.
 *
 * Raw sockets rather than ping datagram sockets (SOCK_DGRAM/IPPROTO_ICMP): those need net.ipv4.ping_group_range,
 * which is off in a new namespace, and nslab runs as root anyway. A raw socket sees every ICMP packet arriving in
 * its namespace, so each answer is matched to its request by identifier, sequence, payload token and address.
 */
import { inNetns } from '../netns/thread.js';
import type { ReachResult } from '../reach/types.js';
import * as sys from '../sys/libc.js';
import { IPPROTO_IPV6, IPV6_RECVHOPLIMIT, recvmsg } from '../sys/recvmsg.js';
import { setSocketBuffers } from '../sys/sockbuf.js';
import { addressFamily, canonicalAddress, isAddress } from '../topology/ip.js';
import {
  echoRequest,
  hopsFromTtl,
  ICMP_DEST_UNREACH,
  ICMP_ECHOREPLY,
  ICMP_PARAMETERPROB,
  ICMP_TIME_EXCEEDED,
  ICMP6_DST_UNREACH,
  ICMP6_ECHO_REPLY,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_PARAM_PROB,
  ICMP6_TIME_EXCEEDED,
  ipv6Text,
  type ParsedIcmp,
  parseIcmp4,
  parseIcmp6,
  sockaddr,
} from './packet.js';
import { ProbeError, type ProbeOptions, type ProbeTarget } from './types.js';

const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
/** setsockopt level of raw IPv4 sockets, and its ICMP type filter (a bit set = that type is dropped). */
const SOL_RAW = 255;
const ICMP_FILTER = 1;
/** setsockopt on raw ICMPv6 sockets: struct icmp6_filter, 256 bits, a bit set = that type is dropped. */
const ICMP6_FILTER = 1;
/**
 * Socket buffers, forced past net.core.{r,w}mem_max as root: a namespace may receive thousands of answers at
 * once. In a private lab (a user namespace) only up to those sysctls: see sendBatch.
 */
const SOCKET_BUFFER = 4 << 20;
/** Longest a poll(2) blocks the main thread before the event loop gets a turn. */
const SLICE_MS = 10;
/** Echo requests sent between two reads of the sockets, when the receive buffers take them. */
const SEND_BATCH = 256;
/**
 * Receive buffer one answer may take: an echo reply or ICMP error as a raw socket queues it (the skb's truesize,
 * up to a page and its overhead for a frame received on a veth).
 */
const ANSWER_BYTES = 4608;

/**
 * Echo requests sent between two reads: at most what the smallest receive buffer of `fds` takes in answers,
 * should every request of a batch be answered at one socket before it is read again.
 */
function sendBatch(fds: number[]): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (const fd of fds) smallest = Math.min(smallest, sys.getsockoptInt(fd, sys.SOL_SOCKET, sys.SO_RCVBUF));
  return Math.max(8, Math.min(SEND_BATCH, Math.floor(smallest / ANSWER_BYTES)));
}

/** Opens one raw ICMP (v4) or ICMPv6 socket inside the namespace `fd`, non-blocking, filtered to answers. */
export function openProbeSocket(fd: number, family: 4 | 6): number {
  return inNetns(fd, () => {
    const s =
      family === 4
        ? sys.socket(sys.AF_INET, sys.SOCK_RAW | sys.SOCK_NONBLOCK, IPPROTO_ICMP)
        : sys.socket(sys.AF_INET6, sys.SOCK_RAW | sys.SOCK_NONBLOCK, IPPROTO_ICMPV6);
    try {
      setSocketBuffers(s, { rcv: SOCKET_BUFFER, snd: SOCKET_BUFFER });
      if (family === 4) {
        // Let through only echo replies and the errors that quote a request; drop the echo requests that other
        // probes send to this namespace, which would otherwise fill the buffer.
        const pass = [ICMP_ECHOREPLY, ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB];
        const mask = Buffer.alloc(4);
        mask.writeUInt32LE(~pass.reduce((m, t) => m | (1 << t), 0) >>> 0);
        sys.setsockopt(s, SOL_RAW, ICMP_FILTER, mask);
      } else {
        const filter = Buffer.alloc(32, 0xff);
        for (const t of [
          ICMP6_DST_UNREACH,
          ICMP6_PACKET_TOO_BIG,
          ICMP6_TIME_EXCEEDED,
          ICMP6_PARAM_PROB,
          ICMP6_ECHO_REPLY,
        ]) {
          const word = (t >> 5) * 4;
          filter.writeUInt32LE((filter.readUInt32LE(word) & ~(1 << (t & 31))) >>> 0, word);
        }
        sys.setsockopt(s, IPPROTO_ICMPV6, ICMP6_FILTER, filter);
        sys.setsockoptInt(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
      }
      return s;
    } catch (e) {
      sys.close(s);
      throw e;
    }
  });
}

/**
 * Opens the two raw sockets ping would use inside the namespace `fd`: AF_INET/SOCK_RAW/IPPROTO_ICMP and
 * AF_INET6/SOCK_RAW/IPPROTO_ICMPV6, non-blocking, each filtered to echo replies and ICMP errors, the IPv6 one
 * reporting the hop limit of what it receives. Close them with sys.close: an open socket keeps its namespace
 * alive after `ip netns del`.
 */
export function openProbeSockets(fd: number): { v4: number; v6: number } {
  const v4 = openProbeSocket(fd, 4);
  try {
    return { v4, v6: openProbeSocket(fd, 6) };
  } catch (e) {
    sys.close(v4);
    throw e;
  }
}

/** What ping prints for a sendto(2) that fails locally (`ping: connect: Network is unreachable`). */
const LOCAL_ERRORS: Record<string, string> = {
  ENETUNREACH: 'Network is unreachable',
  EHOSTUNREACH: 'No route to host',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
  ENETDOWN: 'Network is down',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EMSGSIZE: 'Message too long',
};

const RETRY_LATER = new Set(['EAGAIN', 'EWOULDBLOCK', 'ENOBUFS']);

interface TargetState {
  from: string;
  to: string;
  toNode?: string;
  initialTtl?: number;
  family: 4 | 6;
  sock: number;
  addr: Buffer;
  answered: number;
  done: boolean;
  reply?: { rttMs: number; ttl?: number };
  error?: { reason: string; reporter?: string };
}

interface PacketState {
  target: number;
  sentAt?: number;
  answered: boolean;
}

let runCounter = 0;

/**
 * Pings every target at once and waits for the answers: `ping -c COUNT -W TIMEOUT` from each target's namespace
 * to its address, all in parallel. Each echo request carries this run's identifier (one id per 65536 requests),
 * a sequence number and a payload token; replies are matched by id, sequence, token and source address, ICMP
 * errors by the echo request they quote (its destination, id, sequence, token). Sockets are opened per namespace
 * and family, and closed at the end.
 *
 * Results come in target order: `reached` with rtt, reply TTL and routers crossed; `unreachable` with the reason
 * ping prints and the address that sent the error (`reporter`), or with the local error when sendto(2) itself
 * fails (`Network is unreachable` when there is no route); `lost` when nothing came back within `timeoutMs`
 * after the last request.
 *
 * Routers rate-limit the ICMP errors they send to one source address (net.ipv4.icmp_ratelimit,
 * net.ipv6.icmp.ratelimit: a burst of a few, then one per second), so when one source has many targets refused by
 * the same router in one run, or within a second of another run, only the first few show as `unreachable` and the
 * rest as `lost`. Local failures (`Network is unreachable`) are not limited.
 */
export async function probe(targets: ProbeTarget[], opts: ProbeOptions = {}): Promise<ReachResult[]> {
  const timeoutMs = Math.max(0, opts.timeoutMs ?? 1000);
  const count = Math.max(1, Math.floor(opts.count ?? 1));
  const intervalMs = Math.max(0, opts.intervalMs ?? 0);
  if (targets.length === 0) return [];

  const socks = new Map<string, number>();
  const sockKeys = new Map<number, 4 | 6>();
  // Destinations as given -> canonical text, family and sockaddr (parsed once per distinct address).
  const dests = new Map<string, { to: string; family: 4 | 6; addr: Buffer }>();
  try {
    const states: TargetState[] = targets.map((t) => {
      let dest = dests.get(t.to);
      if (!dest) {
        if (!isAddress(t.to))
          throw new ProbeError(`cannot ping ${t.to} from ${t.from}: not an IP address`, 2);
        const canonical = canonicalAddress(t.to);
        dest = { to: canonical, family: addressFamily(canonical), addr: sockaddr(canonical) };
        dests.set(t.to, dest);
      }
      const { to, family, addr } = dest;
      const key = `${t.fd}/${family}`;
      let sock = socks.get(key);
      if (sock === undefined) {
        try {
          sock = openProbeSocket(t.fd, family);
        } catch (e) {
          throw new ProbeError(
            `cannot open a raw ICMP${family === 6 ? 'v6' : ''} socket in the namespace of ${t.from}: ${(e as Error).message}` +
              (e instanceof sys.SysError && e.code === 'EPERM'
                ? ' (raw sockets need root or CAP_NET_RAW)'
                : ''),
            1,
            { cause: e },
          );
        }
        socks.set(key, sock);
        sockKeys.set(sock, family);
      }
      return {
        from: t.from,
        to,
        toNode: t.toNode,
        initialTtl: t.initialTtl,
        family,
        sock,
        addr,
        answered: 0,
        done: false,
      };
    });
    await run(states, [...sockKeys], { timeoutMs, count, intervalMs });
    return states.map(result);
  } finally {
    for (const s of socks.values()) sys.close(s);
  }
}

function result(s: TargetState): ReachResult {
  const r: ReachResult = { from: s.from, to: s.to, family: s.family, verdict: 'lost' };
  if (s.toNode !== undefined) r.toNode = s.toNode;
  if (s.reply) {
    r.verdict = 'reached';
    r.rttMs = Math.round(s.reply.rttMs * 1000) / 1000;
    if (s.reply.ttl !== undefined) {
      r.replyTtl = s.reply.ttl;
      r.hops =
        s.initialTtl !== undefined && s.initialTtl >= s.reply.ttl
          ? s.initialTtl - s.reply.ttl
          : hopsFromTtl(s.reply.ttl);
    }
  } else if (s.error) {
    r.verdict = 'unreachable';
    r.reason = s.error.reason;
    if (s.error.reporter !== undefined) r.reporter = s.error.reporter;
  }
  return r;
}

async function run(
  states: TargetState[],
  sockets: [number, 4 | 6][],
  o: { timeoutMs: number; count: number; intervalMs: number },
): Promise<void> {
  runCounter = (runCounter + 1) & 0xffff;
  const baseId = (process.pid + runCounter * 7919 + Math.floor(Math.random() * 0x10000)) & 0xffff;
  const token = (Math.random() * 0x100000000) >>> 0;
  const packets: PacketState[] = [];
  const fds = sockets.map(([fd]) => fd);
  const familyOf = new Map(sockets);
  const batch = sendBatch(fds);
  const v4buf = Buffer.alloc(65536);
  let pending = states.length;
  const start = performance.now();
  let lastSend = start;
  let round = 0;
  const queue: number[] = []; // target indexes whose next request is due
  const backlog: number[] = []; // packets whose sendto would have blocked

  const settle = (s: TargetState) => {
    if (!s.done) {
      s.done = true;
      pending -= 1;
    }
  };

  const send = (k: number): boolean => {
    const p = packets[k];
    const s = states[p.target];
    const pkt = echoRequest(s.family, baseId + (k >>> 16), k & 0xffff, token);
    try {
      sys.sendto(s.sock, pkt, s.addr);
    } catch (e) {
      if (!(e instanceof sys.SysError)) throw e;
      if (RETRY_LATER.has(e.code)) return false;
      s.error ??= { reason: LOCAL_ERRORS[e.code] ?? e.code };
      settle(s);
      return true;
    }
    p.sentAt = performance.now();
    lastSend = p.sentAt;
    return true;
  };

  const accept = (fd: number, m: ParsedIcmp | undefined, now: number) => {
    if (!m) return;
    const k = ((m.id - baseId) & 0xffff) * 0x10000 + m.seq;
    const p = packets[k];
    if (!p || p.answered || p.sentAt === undefined) return;
    const s = states[p.target];
    if (s.sock !== fd || s.family !== m.family) return;
    if (m.kind === 'reply') {
      if (m.token !== token || m.src !== s.to) return;
      p.answered = true;
      if (!s.reply) s.reply = { rttMs: now - p.sentAt, ttl: m.ttl };
      settle(s);
      return;
    }
    if (m.dst !== s.to || (m.token !== undefined && m.token !== token)) return;
    p.answered = true;
    s.error ??= { reason: m.reason, reporter: m.src };
    s.answered += 1;
    if (s.answered >= o.count) settle(s);
  };

  const drain = (fd: number) => {
    const family = familyOf.get(fd);
    for (;;) {
      if (family === 4) {
        const n = sys.recv(fd, v4buf, sys.MSG_DONTWAIT, true);
        if (n < 0) return;
        accept(fd, parseIcmp4(v4buf.subarray(0, n)), performance.now());
      } else {
        const r = recvmsg(fd, sys.MSG_DONTWAIT);
        if (!r) return;
        const src = r.from.length >= 24 ? ipv6Text(r.from, 8) : '';
        accept(fd, parseIcmp6(r.data, src, r.hopLimit), performance.now());
      }
    }
  };

  for (;;) {
    const now = performance.now();
    // Start the next round when it is due: one more request to every target not yet settled.
    if (queue.length === 0 && round < o.count && now >= start + round * o.intervalMs) {
      states.forEach((s, i) => {
        if (!s.done) queue.push(i);
      });
      queue.reverse();
      round += 1;
    }
    let budget = batch;
    while (backlog.length > 0 && budget > 0) {
      if (!send(backlog[0])) break;
      backlog.shift();
      budget -= 1;
    }
    while (queue.length > 0 && budget > 0 && backlog.length === 0) {
      const t = queue.pop()!;
      const s = states[t];
      if (s.done) continue;
      const k = packets.length;
      packets.push({ target: t, answered: false });
      if (!send(k)) backlog.push(k);
      budget -= 1;
    }
    if (pending === 0) break;
    const deadline = lastSend + o.timeoutMs;
    const more = queue.length > 0 || round < o.count;
    // Past the deadline: stop, unless later rounds are still to come. A backlog the socket has not taken for a
    // whole timeout is given up, and its targets stay lost.
    if (now >= deadline && (backlog.length > 0 || !more)) break;
    const nextRound = round < o.count ? start + round * o.intervalMs : Number.POSITIVE_INFINITY;
    const wait =
      queue.length > 0 && backlog.length === 0
        ? 0
        : Math.max(0, Math.min(SLICE_MS, Math.ceil(Math.min(deadline, nextRound) - performance.now())));
    for (const fd of sys.pollIn(fds, wait)) drain(fd);
    await new Promise(setImmediate);
  }
}
