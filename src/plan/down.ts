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
 * Plans the removal of exactly what the ledger says nslab made, as far as it is still there:
 * `ip route del` / `ip addr del` of host routes and addresses it added (skipped when their device is deleted
 * anyway, which takes them along), `ip link del` of host-side veth ends (deleting one end deletes its peer),
 * `ip netns del` of the namespaces it created, then `sysctl -w` giving every sysctl it changed its previous value
 * (skipped for namespaces being deleted). A host device whose alias names another owner is left alone.
 */
export function planDown(ledger: Ledger, observed: ObservedState): Plan {
  const hostName = hostNodeOf(ledger.applied)?.name ?? 'host';
  const host = observed.nodes[hostName] ?? EMPTY_NAMESPACE;
  const mark = ownershipAlias({ name: ledger.lab });
  const at = { node: hostName, ns: null };

  const dying = new Set(
    ledger.hostLinks.filter((name) => {
      const l = host.links.find((x) => x.name === name);
      return l !== undefined && (!l.alias || l.alias === mark);
    }),
  );
  const ops: Op[] = [];
  for (const r of ledger.hostRoutes) {
    const o = host.routes.find((x) => x.protocol !== 'kernel' && sameRoute(r, x));
    if (o && !(o.dev && dying.has(o.dev))) ops.push({ op: 'route-del', ...at, route: routeFromObserved(o) });
  }
  for (const a of ledger.hostAddrs) {
    if (dying.has(a.dev)) continue;
    const cidr = canonicalCidr(a.cidr);
    if (host.addrs.some((x) => x.dev === a.dev && canonicalCidr(x.cidr) === cidr)) {
      ops.push({ op: 'addr-del', ...at, dev: a.dev, cidr });
    }
  }
  for (const name of dying) ops.push({ op: 'link-del', ...at, name });

  const present = new Set(observed.namespaces);
  const gone = ledger.namespaces.filter((ns) => present.has(ns));
  for (const ns of gone) {
    const node = ledger.applied.nodes.find((n) => n.netns === ns)?.name ?? ns;
    ops.push({ op: 'netns-del', node, ns });
  }

  for (const s of ledger.sysctls) {
    const node = ledger.applied.nodes.find((n) => n.name === s.node);
    const ns = node?.kind === 'host' || (!node && s.node === hostName) ? null : node?.netns;
    if (ns === undefined || (ns !== null && (gone.includes(ns) || !present.has(ns)))) continue;
    const cur = observed.nodes[s.node]?.sysctls[s.key];
    if (cur !== undefined && sameSysctl(cur, s.previous)) continue;
    ops.push({
      op: 'sysctl-set',
      node: s.node,
      ns,
      key: s.key,
      value: s.previous,
      ...(cur !== undefined ? { previous: cur } : {}),
    });
  }
  return { lab: ledger.lab, ops };
}
