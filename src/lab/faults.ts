/**
 * The fault verbs of the Lab API behind its thin methods: each takes the lab's lock, checks the lab is up, works
 * on the lab as last applied (its ledger), and returns the operations it ran (printable with `formatOp`).
 */

import { lockLab } from '../apply/lock.js';
import type { KernelSession } from '../apply/session.js';
import { labKey, readLedger } from '../apply/store.js';
import {
  endArgument,
  healOps,
  impairOps,
  linkRestoreOps,
  linkStateOps,
  partitionOps,
} from '../faults/actions.js';
import { runFaultOps } from '../faults/execute.js';
import { netemAvailable } from '../faults/observe.js';
import { type PlayedEvent, playTimeline, type TimelineActions } from '../faults/timeline.js';
import { PARTITION_CHAINS, parseLossChain, qdiscImpairment } from '../plan/faults.js';
import type { Ledger, ObservedState, Op } from '../plan/types.js';
import { NslabError } from '../sys/errors.js';
import { describeImpairment, type Impairment, type ImpairSpec, parseImpairment } from '../topology/faults.js';
import { addressesOf, findEnd } from '../topology/lookup.js';
import type { ResolvedLab } from '../topology/types.js';
import { processHooks } from './processes.js';

/** What the fault verbs need of a Lab: its name and file, and its kernel session (opened and closed by it). */
export interface LabKernel {
  name: string;
  hostNetns: string | null;
  topology: ResolvedLab;
  kernel(): KernelSession;
  close(): void;
}

/**
 * Stops and starts the named processes of a lab (`processes:`), for the timeline's `stop:` and `start:` events.
 */
export interface ProcessHooks {
  /** Undefined when `node` has a process called `name`; otherwise the sentence saying it has none. */
  problem(node: string, name: string): string | undefined;
  stop(node: string, name: string): Promise<void>;
  start(node: string, name: string): Promise<void>;
}

function hostNote(hostNetns: string | null): string {
  return hostNetns ? ` with host namespace ${hostNetns}` : '';
}

/** Runs `fn` under the lab's lock on the lab as last applied (its ledger); the lab must be up. */
async function withLab<T>(
  k: LabKernel,
  fn: (session: KernelSession, applied: ResolvedLab, ledger: Ledger) => T | Promise<T>,
): Promise<T> {
  const lock = await lockLab(labKey(k.name, k.hostNetns));
  try {
    const ledger = readLedger(k.name, k.hostNetns);
    if (!ledger)
      throw new NslabError(`lab ${k.name} is not up${hostNote(k.hostNetns)}: bring it up first`, 1);
    return await fn(k.kernel(), ledger.applied, ledger);
  } finally {
    lock.release();
    k.close();
  }
}

async function run(session: KernelSession, lab: ResolvedLab, ops: Op[]): Promise<Op[]> {
  await runFaultOps(session, lab.name, ops);
  return ops;
}

/**
 * `ip link set dev IF down|up` at one end (`r1:e12`); up also puts back the lab's addresses and routes the
 * kernel dropped with the link (see linkRestoreOps).
 */
export function setLinkState(k: LabKernel, end: string, up: boolean): Promise<Op[]> {
  return withLab(k, async (s, lab, ledger) => {
    const ops = await run(s, lab, linkStateOps(lab, end, up));
    return up ? [...ops, ...(await run(s, lab, linkRestoreOps(s, ledger, end)))] : ops;
  });
}

/** An impairment as the API takes it, in kernel units; bad values are an NslabError (exit 2). */
export function impairmentArgument(spec: ImpairSpec): Impairment {
  const r = parseImpairment(spec, 'api');
  if ('problems' in r) {
    throw new NslabError(r.problems.map((p) => `${p.key} ${p.message}`).join('; '), 2);
  }
  if (Object.keys(r.impair).length === 0) {
    throw new NslabError('an impairment needs a rate, loss, delay or jitter (or clear it)', 2);
  }
  return r.impair;
}

/** Gives one end exactly this impairment (null: none), replacing what it had. */
export function setImpairment(k: LabKernel, end: string, impair: Impairment | null): Promise<Op[]> {
  return withLab(k, (s, lab) => run(s, lab, impairOps(s, lab, end, impair ?? undefined)));
}

/** Gives one end back the impairment the file declares for it (none when it declares none). */
export function restoreImpairment(k: LabKernel, end: string): Promise<Op[]> {
  const found = findEnd(k.topology, end);
  const declared = 'problem' in found ? undefined : found.iface.impair;
  return setImpairment(k, end, declared ?? null);
}

export function partition(k: LabKernel, groups: string[][]): Promise<Op[]> {
  return withLab(k, (s, lab) => run(s, lab, partitionOps(s, lab, groups)));
}

export function heal(k: LabKernel): Promise<Op[]> {
  return withLab(k, (s, lab) => run(s, lab, healOps(s, lab)));
}

