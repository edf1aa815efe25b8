/**
 * rtnetlink traffic-control family, queueing disciplines only (RTM_NEWQDISC / RTM_DELQDISC / RTM_GETQDISC): the
 * root qdisc of a device, as `tc qdisc replace|del|show dev X root` sets and reads it. Layout per
 * include/uapi/linux/rtnetlink.h (struct tcmsg, 20 bytes, then TCA_KIND and TCA_OPTIONS) and pkt_sched.h (the
 * options of tbf and netem).
 */
import {
  attrString,
  type Message,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  parseAttrs,
  type Request,
  Writer,
} from './message.js';

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;

/** tcm_parent of a device's root qdisc. */
export const TC_H_ROOT = 0xffffffff;

const TCA_KIND = 1;
const TCA_OPTIONS = 2;

const TCA_TBF_PARMS = 1;
const TCA_TBF_RATE64 = 4;
const TCA_TBF_BURST = 6;

const TCA_NETEM_RATE = 6;
const TCA_NETEM_RATE64 = 8;
const TCA_NETEM_LATENCY64 = 10;
const TCA_NETEM_JITTER64 = 11;

/** tc_ratespec.linklayer: Ethernet framing. Anything but 0 (UNAWARE) spares the kernel a rate table. */
const TC_LINKLAYER_ETHERNET = 1;
/** The kernel's packet-scheduler clock: one tick is 64 ns (PSCHED_SHIFT 6). */
const NS_PER_TICK = 64;
const U32_MAX = 0xffffffff;

/**
 * A token bucket (`tc qdisc ... tbf rate R burst B limit L`): what leaves the device is held to `rate`, with
 * bursts of up to `burst` bytes, and at most `limit` bytes wait in its queue (the rest is dropped).
 */
export interface TbfOptions {
  /** Bytes per second. */
  rate: number;
  /** Bucket size in bytes. */
  burst: number;
  /** Queue size in bytes. */
  limit: number;
}

/**
 * The network emulator (`tc qdisc ... netem delay D J loss P rate R`): added delay with uniform jitter, random
 * loss, and a link rate, for what leaves the device.
 */
export interface NetemOptions {
  delayNs: number;
  jitterNs: number;
  /** Probability of dropping a packet, 0..1. */
  loss: number;
  /** Bytes per second; 0 for no rate limit. */
  rate: number;
  /** Queue size in packets (tc's default: 1000). */
  limit: number;
}

/** A device's root qdisc as the kernel reports it (`tc qdisc show`). */
export interface QdiscInfo {
  index: number;
  /** `tbf`, `netem`, `noqueue`, `fq_codel`, ... */
  kind: string;
  handle: number;
  parent: number;
  tbf?: TbfOptions;
  netem?: NetemOptions;
}

function tcmsg(index: number, parent: number, handle = 0): Buffer {
  const b = Buffer.alloc(20);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(handle, 8);
  b.writeUInt32LE(parent, 12);
  return b;
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(Math.round(v)));
  return b;
}

/** struct tc_ratespec (12 bytes) for a rate in bytes per second: rates from 4 GB/s up go in a 64-bit attribute. */
function ratespec(rate: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(TC_LINKLAYER_ETHERNET, 1);
  b.writeUInt32LE(Math.min(rate, U32_MAX), 8);
  return b;
}

/** TCA_OPTIONS of tbf: TCA_TBF_PARMS (struct tc_tbf_qopt), the burst in bytes, and the rate when over 32 bits. */
function tbfOptions(w: Writer, o: TbfOptions): void {
  w.nest(TCA_OPTIONS, (n) => {
    // struct tc_tbf_qopt: rate, peakrate (tc_ratespec each), limit, buffer, mtu. The buffer (in ticks) is left
    // to the kernel, which derives it from TCA_TBF_BURST; no peak rate, so mtu stays 0.
    const qopt = Buffer.alloc(36);
    ratespec(o.rate).copy(qopt, 0);
    qopt.writeUInt32LE(Math.min(o.limit, U32_MAX), 24);
    n.attr(TCA_TBF_PARMS, qopt);
    if (o.rate > U32_MAX) n.attr(TCA_TBF_RATE64, u64(o.rate));
    n.u32(TCA_TBF_BURST, o.burst);
  });
}

/**
 * TCA_OPTIONS of netem, as tc 6.1 sends it: not a nest but struct tc_netem_qopt (latency and jitter in ticks,
 * limit, loss as a fraction of 2^32-1) followed by attributes: the rate (struct tc_netem_rate), and 64-bit
 * nanosecond delays only when the ticks do not fit in 32 bits.
 */
