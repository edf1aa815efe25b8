import { canonicalCidr } from '../topology/ip.js';
import {
  EMPTY_NAMESPACE,
  hostNodeOf,
  ownershipAlias,
  routeFromObserved,
  sameRoute,
  sameSysctl,
} from './common.js';
import type { Ledger, ObservedState, Op, Plan } from './types.js';

/**
 * Plans the removal of what the lab owns, as far as it is still there, in the order that costs the kernel least:
 * `ip netns del` of the lab's namespaces first (the kernel then removes every device inside, and the host ends
 * of their veth pairs, in one batched cleanup), then in the host `ip route del` / `ip addr del` of the routes and
 * addresses the lab added on devices that stay, `ip link del` of the lab's host devices that do not go with a
 * namespace, and `sysctl -w` giving each host sysctl the lab changed its previous value, while it still holds
 * the value the lab set.
 *
 * Ownership comes from the kernel: a namespace is the lab's when the apply layer proved it (`observed.owned`;
 * plans made without a kernel take the ledger's names), a host device when it carries the lab's mark or is the
 * other end of a veth in one of the lab's namespaces (`peerInLab`). An unmarked device is never deleted, whatever
 * the ledger says, and neither is the namespace playing the host.
 */
export function planDown(ledger: Ledger, observed: ObservedState): Plan {
  const hostNode = hostNodeOf(ledger.applied);
  const hostName = hostNode?.name ?? 'host';
  const host = observed.nodes[hostName] ?? EMPTY_NAMESPACE;
  const mark = ownershipAlias({ name: ledger.lab });
  const at = { node: hostName, ns: null };
  const present = new Set(observed.namespaces);
  const owned = new Set(observed.owned ?? ledger.namespaces);
  const netnsOf = new Map(ledger.applied.nodes.map((n) => [n.name, n.netns]));
  const nodeOf = new Map(ledger.applied.nodes.map((n) => [n.netns, n.name]));

  const ops: Op[] = [];
  const dying = new Set(
    ledger.namespaces.filter((ns) => ns !== ledger.hostNetns && present.has(ns) && owned.has(ns)),
  );
  for (const ns of dying) ops.push({ op: 'netns-del', node: nodeOf.get(ns) ?? ns, ns });

  // Host devices of the lab: those whose peer is in a dying namespace go with it; the others are deleted.
  const peerOf = new Map((hostNode?.interfaces ?? []).map((i) => [i.name, i.peer]));
  const gone = new Set<string>();
  const linkDels: Op[] = [];
  for (const l of host.links) {
    if (l.alias !== mark && !l.peerInLab) continue;
    gone.add(l.name);
    const peer = peerOf.get(l.name);
    const peerNs = peer ? netnsOf.get(peer.node) : undefined;
    if (!(peerNs && dying.has(peerNs))) linkDels.push({ op: 'link-del', ...at, name: l.name });
  }
  for (const r of ledger.hostRoutes) {
    const o = host.routes.find((x) => x.protocol !== 'kernel' && sameRoute(r, x));
    if (o && !(o.dev && gone.has(o.dev))) ops.push({ op: 'route-del', ...at, route: routeFromObserved(o) });
  }
  // An address on a host device the lab made goes with the device; on one that lost the lab's mark, it is no
  // longer the lab's to remove (the device is someone else's).
  const made = new Set(ledger.hostLinks);
  for (const a of ledger.hostAddrs) {
    if (gone.has(a.dev) || made.has(a.dev)) continue;
    const cidr = canonicalCidr(a.cidr);
    if (host.addrs.some((x) => x.dev === a.dev && canonicalCidr(x.cidr) === cidr)) {
      ops.push({ op: 'addr-del', ...at, dev: a.dev, cidr });
    }
  }
  ops.push(...linkDels);

  for (const s of ledger.sysctls) {
    const node = ledger.applied.nodes.find((n) => n.name === s.node);
    const isHost = node?.kind === 'host' || (!node && s.node === hostName);
    // A lab namespace's own sysctls go with it.
    if (!isHost || observed.nodes[s.node] === undefined) continue;
    const cur = observed.nodes[s.node].sysctls[s.key];
    if (cur !== undefined && sameSysctl(cur, s.previous)) continue;
    // Changed by someone else since the lab set it: theirs now.
    const set = node?.sysctls[s.key];
    if (cur !== undefined && set !== undefined && !sameSysctl(cur, set)) continue;
    ops.push({
      op: 'sysctl-set',
      node: s.node,
      ns: null,
      key: s.key,
      value: s.previous,
      ...(cur !== undefined ? { previous: cur } : {}),
    });
  }
  return { lab: ledger.lab, ops };
}
