/**
 * Reads what the kernel holds for a lab, through netlink and /proc/sys, into the planner's ObservedState.
 */
import type { LinkInfo } from '../netlink/link.js';
import { RTN_UNICAST } from '../netlink/route.js';
import { deleteNamedNetns, listNamedNetns, NETNS_RUN_DIR } from '../netns/named.js';
import { ownershipAlias } from '../plan/common.js';
import type { Ledger, ObservedLink, ObservedNamespace, ObservedState } from '../plan/types.js';
import { isRunning } from '../proc/supervise.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';
import { claimNamespaces, foreignNote, type NamespaceClaim } from './ownership.js';
import type { KernelSession } from './session.js';

/**
 * Reads one namespace: its links, addresses (not link-local or loopback), unicast routes and the given sysctls,
 * and its devices as the kernel reports them too (with their veth peers' indexes).
 * `skip` leaves out the dumps a caller does not need (their lists are then empty).
 */
export function observeRaw(
  session: KernelSession,
  ns: string | null,
  sysctlKeys: string[],
  skip: { addrs?: boolean; routes?: boolean } = {},
): { state: ObservedNamespace; raw: LinkInfo[] } {
  const h = session.handle(ns);
  const raw = h.links();
  const byIndex = new Map(raw.map((l) => [l.index, l.name]));
  const links: ObservedLink[] = raw.map((l) => ({
    name: l.name,
    index: l.index,
    kind: l.kind,
    up: l.up,
    mtu: l.mtu,
    mac: l.mac,
    alias: l.alias,
    master: l.masterIndex ? byIndex.get(l.masterIndex) : undefined,
    qdisc: l.qdisc,
  }));
  const addrs = (skip.addrs ? [] : h.addrs())
    .filter((a) => a.scope !== 254 && !(a.family === 6 && a.address.startsWith('fe80:')))
    .map((a) => ({ dev: byIndex.get(a.index) ?? `if${a.index}`, cidr: a.cidr, family: a.family }));
  const routes = (skip.routes ? [] : h.routes(undefined, { unicast: true }))
    .filter(
      (r) => r.type === RTN_UNICAST && r.table !== 255 && !(r.family === 6 && r.dst.startsWith('fe80::')),
    )
    .map((r) => ({
      dst: r.dst,
      family: r.family,
      via: r.via,
      dev: r.oif ? byIndex.get(r.oif) : undefined,
      metric: r.metric,
      table: r.table,
      protocol: r.protocol,
    }));
  const values = sysctlKeys.length ? h.sysctls(sysctlKeys) : {};
  const sysctls: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) sysctls[k] = v;
  return { state: { links, addrs, routes, sysctls }, raw };
}

/** The kernel's view of a lab: the observed state, and what is at each of the ledger's namespace names. */
export interface LabObservation {
  observed: ObservedState;
  claims: NamespaceClaim[];
  /** Sentences about namespaces under the lab's names that are not the lab's, left alone. */
  notes: string[];
}

/**
 * Observes every node of the desired lab and of the lab as last applied (from the ledger) whose namespace
 * exists and is the lab's (by identity, and by the lab's mark on its loopback): what `planUp` needs. Namespaces
 * under the lab's names that are someone else's are not entered; the plan then refuses to take them over.
 */
