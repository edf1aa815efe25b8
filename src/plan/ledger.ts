import type { ResolvedLab } from '../topology/types.js';
import { canonicalCidrOf, hostNodeOf, sameRouteKey } from './common.js';
import type { Ledger, Plan } from './types.js';

/**
 * The ledger to record once every op of `plan` (made by `planUp` for `lab`) has been applied: what nslab owns now.
 * Keeps from `previous` what is still in the lab, adds what the plan created, and drops what it deleted.
 * Routes and sysctls that were already as wanted before nslab touched them are not claimed, so `down` leaves them.
 */
export function ledgerAfter(
  previous: Ledger | undefined,
  lab: ResolvedLab,
  plan: Plan,
  opts: { hostNetns: string | null; now: string },
): Ledger {
  const added = plan.ops.flatMap((o) => (o.op === 'netns-add' && o.ns ? [o.ns] : []));
  const deleted = new Set(plan.ops.flatMap((o) => (o.op === 'netns-del' && o.ns ? [o.ns] : [])));
  const namespaces = [...new Set([...(previous?.namespaces ?? []).filter((n) => !deleted.has(n)), ...added])];

  const host = hostNodeOf(lab);
  const createdOnHost = new Set(
    plan.ops.flatMap((o) =>
      o.op === 'veth-add'
        ? [o.ns === null ? o.name : undefined, o.peer.ns === null ? o.peer.name : undefined]
        : [],
    ),
  );
  const hadOnHost = new Set(previous?.hostLinks ?? []);
  const hostIfaces = (host?.interfaces ?? []).filter(
    (i) => createdOnHost.has(i.name) || hadOnHost.has(i.name),
  );
  const hostAddrs = hostIfaces.flatMap((i) =>
    [...i.ipv4, ...i.ipv6].map((cidr) => ({ dev: i.name, cidr: canonicalCidrOf(cidr) })),
  );
  const routed = plan.ops.flatMap((o) =>
    (o.op === 'route-add' || o.op === 'route-replace') && o.ns === null ? [o.route] : [],
  );
  const hostRoutes = (host?.routes ?? []).filter((r) =>
    [...routed, ...(previous?.hostRoutes ?? [])].some((x) => sameRouteKey(x, r)),
  );

  const nodes = new Map(lab.nodes.map((n) => [n.name, n]));
  const wanted = (node: string, key: string) => nodes.get(node)?.sysctls[key] !== undefined;
  const sysctls = (previous?.sysctls ?? []).filter((s) => wanted(s.node, s.key));
  for (const o of plan.ops) {
    if (o.op !== 'sysctl-set' || o.previous === undefined || !wanted(o.node, o.key)) continue;
    if (sysctls.some((s) => s.node === o.node && s.key === o.key)) continue;
    sysctls.push({ node: o.node, key: o.key, previous: o.previous });
  }

  return {
    lab: lab.name,
    hostNetns: opts.hostNetns,
    ...((lab.file ?? previous?.file) ? { file: lab.file ?? previous?.file } : {}),
    applied: lab,
    namespaces,
    hostLinks: hostIfaces.map((i) => i.name),
    hostAddrs,
    hostRoutes,
    sysctls,
    createdAt: previous?.createdAt ?? opts.now,
    updatedAt: opts.now,
  };
}
