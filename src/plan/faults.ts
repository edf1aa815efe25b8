/**
 * Impairments and partitions as operations, pure like the rest of the planner: what the kernel must hold for
 * an interface's `impair:` (a root qdisc, or an nftables loss rule on a kernel without netem), the ops that get
 * it there from what is observed, and the `tc` / `nft` spelling of those ops.
 *
 * Which kernel does what: rate is a token bucket (tbf, in every kernel nslab runs on). Delay, jitter and loss are
 * netem (sch_netem), which carries the rate too when it is there. Without netem, loss falls back to a rule
 * `numgen random mod 100 < P drop` in the lab's nftables table (`inet nslab_LAB`) of the interface's namespace,
 * and delay or jitter cannot be had: planning them fails with a sentence naming sch_netem.
 */
import { describeImpairment, type Impairment } from '../topology/impairment.js';
import type { ResolvedInterface, ResolvedLab, ResolvedNode } from '../topology/types.js';
import { formatDuration, formatLoss, formatRate } from '../topology/units.js';
import { PlanError, targetOf } from './common.js';
import type { FaultOp, ObservedQdisc, ObservedState, Qdisc } from './types.js';

/** The nftables table of a lab, in every namespace it puts rules in: ownership is by this exact name. */
export function labTable(lab: { name: string }): string {
  return `nslab_${lab.name}`;
}

/**
 * The chain of a partition member's rules. Input only: a packet between groups is sent and lost on arrival, as in
 * a real partition (a drop on output would tell the sender at once, with EPERM).
 */
export const PARTITION_CHAINS = ['partition_in'] as const;
const LOSS_PREFIX = 'loss_';

/**
 * Name of the loss chain of a device: `loss_out_500_e0` (direction, basis points, device). nftables chain names
 * are identifiers, so bytes of the device name outside [A-Za-z0-9.-] are written `_hh`; the percentage in the
 * name lets a chain dump (no rule parsing) tell what a chain does.
 */
export function lossChain(direction: 'out' | 'in', dev: string, basisPoints: number): string {
  const enc = [...Buffer.from(dev)]
    .map((b) => {
      const ch = String.fromCharCode(b);
      return /[A-Za-z0-9.-]/.test(ch) ? ch : `_${b.toString(16).padStart(2, '0')}`;
    })
    .join('');
  return `${LOSS_PREFIX}${direction}_${basisPoints}_${enc}`;
}