/**
 * The addresses of `target`, a node (`b`) or one of its interfaces (`b:e0`), from the file: without prefix
 * length, IPv4 first (`family` keeps one).
 */
export function addresses(lab: ResolvedLab, target: string, family?: 4 | 6): string[] {
  if (target.includes(':')) {
    const { node, iface } = endArgument(lab, target);
    return addressesOf(node, { iface, family });
  }
  const node = lab.nodes.find((n) => n.name === target);
  if (!node) {
    throw new NslabError(
      `lab ${lab.name} has no node ${target} (nodes: ${lab.nodes.map((n) => n.name).join(', ')})`,
      2,
    );
  }
  return addressesOf(node, { family });
}

/** The first address of `target` (see `addresses`); an NslabError when it has none. */
export function firstAddress(lab: ResolvedLab, target: string, family?: 4 | 6): string {
  const all = addresses(lab, target, family);
  if (all.length === 0) {
    throw new NslabError(`${target} has no ${family ? `IPv${family} ` : ''}address in lab ${lab.name}`, 1);
  }
  return all[0];
}

/** Plays the file's `timeline:` (see playTimeline). */
export async function play(
  k: LabKernel,
  opts: { onEvent?: (e: PlayedEvent) => void; processes?: ProcessHooks; signal?: AbortSignal } = {},
): Promise<PlayedEvent[]> {
  const events = k.topology.timeline ?? [];
  if (events.length === 0) throw new NslabError(`lab ${k.name} has no timeline: to play`, 2);
  // What this kernel cannot do fails before anything is played, as a missing process does.
  for (const e of events) {
    const a = e.action;
    if (
      a.kind !== 'impair' ||
      !a.impair ||
      (a.impair.delayUs === undefined && a.impair.jitterUs === undefined)
    )
      continue;
    if (netemAvailable()) break;
    const at = e.pos ? ` (${e.pos.file}:${e.pos.line}:${e.pos.col})` : '';
    throw new NslabError(
      `the timeline gives ${a.node}:${a.interface} ${describeImpairment(a.impair)}${at}, but this kernel has no netem qdisc (the sch_netem module), which delay and jitter need.`,
    );
  }
  const proc = opts.processes ?? processHooks(k);
  const actions: TimelineActions = {
    link: (node, iface, up) => setLinkState(k, `${node}:${iface}`, up),
    partition: (groups) => partition(k, groups),
    heal: () => heal(k),
    impair: (node, iface, impair) => setImpairment(k, `${node}:${iface}`, impair),
    restoreImpair: (node, iface) => restoreImpairment(k, `${node}:${iface}`),
    processProblem: (node, name) => proc.problem(node, name),
    stop: (node, name) => proc.stop(node, name),
    start: (node, name) => proc.start(node, name),
  };
  return playTimeline(events, actions, opts);
}

/** An interface's impairment as the file declares it and as the kernel holds it. */
export interface ImpairmentStatus {
  node: string;
  interface: string;
  /** From the file (`impair:`), in words; absent when it declares none. */
  declared?: string;
  /** From the kernel (root qdisc, nftables loss rule), in words; absent when there is none. */
  live?: string;
}

export interface FaultStatus {
  impairments: ImpairmentStatus[];
  /** Nodes holding partition rules (`nslab partition`) now. */
  partitioned: string[];
}

/** The impairments and partitions of a lab, from an observation made with the faults layer's readings. */
export function faultStatus(lab: ResolvedLab, observed: ObservedState): FaultStatus {
  const impairments: ImpairmentStatus[] = [];
  for (const node of lab.nodes) {
    const st = observed.nodes[node.name];
    for (const iface of node.interfaces) {
      const live: Impairment = {};
      const q = st?.qdiscs?.find((x) => x.dev === iface.name)?.qdisc;
      if (q) Object.assign(live, qdiscImpairment(q));
      // A loss rule: on the interface itself, or on arrival at the other end for a bridge port.
      const [where, dir, dev] =
        node.kind === 'bridge' ? [iface.peer.node, 'in', iface.peer.name] : [node.name, 'out', iface.name];
      for (const c of observed.nodes[where]?.nftChains ?? []) {
        const p = parseLossChain(c);
        if (p && p.direction === dir && p.dev === dev) live.loss = p.basisPoints / 10000;
      }
      const declared = iface.impair && describeImpairment(iface.impair);
      const now = Object.keys(live).length > 0 ? describeImpairment(live) : undefined;
      if (declared || now) {
        impairments.push({
          node: node.name,
          interface: iface.name,
          ...(declared && { declared }),
          ...(now && { live: now }),
        });
      }
    }
  }
  const partitioned = lab.nodes
    .filter((n) => PARTITION_CHAINS.some((c) => observed.nodes[n.name]?.nftChains?.includes(c)))
    .map((n) => n.name);
  return { impairments, partitioned };
}
