/**
 * An rtnetlink socket (AF_NETLINK, NETLINK_ROUTE). A socket talks to the network namespace of the thread that
 * opened it, for its whole life: that is what makes a socket a handle on one namespace.
 */
import { getSystemErrorMap } from 'node:util';
import { NslabError } from '../sys/errors.js';
import * as sys from '../sys/libc.js';
import { setSocketBuffers } from '../sys/sockbuf.js';
import {
  attrString,
  frame,
  frameInto,
  type Message,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSGERR_ATTR_MSG,
  parseAttrs,
  parseMessages,
  type Request,
} from './message.js';

export const NETLINK_ROUTE = 0;
/** nfnetlink: nftables and the rest of netfilter. */
export const NETLINK_NETFILTER = 12;
const SOL_NETLINK = 270;
const NETLINK_ADD_MEMBERSHIP = 1;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const NETLINK_GET_STRICT_CHK = 12;

/**
 * Buffers asked for, so that a burst of replies never ends in ENOBUFS: granted past net.core.rmem_max by
 * SO_RCVBUFFORCE as root; in a user namespace (a private lab) only up to rmem_max, and batches are cut to fit.
 */
const RCVBUF = 32 * 1024 * 1024;
const SNDBUF = 4 * 1024 * 1024;
/** Requests are packed into datagrams of at most this many bytes (fewer when the send buffer is smaller). */
const MAX_DATAGRAM = 1024 * 1024;
/**
 * Receive buffer one refused request may take with its error: the kernel's error message with extended ack is a
 * socket buffer of 830 bytes here (truesize, measured), more with a long ack text.
 */
const ERROR_BYTES = 2048;
/**
 * What a socket with the kernel's default buffers (net.core.rmem_default/wmem_default, 208 KB here) takes in one
 * datagram: at most this many requests, with room for all their errors, and this many bytes; less where the
 * defaults are smaller (read once per process from the first socket).
 */
const SMALL_REQUESTS = 16;
const SMALL_BYTES = 16 * 1024;
let small: { requests: number; bytes: number } | undefined;

function smallLimits(fd: number): { requests: number; bytes: number } {
  if (small) return small;
  const rcv = sys.getsockoptInt(fd, sys.SOL_SOCKET, sys.SO_RCVBUF);
  const snd = sys.getsockoptInt(fd, sys.SOL_SOCKET, sys.SO_SNDBUF);
  small = {
    requests: Math.max(0, Math.min(SMALL_REQUESTS, Math.floor((rcv - 2 * ERROR_BYTES) / ERROR_BYTES))),
    bytes: Math.max(0, Math.min(SMALL_BYTES, Math.floor(snd / 2) - 64)),
  };
  return small;
}

/**
 * One buffer for every receive and one for every send: all netlink I/O is synchronous on the main thread. The
 * receive buffer is made on first use (commands that never talk to the kernel do not pay for it).
 */
let rbuf: Buffer | undefined;
let sbuf: Buffer = Buffer.alloc(64 * 1024);

function receiveBuffer(): Buffer {
  rbuf ??= Buffer.allocUnsafe(4 * 1024 * 1024);
  return rbuf;
}
const EMPTY = Buffer.alloc(0);

function growSendBuffer(b: Buffer, need: number, used: number): Buffer {
  const next = Buffer.alloc(Math.max(need, b.length * 2));
  b.copy(next, 0, 0, used);
  return next;
}

let systemErrors: Map<number, [string, string]> | undefined;

/**
 * The kernel refused a request. Carries the errno name (`EEXIST`), the operation and object in words
 * (`add address`, `10.1.10.1/24 dev veth11`) and the kernel's extended-ack text (`ipv4: Address already assigned`).
 */
export class NetlinkError extends NslabError {
  readonly errno: number;
  readonly code: string;
  readonly op: string;
  readonly object: string;
  readonly extack?: string;
  constructor(errno: number, op: string, object: string, extack?: string) {
    const code = sys.errnoName(errno);
    systemErrors ??= getSystemErrorMap();
    const text = extack ?? systemErrors.get(-errno)?.[1] ?? 'failed';
    const kind = /^add (\S+)$/.exec(op)?.[1];
    super(
      kind && code === 'EOPNOTSUPP' && /Unknown device type/i.test(text)
        ? `${op} ${object}: this kernel has no '${kind}' devices (the ${kind} module is not available): ${code}: ${text}`
        : `${op} ${object}: ${code}: ${text}`,
    );
    this.name = 'NetlinkError';
    this.errno = errno;
    this.code = code;
    this.op = op;
    this.object = object;
    this.extack = extack;
  }
}

