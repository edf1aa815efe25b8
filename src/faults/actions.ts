/**
 * The fault verbs as operations: a link end down or up, an end impaired or cleared, the lab partitioned or
 * healed, and the teardown of what the lab put in the host namespace. Each reads what it needs from the kernel,
 * returns the ops (printable with formatOp) and leaves running them to `runFaultOps`.
 */
import { observe } from '../apply/observe.js';
import type { KernelSession } from '../apply/session.js';
import type { NetnsHandle } from '../netns/handle.js';
import { namedNetnsExists } from '../netns/named.js';
import { hostNodeOf, targetOf } from '../plan/common.js';
import { impairmentOps, labTable, PARTITION_CHAINS, usesNetem, wantedFor } from '../plan/faults.js';
import type { Ledger, Op } from '../plan/types.js';
import { planUp } from '../plan/up.js';
import { NslabError } from '../sys/errors.js';
import type { Impairment } from '../topology/faults.js';
import { addressesOf, findEnd } from '../topology/lookup.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';
import { runFaultOps } from './execute.js';
import { hasLabTable, labChains, netemAvailable, readQdiscs } from './observe.js';

/** The interface a `node:interface` argument names, or an NslabError (exit 2) saying why it names none. */
export function endArgument(lab: ResolvedLab, end: string) {
  const found = findEnd(lab, end);
  if ('problem' in found) throw new NslabError(`in lab ${lab.name}, '${end}' ${found.problem}`, 2);
  return found;
}

/** The handle on a node's namespace, or undefined when that namespace is gone. */
function handleOf(session: KernelSession, node: ResolvedNode): NetnsHandle | undefined {
  if (node.kind !== 'host' && node.netns && !namedNetnsExists(node.netns)) return undefined;
  return session.handle(node.kind === 'host' ? null : node.netns);
}

/** `ip link set dev IF down|up` at one end of a link: the other end sees its carrier go (or come back). */
export function linkStateOps(lab: ResolvedLab, end: string, up: boolean): Op[] {
  const { node, iface } = endArgument(lab, end);
  return [{ op: 'link-set', ...targetOf(node), name: iface.name, up }];
}

/**
 * What the kernel dropped with a link that went down, once it is up again: the lab's routes through either end
 * (IPv4 routes through a device are deleted when it goes down) and its addresses on them (IPv6 addresses are
 * too, unless keep_addr_on_down). Planned as `up` would plan them, keeping only those ops.
 */
export function linkRestoreOps(session: KernelSession, ledger: Ledger, end: string): Op[] {
  const lab = ledger.applied;
  const { node, iface } = endArgument(lab, end);
  const ends = new Set([`${node.name}\u0000${iface.name}`, `${iface.peer.node}\u0000${iface.peer.name}`]);
  const on = (n: string, dev: string | undefined) => dev !== undefined && ends.has(`${n}\u0000${dev}`);
  const observed = observe(session, lab, ledger);
  return planUp(lab, observed, { hostNetns: session.hostNetns, ledger }).ops.filter(
    (op) =>
      (op.op === 'addr-add' && on(op.node, op.dev)) ||
      ((op.op === 'route-add' || op.op === 'route-replace') && on(op.node, op.route.dev)),
  );
}

/**
 * The ops that give one end exactly `impair` (undefined: none), from what its device and the lab's nftables
 * chains hold now. Netem is tried when the impairment needs it.
 * @throws PlanError (exit 1) for delay or jitter on a kernel without netem, naming sch_netem.
 */
export function impairOps(session: KernelSession, lab: ResolvedLab, end: string, impair?: Impairment): Op[] {
  const { node, iface } = endArgument(lab, end);
  const want = wantedFor(lab, node, iface, impair, usesNetem(impair) ? netemAvailable() : undefined);
  const h = handleOf(session, node);
  if (!h)
    throw new NslabError(
      `namespace ${node.netns} of node ${node.name} does not exist: is lab ${lab.name} up?`,
    );
  const chains = new Map<string, string[]>();
  for (const n of [node, lab.nodes.find((x) => x.name === iface.peer.node)]) {
    const hn = n && handleOf(session, n);
    if (n && hn) chains.set(n.name, labChains(hn, lab));
  }
  const qdisc = readQdiscs(h).find((q) => q.dev === iface.name);
  return impairmentOps(lab, node, iface, want, { qdisc, chains });
}