export function observeLab(
  session: KernelSession,
  lab: ResolvedLab | undefined,
  ledger?: Ledger,
  opts: { repair?: boolean } = {},
): LabObservation {
  const namespaces = listNamedNetns();
  const claims = ledger ? claimNamespaces(ledger, session.hostNetns) : [];
  const notes: string[] = [];
  const owned = new Set<string>();
  const out: ObservedState = { namespaces, owned: [], nodes: {} };
  for (const c of claims) {
    if (c.state === 'owned') owned.add(c.name);
    else if (c.state === 'foreign') notes.push(foreignNote(c));
    else if (c.state === 'placeholder') {
      // The file `ip netns add` makes before its bind mount, left by a run of this lab killed in between: not a
      // namespace. `up` and `down` remove it; others only say so.
      if (opts.repair) deleteNamedNetns(c.name);
      else
        notes.push(
          `${NETNS_RUN_DIR}/${c.name} is the leftover of an interrupted creation: up or down removes it`,
        );
      out.namespaces = out.namespaces.filter((n) => n !== c.name);
    }
  }
  const mark = ownershipAlias({ name: lab?.name ?? ledger?.lab ?? '' });
  const nodes = new Map<string, ResolvedNode>();
  for (const n of [...(ledger?.applied.nodes ?? []), ...(lab?.nodes ?? [])]) nodes.set(n.name, n);
  const raw = new Map<string, Map<string, LinkInfo>>();
  const desired = new Map((lab?.nodes ?? []).map((n) => [n.name, n]));
  const recorded = new Map<string, string[]>();
  for (const s of ledger?.sysctls ?? []) {
    const keys = recorded.get(s.node);
    if (keys) keys.push(s.key);
    else recorded.set(s.node, [s.key]);
  }
  for (const node of nodes.values()) {
    if (node.netns !== null && !owned.has(node.netns)) continue;
    const keys = new Set<string>([
      ...Object.keys(desired.get(node.name)?.sysctls ?? {}),
      ...Object.keys(node.sysctls),
      ...(recorded.get(node.name) ?? []),
    ]);
    const seen = observeRaw(session, node.netns, [...keys]);
    if (node.netns !== null && seen.raw.find((l) => l.index === 1)?.alias !== mark) {
      notes.push(
        `namespace ${node.netns} has the identity lab ${mark.slice(6)} recorded but its loopback does not carry the mark ${mark}: left alone`,
      );
      owned.delete(node.netns);
      continue;
    }
    out.nodes[node.name] = seen.state;
    raw.set(node.name, new Map(seen.raw.map((l) => [l.name, l])));
  }
  out.owned = [...owned];
  markPeersInLab(out, raw, [...nodes.values()], owned);
  // Named processes, from their records: running when /proc still shows that very process in its namespace.
  for (const p of ledger?.processes ?? []) {
    const st = out.nodes[p.node];
    if (!st) continue;
    st.processes ??= [];
    st.processes.push({ name: p.name, pid: p.pid, running: isRunning(p) });
  }
  return { observed: out, claims, notes };
}

/** Observes a lab (see observeLab) and returns only the state. */
export function observe(
  session: KernelSession,
  lab: ResolvedLab | undefined,
  ledger?: Ledger,
  opts: { repair?: boolean } = {},
): ObservedState {
  return observeLab(session, lab, ledger, opts).observed;
}

/**
 * Sets `peerInLab` on each unmarked host device that the kernel shows to be one end of a veth whose other end
 * is the device the lab gives it as peer, inside a namespace of the lab: each end names the other's ifindex
 * (IFLA_LINK). Such a device was made by the lab in a run killed before it was marked.
 */
function markPeersInLab(
  out: ObservedState,
  raw: Map<string, Map<string, LinkInfo>>,
  nodes: ResolvedNode[],
  owned: Set<string>,
): void {
  const host = nodes.find((n) => n.kind === 'host');
  const hostLinks = host ? out.nodes[host.name]?.links : undefined;
  const hostRaw = host ? raw.get(host.name) : undefined;
  if (!host || !hostLinks || !hostRaw) return;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const hostNodes = nodes.filter((n) => n.kind === 'host');
  const ifaces = hostNodes.map((n) => new Map(n.interfaces.map((i) => [i.name, i])));
  for (const l of hostLinks) {
    if (l.alias !== undefined || l.kind !== 'veth') continue;
    for (const byIf of ifaces) {
      const peer = byIf.get(l.name)?.peer;
      const peerNode = peer && byName.get(peer.node);
      if (!peer || !peerNode?.netns || !owned.has(peerNode.netns)) continue;
      const mine = hostRaw.get(l.name);
      const theirs = raw.get(peerNode.name)?.get(peer.name);
      if (mine && theirs && mine.linkIndex === theirs.index && theirs.linkIndex === mine.index)
        l.peerInLab = true;
    }
  }
}