/** Decodes an NLMSG_ERROR payload: errno (positive, 0 = ack) and the extended-ack message. */
export function parseError(msg: Message): { errno: number; extack?: string } {
  const errno = -msg.payload.readInt32LE(0);
  let extack: string | undefined;
  if (msg.flags & NLM_F_ACK_TLVS && msg.payload.length > 4 + NLMSG_HDRLEN) {
    // With NETLINK_CAP_ACK only the original header (not its payload) is echoed back.
    extack = attrString(parseAttrs(msg.payload, 4 + NLMSG_HDRLEN).get(NLMSGERR_ATTR_MSG));
  }
  return { errno, extack };
}

function bytesOf(reqs: Request[]): number {
  let n = 0;
  for (const r of reqs) n += NLMSG_HDRLEN + r.payload.length;
  return n;
}

export class NetlinkSocket {
  readonly fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private closed = false;
  /** Most bytes of requests in one datagram: the kernel refuses (EMSGSIZE) one past the send buffer. */
  private maxDatagram: number;
  /**
   * Most requests in one datagram: the kernel handles a whole datagram before we read, so the errors of all its
   * requests (every one may fail) must fit in the receive buffer at once.
   */
  private maxRequests: number;
  /** Buffer sizes asked for, set on the socket when a batch or a subscription first needs them. */
  private readonly want: { rcv: number; snd: number };
  private sized = false;

  private constructor(fd: number, want: { rcv?: number; snd?: number } = {}) {
    this.fd = fd;
    this.want = { rcv: want.rcv ?? RCVBUF, snd: want.snd ?? SNDBUF };
    const limits = smallLimits(fd);
    this.maxRequests = limits.requests;
    this.maxDatagram = limits.bytes;
  }

  /**
   * Sets the socket's buffers as asked and sizes batches by what the kernel granted. Until then the socket keeps
   * the kernel's default buffers (about 200 KB each way), which serve any dump and any batch of up to
   * SMALL_REQUESTS requests: most sockets (one per namespace, to look or to set up one veth end) never need
   * more, and skip four system calls.
   */
  private size(): void {
    if (this.sized) return;
    this.sized = true;
    const granted = setSocketBuffers(this.fd, this.want);
    this.maxDatagram = Math.max(4096, Math.min(MAX_DATAGRAM, Math.floor(granted.snd / 2)));
    this.maxRequests = Math.max(1, Math.floor((granted.rcv - 2 * ERROR_BYTES) / ERROR_BYTES));
  }

  /**
   * Opens a NETLINK_ROUTE (or `protocol`) socket in the calling thread's current network namespace. `buffers`
   * asks for other buffer sizes than nslab's (tests use small ones to see batches cut to fit); they are set at
   * once, nslab's own when first needed.
   */
  static open(protocol = NETLINK_ROUTE, buffers: { rcv?: number; snd?: number } = {}): NetlinkSocket {
    const fd = sys.socket(sys.AF_NETLINK, sys.SOCK_RAW, protocol);
    try {
      sys.setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      sys.setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      // Strict checking of dump requests: the kernel then applies the filters a request's header carries (a
      // route dump of one type leaves the local table's entries out, most of a namespace's routes). A kernel
      // without it (before 4.20) ignores the filters, and the decoders still filter.
      if (protocol === NETLINK_ROUTE) {
        try {
          sys.setsockoptInt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
        } catch (e) {
          if (!(e instanceof sys.SysError && e.code === 'ENOPROTOOPT')) throw e;
        }
      }
      const sock = new NetlinkSocket(fd, buffers);
      if (buffers.rcv !== undefined || buffers.snd !== undefined) sock.size();
      return sock;
    } catch (e) {
      sys.close(fd);
      throw e;
    }
  }