/** What a loss chain's name says, or undefined for another chain. */
export function parseLossChain(
  chain: string,
): { direction: 'out' | 'in'; dev: string; basisPoints: number } | undefined {
  const m = /^loss_(out|in)_(\d+)_(.+)$/.exec(chain);
  if (!m) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < m[3].length; i++) {
    if (m[3][i] === '_') {
      bytes.push(Number.parseInt(m[3].slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(m[3].charCodeAt(i));
  }
  return { direction: m[1] as 'out' | 'in', dev: Buffer.from(bytes).toString(), basisPoints: Number(m[2]) };
}

/** tc's default netem queue, in packets. */
const NETEM_LIMIT = 1000;
/** How long a packet may wait in a tbf queue before the queue is full (tc's `latency`). */
const TBF_LATENCY_S = 0.05;

/**
 * The token bucket for a rate on an interface of that MTU: a burst of 10 ms of traffic, at least two full frames
 * (a burst below the MTU drops every full-sized packet), and a queue of 50 ms on top.
 */
export function tbfFor(rateBits: number, mtu = 1500): Qdisc {
  const rate = Math.floor(rateBits / 8);
  const burst = Math.max(Math.ceil(rate / 100), 2 * (mtu + 14));
  return { kind: 'tbf', rate, burst, limit: Math.min(Math.round(rate * TBF_LATENCY_S) + burst, 0xffffffff) };
}

function netemFor(i: Impairment): Qdisc {
  return {
    kind: 'netem',
    delayNs: (i.delayUs ?? 0) * 1000,
    jitterNs: (i.jitterUs ?? 0) * 1000,
    loss: i.loss ?? 0,
    rate: i.rate !== undefined ? Math.floor(i.rate / 8) : 0,
    limit: NETEM_LIMIT,
  };
}

/** True when an impairment asks for what netem does (loss, delay, jitter); a rate alone is tbf's. */
export function usesNetem(i: Impairment | undefined): boolean {
  return i !== undefined && (i.loss !== undefined || i.delayUs !== undefined || i.jitterUs !== undefined);
}

/** A loss rule: where it goes (a node's namespace), the device it matches and in which direction. */
export interface LossRule {
  node: ResolvedNode;
  dev: string;
  direction: 'out' | 'in';
  basisPoints: number;
}

/** What the kernel must hold for one interface's impairment: its root qdisc, and a loss rule when netem is missing. */
export interface WantedImpairment {
  qdisc?: Qdisc;
  loss?: LossRule;
}

/**
 * What an impairment of `iface` (an interface of `node`) needs from this kernel. `netem`: whether the kernel has
 * it (undefined: not known, as for a plan against an empty kernel; netem is then assumed).
 *
 * A port of a bridge node (`sw:p1`) is never seen by the inet hooks (bridged frames skip them): without netem
 * its loss becomes loss on arrival at the other end of its link (prerouting, `iifname`), which is the same
 * packets.
 *
 * @throws PlanError (exit 1) for delay or jitter on a kernel without netem, and for the loss of a link between
 * two bridge ports there.
 */
export function wantedFor(
  lab: ResolvedLab,
  node: ResolvedNode,
  iface: ResolvedInterface,
  impair: Impairment | undefined,
  netem: boolean | undefined,
): WantedImpairment {
  if (!impair) return {};
  const end = `${node.name}:${iface.name}`;
  if (usesNetem(impair) && netem !== false) return { qdisc: netemFor(impair) };
  if (impair.delayUs !== undefined || impair.jitterUs !== undefined) {
    throw new PlanError(
      `${end} asks for ${describeImpairment(impair)}, but this kernel has no netem qdisc (the sch_netem module), which delay and jitter need.`,
    );
  }
  const out: WantedImpairment = impair.rate !== undefined ? { qdisc: tbfFor(impair.rate, iface.mtu) } : {};
  if (impair.loss === undefined) return out;
  const basisPoints = Math.round(impair.loss * 10000);
  checkNftName(end, iface.name);
  if (node.kind !== 'bridge')
    return { ...out, loss: { node, dev: iface.name, direction: 'out', basisPoints } };
  const peer = lab.nodes.find((n) => n.name === iface.peer.node);
  if (!peer || peer.kind === 'bridge') {
    throw new PlanError(
      `${end} asks for ${formatLoss(impair.loss)} loss, but this kernel has no netem qdisc (the sch_netem module), and nftables cannot drop frames between two bridges.`,
    );
  }
  checkNftName(`${peer.name}:${iface.peer.name}`, iface.peer.name);
  return { ...out, loss: { node: peer, dev: iface.peer.name, direction: 'in', basisPoints } };
}

/** A device name nftables can quote, or a PlanError. */
function checkNftName(end: string, dev: string): void {
  if (/["\\]/.test(dev)) {
    throw new PlanError(`${end}: an nftables rule cannot name a device whose name holds '"' or '\\'`, 2);
  }
}

/** True when the observed root qdisc is the one wanted (rates in bytes per second, delays to the tick). */
export function sameQdisc(have: Qdisc | undefined, want: Qdisc): boolean {
  if (!have || have.kind !== want.kind) return false;
  if (have.kind === 'tbf' && want.kind === 'tbf') return have.rate === want.rate;
  if (have.kind === 'netem' && want.kind === 'netem') {
    return (
      Math.abs(have.delayNs - want.delayNs) < 64 &&
      Math.abs(have.jitterNs - want.jitterNs) < 64 &&
      Math.abs(have.loss - want.loss) < 1e-9 &&
      have.rate === want.rate &&
      have.limit === want.limit
    );
  }
  return false;
}

/** The qdisc kinds an impairment sets: a root qdisc of another kind is not nslab's to remove. */
function isImpairment(q: ObservedQdisc | undefined): boolean {
  return q?.kind === 'tbf' || q?.kind === 'netem';
}

/**
 * What is observed of one interface for `impairmentOps`: its root qdisc (undefined: none or a device not made
 * yet; null: not observed), and the chains of the lab's table per node name, for the namespaces read (the
 * interface's own, and its peer's, where a bridge port's loss rule lives).
 */
export interface ObservedImpairment {
  qdisc: ObservedQdisc | undefined | null;
  chains: Map<string, string[]>;
}

/**
 * The ops that bring one interface from what is observed to `want`: its root qdisc, the loss rule it needs, and
 * the deletion of loss rules that stood for it before (another percentage, or none wanted now).
 */
export function impairmentOps(
  lab: ResolvedLab,
  node: ResolvedNode,
  iface: ResolvedInterface,
  want: WantedImpairment,
  have: ObservedImpairment,
): FaultOp[] {
  const ops: FaultOp[] = [];
  if (have.qdisc !== null) {
    if (want.qdisc && !sameQdisc(have.qdisc?.qdisc, want.qdisc)) {
      ops.push({ op: 'qdisc-replace', ...targetOf(node), dev: iface.name, qdisc: want.qdisc });
    } else if (!want.qdisc && isImpairment(have.qdisc)) {
      ops.push({ op: 'qdisc-del', ...targetOf(node), dev: iface.name });
    }
  }
  const table = labTable(lab);
  const loss = want.loss;
  const wanted = loss && lossChain(loss.direction, loss.dev, loss.basisPoints);
  const present = loss && have.chains.get(loss.node.name);
  if (loss && present && !present.includes(wanted!)) {
    ops.push({
      op: 'nft-loss-add',
      ...targetOf(loss.node),
      table,
      dev: loss.dev,
      direction: loss.direction,
      basisPoints: loss.basisPoints,
    });
  }
  // The rules that may stand for this interface: an `out` rule on it, an `in` rule on its peer end (a bridge
  // port's; the peer is looked up only then: this runs for every interface of a lab).
  const peer = node.kind === 'bridge' ? lab.nodes.find((n) => n.name === iface.peer.node) : undefined;
  const places: { node: ResolvedNode; direction: 'out' | 'in'; dev: string }[] = [
    { node, direction: 'out', dev: iface.name },
    ...(peer ? [{ node: peer, direction: 'in' as const, dev: iface.peer.name }] : []),
  ];
  for (const place of places) {
    for (const name of have.chains.get(place.node.name) ?? []) {
      const p = parseLossChain(name);
      if (!p || p.direction !== place.direction || p.dev !== place.dev) continue;
      if (loss && loss.node.name === place.node.name && name === wanted) continue;
      ops.push({ op: 'nft-chain-del', ...targetOf(place.node), table, chain: name });
    }
  }
  return ops;
}

/**
 * The impairment ops of a whole lab for `planUp`: every interface of the file gets its `impair:` (or loses an
 * impairment it should not have), and loss rules nothing in the file asks for are deleted. Devices and
 * namespaces the plan creates (`isNew`) start empty; for a namespace whose qdiscs or chains were not observed,
 * nothing is planned about them (an observation without the faults layer says nothing of them).
 */
export function planImpairments(
  lab: ResolvedLab,
  observed: ObservedState,
  isNew: { namespace: (node: string) => boolean; device: (node: string, dev: string) => boolean },
): FaultOp[] {
  const ops: FaultOp[] = [];
  // A namespace not observed at all is empty (the plan makes it); one observed without its chains is unknown.
  const chainsOf = (node: string): string[] | undefined =>
    isNew.namespace(node) || !observed.nodes[node] ? [] : observed.nodes[node].nftChains;
  const wanted = new Map<string, Set<string>>();
  for (const node of lab.nodes) {
    const st = observed.nodes[node.name];
    const qdiscs = st?.qdiscs && new Map(st.qdiscs.map((q) => [q.dev, q]));
    for (const iface of node.interfaces) {
      const want = wantedFor(lab, node, iface, iface.impair, observed.netem);
      if (want.loss) {
        const set = wanted.get(want.loss.node.name) ?? new Set<string>();
        set.add(lossChain(want.loss.direction, want.loss.dev, want.loss.basisPoints));
        wanted.set(want.loss.node.name, set);
      }
      const fresh = isNew.namespace(node.name) || isNew.device(node.name, iface.name);
      const qdisc = fresh || !st ? undefined : qdiscs === undefined ? null : qdiscs.get(iface.name);
      const chains = new Map<string, string[]>();
      for (const n of [node.name, iface.peer.node]) {
        const c = chainsOf(n);
        if (c !== undefined) chains.set(n, c);
      }
      ops.push(...impairmentOps(lab, node, iface, want, { qdisc, chains }));
    }
  }
  // Loss rules no interface of the file stands for (an interface renamed, or gone from the file).
  const table = labTable(lab);
  for (const node of lab.nodes) {
    const keep = wanted.get(node.name) ?? new Set<string>();
    for (const name of chainsOf(node.name) ?? []) {
      if (!parseLossChain(name) || keep.has(name)) continue;
      if (ops.some((o) => o.op === 'nft-chain-del' && o.node === node.name && o.chain === name)) continue;
      ops.push({ op: 'nft-chain-del', ...targetOf(node), table, chain: name });
    }
  }
  return ops;
}

// ---- spelling ------------------------------------------------------------------------------------------

/** The rules of a partition member: drop what arrives from the addresses of the nodes of the other groups. */
function partitionCommands(table: string, drop: string[]): string[] {
  const [chain] = PARTITION_CHAINS;
  const cmds = [
    `add table inet ${table}`,
    `add chain inet ${table} ${chain} { type filter hook input priority 0; }`,
    `flush chain inet ${table} ${chain}`,
  ];
  for (const [fam, list] of [
    ['ip', drop.filter((a) => !a.includes(':'))],
    ['ip6', drop.filter((a) => a.includes(':'))],
  ] as const) {
    if (list.length > 0)
      cmds.push(`add rule inet ${table} ${chain} ${fam} saddr { ${list.join(', ')} } drop`);
  }
  return cmds;
}

/** The nftables commands of an nft op, in order (one transaction: `nft -f -` takes them all or none). */
export function nftCommands(op: FaultOp): string[] {
  switch (op.op) {
    case 'nft-loss-add': {
      const chain = lossChain(op.direction, op.dev, op.basisPoints);
      const [hook, match] = op.direction === 'out' ? ['postrouting', 'oifname'] : ['prerouting', 'iifname'];
      const bp = op.basisPoints;
      const test = bp % 100 === 0 ? `mod 100 < ${bp / 100}` : `mod 10000 < ${bp}`;
      return [
        `add table inet ${op.table}`,
        `add chain inet ${op.table} ${chain} { type filter hook ${hook} priority 0; }`,
        `flush chain inet ${op.table} ${chain}`,
        `add rule inet ${op.table} ${chain} ${match} "${op.dev}" numgen random ${test} drop`,
      ];
    }
    case 'nft-chain-del':
      return [`delete chain inet ${op.table} ${op.chain}`];
    case 'nft-partition':
      return partitionCommands(op.table, op.drop);
    case 'nft-table-del':
      return [`delete table inet ${op.table}`];
    default:
      throw new Error(`${op.op} is not an nftables operation`);
  }
}

function qdiscWords(q: Qdisc): string[] {
  if (q.kind === 'tbf') {
    return ['tbf', 'rate', formatRate(q.rate * 8), 'burst', String(q.burst), 'limit', String(q.limit)];
  }
  const w = ['netem'];
  if (q.delayNs > 0 || q.jitterNs > 0) {
    w.push('delay', formatDuration(Math.round(q.delayNs / 1000)));
    if (q.jitterNs > 0) w.push(formatDuration(Math.round(q.jitterNs / 1000)));
  }
  if (q.loss > 0) w.push('loss', formatLoss(q.loss));
  if (q.rate > 0) w.push('rate', formatRate(q.rate * 8));
  if (q.limit !== NETEM_LIMIT) w.push('limit', String(q.limit));
  return w;
}

/** The command words of a fault op (`tc ...`, `nft '...'`), without the `ip netns exec` prefix. */
export function faultWords(op: FaultOp): string[] {
  switch (op.op) {
    case 'qdisc-replace':
      return ['tc', 'qdisc', 'replace', 'dev', op.dev, 'root', ...qdiscWords(op.qdisc)];
    case 'qdisc-del':
      return ['tc', 'qdisc', 'del', 'dev', op.dev, 'root'];
    default:
      return ['nft', nftCommands(op).join('; ')];
  }
}

/** The impairment a qdisc sets, in the file's words (`rate 10mbit, loss 5%`). */
export function qdiscImpairment(q: Qdisc): Impairment {
  if (q.kind === 'tbf') return { rate: q.rate * 8 };
  const i: Impairment = {};
  if (q.rate > 0) i.rate = q.rate * 8;
  if (q.loss > 0) i.loss = Math.round(q.loss * 10000) / 10000;
  if (q.delayNs > 0 || q.jitterNs > 0) i.delayUs = Math.round(q.delayNs / 1000);
  if (q.jitterNs > 0) i.jitterUs = Math.round(q.jitterNs / 1000);
  return i;
}

/** One sentence saying what a fault op does, for progress lines and drift. */
export function describeFaultOp(op: FaultOp): string {
  switch (op.op) {
    case 'qdisc-replace':
      return `impair ${op.node}:${op.dev}: ${describeImpairment(qdiscImpairment(op.qdisc))} (${op.qdisc.kind})`;
    case 'qdisc-del':
      return `remove the impairment qdisc of ${op.node}:${op.dev}`;
    case 'nft-loss-add': {
      const p = formatLoss(op.basisPoints / 10000);
      return op.direction === 'out'
        ? `drop ${p} of what leaves ${op.node}:${op.dev} (nftables)`
        : `drop ${p} of what arrives on ${op.node}:${op.dev} (nftables)`;
    }
    case 'nft-chain-del': {
      const p = parseLossChain(op.chain);
      if (!p) return `remove nftables chain ${op.chain} in ${op.node}`;
      return `stop dropping ${formatLoss(p.basisPoints / 10000)} on ${op.node}:${p.dev} (nftables)`;
    }
    case 'nft-partition':
      return `partition ${op.node} from ${op.drop.length} address(es) of other groups (nftables)`;
    case 'nft-table-del':
      return `delete nftables table inet ${op.table} in ${op.node}`;
  }
}