function netemOptions(w: Writer, o: NetemOptions): void {
  const qopt = Buffer.alloc(24);
  const latency = Math.round(o.delayNs / NS_PER_TICK);
  const jitter = Math.round(o.jitterNs / NS_PER_TICK);
  qopt.writeUInt32LE(Math.min(latency, U32_MAX), 0);
  qopt.writeUInt32LE(o.limit, 4);
  qopt.writeUInt32LE(Math.round(o.loss * U32_MAX), 8);
  qopt.writeUInt32LE(Math.min(jitter, U32_MAX), 20);
  const extra = new Writer();
  if (o.rate > 0) {
    const rate = Buffer.alloc(16);
    rate.writeUInt32LE(Math.min(o.rate, U32_MAX), 0);
    extra.attr(TCA_NETEM_RATE, rate);
    if (o.rate > U32_MAX) extra.attr(TCA_NETEM_RATE64, u64(o.rate));
  }
  if (latency > U32_MAX) extra.attr(TCA_NETEM_LATENCY64, u64(o.delayNs));
  if (jitter > U32_MAX) extra.attr(TCA_NETEM_JITTER64, u64(o.jitterNs));
  w.attr(TCA_OPTIONS, Buffer.concat([qopt, extra.finish()]));
}

/**
 * Sets a device's root qdisc: `tc qdisc replace dev DEV root tbf ...` or `... root netem ...`. The kernel
 * changes a root qdisc of the same kind in place and swaps in a new one otherwise. On a kernel without the
 * netem module the answer is ENOENT (`Specified qdisc kind is unknown`).
 */
export function qdiscReplace(
  o: { index: number; dev: string } & (
    | { kind: 'tbf'; tbf: TbfOptions }
    | { kind: 'netem'; netem: NetemOptions }
  ),
): Request {
  const w = new Writer().bytes(tcmsg(o.index, TC_H_ROOT)).str(TCA_KIND, o.kind);
  if (o.kind === 'tbf') tbfOptions(w, o.tbf);
  else netemOptions(w, o.netem);
  return {
    type: RTM_NEWQDISC,
    flags: NLM_F_CREATE | NLM_F_REPLACE,
    payload: w.finish(),
    op: `replace ${o.kind} qdisc`,
    object: `dev ${o.dev} root`,
  };
}

/** Removes a device's root qdisc, giving it back its default one: `tc qdisc del dev DEV root`. */
export function qdiscDel(o: { index: number; dev: string }): Request {
  return {
    type: RTM_DELQDISC,
    flags: 0,
    payload: tcmsg(o.index, TC_H_ROOT),
    op: 'delete qdisc',
    object: `dev ${o.dev} root`,
  };
}

/** Lists the qdiscs of every device: `tc qdisc show`. */
export function qdiscDump(): Request {
  return { type: RTM_GETQDISC, flags: 0, payload: tcmsg(0, 0), op: 'list qdiscs', object: '' };
}

function parseTbf(opts: Buffer): TbfOptions | undefined {
  const at = parseAttrs(opts);
  const parms = at.get(TCA_TBF_PARMS);
  if (!parms || parms.length < 36) return undefined;
  const r64 = at.get(TCA_TBF_RATE64);
  const rate = r64 && r64.length >= 8 ? Number(r64.readBigUInt64LE(0)) : parms.readUInt32LE(8);
  const bufferNs = parms.readUInt32LE(28) * NS_PER_TICK;
  return { rate, burst: Math.round((bufferNs * rate) / 1e9), limit: parms.readUInt32LE(24) };
}

function parseNetem(opts: Buffer): NetemOptions | undefined {
  if (opts.length < 24) return undefined;
  const at = parseAttrs(opts, 24);
  const ns64 = (type: number, ticks: number) => {
    const b = at.get(type);
    return b && b.length >= 8 ? Number(b.readBigInt64LE(0)) : ticks * NS_PER_TICK;
  };
  const rateAttr = at.get(TCA_NETEM_RATE);
  const rate64 = at.get(TCA_NETEM_RATE64);
  const rate =
    rate64 && rate64.length >= 8
      ? Number(rate64.readBigUInt64LE(0))
      : rateAttr && rateAttr.length >= 4
        ? rateAttr.readUInt32LE(0)
        : 0;
  return {
    delayNs: ns64(TCA_NETEM_LATENCY64, opts.readUInt32LE(0)),
    jitterNs: ns64(TCA_NETEM_JITTER64, opts.readUInt32LE(20)),
    limit: opts.readUInt32LE(4),
    loss: opts.readUInt32LE(8) / U32_MAX,
    rate,
  };
}

/** Decodes an RTM_NEWQDISC message (a dump entry), with the options of tbf and netem. */
export function parseQdisc(m: Message): QdiscInfo {
  const p = m.payload;
  const at = parseAttrs(p, 20);
  const kind = attrString(at.get(TCA_KIND)) ?? '';
  const opts = at.get(TCA_OPTIONS);
  const q: QdiscInfo = {
    index: p.readInt32LE(4),
    kind,
    handle: p.readUInt32LE(8),
    parent: p.readUInt32LE(12),
  };
  if (opts && kind === 'tbf') q.tbf = parseTbf(opts);
  if (opts && kind === 'netem') q.netem = parseNetem(opts);
  return q;
}