/** Checks partition groups: nodes of the lab, each in one group at most, at least two groups. */
function checkGroups(lab: ResolvedLab, groups: string[][]): void {
  if (groups.length < 2)
    throw new NslabError('a partition needs at least two groups of nodes to separate', 2);
  const seen = new Map<string, number>();
  groups.forEach((g, k) => {
    if (g.length === 0) throw new NslabError(`group ${k + 1} of the partition is empty`, 2);
    for (const name of g) {
      if (!lab.nodes.some((n) => n.name === name)) {
        throw new NslabError(
          `lab ${lab.name} has no node ${name} (nodes: ${lab.nodes.map((n) => n.name).join(', ')})`,
          2,
        );
      }
      if (seen.has(name)) {
        throw new NslabError(
          `node ${name} is in groups ${seen.get(name)! + 1} and ${k + 1} of the partition`,
          2,
        );
      }
      seen.set(name, k);
    }
  });
}

/**
 * The ops of a partition: every node of a group drops what arrives from the addresses of the nodes of the other
 * groups (an nftables rule on input, in the lab's table in its own namespace), so traffic between groups is lost
 * on arrival whatever way it took, silently as in a real partition, and links stay up. Nodes in no group keep
 * all their traffic. A partition replaces the one before: nodes no longer in a group lose their rules.
 */
export function partitionOps(session: KernelSession, lab: ResolvedLab, groups: string[][]): Op[] {
  checkGroups(lab, groups);
  const groupOf = new Map(groups.flatMap((g, k) => g.map((n) => [n, k] as const)));
  const table = labTable(lab);
  const ops: Op[] = [];
  for (const node of lab.nodes) {
    const k = groupOf.get(node.name);
    const own = addressesOf(node);
    if (k !== undefined && own.length > 0) {
      const drop = groups
        .filter((_, j) => j !== k)
        .flat()
        .flatMap((name) => addressesOf(lab.nodes.find((n) => n.name === name)!));
      if (drop.length > 0) {
        ops.push({ op: 'nft-partition', ...targetOf(node), table, drop: [...new Set(drop)] });
        continue;
      }
    }
    ops.push(...partitionRemoval(session, lab, node));
  }
  return ops;
}

/** `nft delete chain` of the partition chains a node has. */
function partitionRemoval(session: KernelSession, lab: ResolvedLab, node: ResolvedNode): Op[] {
  const h = handleOf(session, node);
  if (!h) return [];
  const table = labTable(lab);
  const chains = labChains(h, lab);
  return PARTITION_CHAINS.filter((c) => chains.includes(c)).map(
    (chain): Op => ({ op: 'nft-chain-del', ...targetOf(node), table, chain }),
  );
}

/** The ops that remove every partition of the lab (`nslab heal`). */
export function healOps(session: KernelSession, lab: ResolvedLab): Op[] {
  return lab.nodes.flatMap((node) => partitionRemoval(session, lab, node));
}

/**
 * What a lab's teardown must remove besides its namespaces (whose nftables tables go with them): the lab's
 * table in the host namespace, by its exact name.
 */
export function removeFaultsOps(session: KernelSession, lab: ResolvedLab): Op[] {
  const h = session.handle(null);
  if (!hasLabTable(h, lab)) return [];
  return [{ op: 'nft-table-del', node: hostNodeOf(lab)?.name ?? 'host', ns: null, table: labTable(lab) }];
}

/**
 * Removes what a lab put in the host namespace (its nftables table, if any) and returns the ops it ran: the
 * teardown (`Lab.down`) calls it, since the host namespace is never deleted.
 */
export async function removeFaults(session: KernelSession, lab: ResolvedLab): Promise<Op[]> {
  const ops = removeFaultsOps(session, lab);
  await runFaultOps(session, lab.name, ops);
  return ops;
}