  /** Takes over an open NETLINK_ROUTE socket fd (one opened by `open` on another thread). */
  static adopt(fd: number): NetlinkSocket {
    return new NetlinkSocket(fd);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) & 0x7fffffff;
    return this.seq;
  }

  /**
   * Sends requests, many to a datagram, and returns one result per request: undefined when the kernel
   * accepted it, a NetlinkError when it refused it. Requests are sent without NLM_F_ACK (the kernel then
   * answers only failures), and each datagram ends with an acknowledged NLMSG_NOOP as a barrier, so a batch of
   * a thousand costs one send and one receive. The kernel carries on after a failed request: later requests in
   * the same batch are still applied. A datagram holds as many requests as the socket's buffers take, whatever
   * the kernel granted (a private lab's are smaller: more datagrams, the same results).
   */
  execute(reqs: Request[]): (NetlinkError | undefined)[] {
    this.assertOpen();
    if (!this.sized && (reqs.length > this.maxRequests || bytesOf(reqs) > this.maxDatagram)) this.size();
    const results: (NetlinkError | undefined)[] = new Array(reqs.length).fill(undefined);
    let i = 0;
    while (i < reqs.length) {
      const first = (this.seq + 1) & 0x7fffffff;
      const start = i;
      let size = 0;
      while (
        i < reqs.length &&
        (i === start ||
          (i - start < this.maxRequests && size + reqs[i].payload.length + 64 < this.maxDatagram))
      ) {
        const r = reqs[i];
        const room = size + NLMSG_HDRLEN + r.payload.length + 4 + NLMSG_HDRLEN;
        if (room > sbuf.length) sbuf = growSendBuffer(sbuf, room, size);
        size += frameInto(sbuf, size, r.type, r.flags & ~NLM_F_ACK, r.payload, this.nextSeq());
        i++;
      }
      const barrier = this.nextSeq();
      size += frameInto(sbuf, size, NLMSG_NOOP, NLM_F_ACK, EMPTY, barrier);
      sys.send(this.fd, sbuf.subarray(0, size));
      this.readUntil(barrier, (seq, errno, extack) => {
        const k = start + ((seq - first) & 0x7fffffff);
        if (k >= start && k < i && errno !== 0)
          results[k] = new NetlinkError(errno, reqs[k].op, reqs[k].object, extack);
      });
    }
    return results;
  }

  /** Sends requests and throws the first refusal (after the whole batch ran). */
  run(...reqs: Request[]): void {
    const err = this.execute(reqs).find((e) => e !== undefined);
    if (err) throw err;
  }

  /** Sends a dump request (NLM_F_DUMP) and returns every message of the answer. Retries an interrupted dump. */
  dump(req: Request): Message[] {
    return this.dumpEach(req, (m) => ({ ...m, payload: Buffer.from(m.payload) }));
  }

  /**
   * Sends a dump request and decodes each message of the answer with `decode` as it arrives (its payload is a
   * view into the receive buffer, valid only during the call), keeping what it returns unless undefined.
   * Retries an interrupted dump.
   */
  dumpEach<T>(req: Request, decode: (m: Message) => T | undefined): T[] {
    this.assertOpen();
    for (let attempt = 0; ; attempt++) {
      const seq = this.nextSeq();
      sys.send(this.fd, frame({ ...req, flags: req.flags | NLM_F_DUMP }, seq));
      const out: T[] = [];
      let interrupted = false;
      let done = false;
      while (!done) {
        const n = sys.recv(this.fd, receiveBuffer());
        for (const m of parseMessages(rbuf!, n)) {
          if (m.seq !== seq) continue;
          if (m.type === NLMSG_DONE) {
            done = true;
            break;
          }
          if (m.type === NLMSG_ERROR) {
            const { errno, extack } = parseError(m);
            if (errno !== 0) throw new NetlinkError(errno, req.op, req.object, extack);
            done = true;
            break;
          }
          if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
          const v = decode(m);
          if (v !== undefined) out.push(v);
        }
      }
      if (!interrupted || attempt >= 3) return out;
    }
  }

  /** Reads acks and errors until the ack of `barrier`, handing each to `onAck`. */
  private readUntil(barrier: number, onAck: (seq: number, errno: number, extack?: string) => void): void {
    for (;;) {
      const n = sys.recv(this.fd, receiveBuffer());
      for (const m of parseMessages(rbuf!, n)) {
        if (m.type !== NLMSG_ERROR) continue;
        const { errno, extack } = parseError(m);
        if (m.seq === barrier) return;
        onAck(m.seq, errno, extack);
      }
    }
  }

  /**
   * Joins multicast groups (`ip monitor route` joins RTNLGRP_IPV4_ROUTE and RTNLGRP_IPV6_ROUTE): the kernel then
   * sends this socket a message for every change in them. Use a socket of its own for that: `dump` and
   * `execute` skip messages that answer no request of theirs.
   */
  subscribe(groups: number[]): void {
    this.assertOpen();
    this.size(); // a burst of events must not overflow the receive buffer
    // The kernel skips listeners whose port id is 0 (its own): bind first, letting it choose the port id.
    const addr = Buffer.alloc(12);
    addr.writeUInt16LE(sys.AF_NETLINK, 0);
    sys.bind(this.fd, addr);
    for (const g of groups) sys.setsockoptInt(this.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g);
  }

  /**
   * The messages waiting on the socket, without blocking (MSG_DONTWAIT). A SysError ENOBUFS means the kernel
   * dropped some because the socket was not read in time: whoever keeps state from them must read it afresh.
   */
  drain(): Message[] {
    this.assertOpen();
    const out: Message[] = [];
    const buf = receiveBuffer();
    for (;;) {
      const n = sys.recv(this.fd, buf, sys.MSG_DONTWAIT, true);
      if (n < 0) return out;
      for (const m of parseMessages(buf, n)) out.push({ ...m, payload: Buffer.from(m.payload) });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new NslabError('netlink socket used after close');
  }

  /** Closes the socket (an open socket keeps its namespace alive). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.close(this.fd);
  }
}
