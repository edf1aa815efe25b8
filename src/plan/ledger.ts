import type { ResolvedLab } from '../topology/types.js';
import { canonicalCidrOf, hostNodeOf, sameRouteKey } from './common.js';
import type { ExecDone, Ledger, OwnedNamespace, Plan, ProcessRecord } from './types.js';

export interface LedgerOptions {
  hostNetns: string | null;
  now: string;
  /** Identities of the namespaces this run made (from the journal); kept with those `previous` recorded. */
  made?: OwnedNamespace[];
  /**
   * The `exec:` entries of the plan that ran to their end. Left out: all of them (the plan was applied in full);
   * `[]` for the ledger written before the run starts.
   */
  ran?: ExecDone[];
  /** Named processes this run started (from the journal). */
  started?: ProcessRecord[];
}

/**
 * The ledger to record once every op of `plan` (made by `planUp` for `lab`) has been applied: what nslab owns now.
 * Keeps from `previous` what is still in the lab, adds what the plan created, and drops what it deleted.
 * Routes and sysctls that were already as wanted before nslab touched them are not claimed, so `down` leaves them.
 */
export function ledgerAfter(
  previous: Ledger | undefined,
  lab: ResolvedLab,
  plan: Plan,
  opts: LedgerOptions,
): Ledger {
  const added = plan.ops.flatMap((o) => (o.op === 'netns-add' && o.ns ? [o.ns] : []));
  const deleted = new Set(plan.ops.flatMap((o) => (o.op === 'netns-del' && o.ns ? [o.ns] : [])));
  const namespaces = [...new Set([...(previous?.namespaces ?? []).filter((n) => !deleted.has(n)), ...added])];
  const kept = new Set(namespaces);
  const byName = new Map<string, OwnedNamespace>();
  for (const id of [...(previous?.identities ?? []), ...(opts.made ?? [])]) byName.set(id.name, id);
  const identities = [...byName.values()].filter((id) => kept.has(id.name));

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
    version: 2,
    lab: lab.name,
    hostNetns: opts.hostNetns,
    ...((lab.file ?? previous?.file) ? { file: lab.file ?? previous?.file } : {}),
    applied: lab,
    namespaces,
    identities,
    hostLinks: hostIfaces.map((i) => i.name),
    hostAddrs,
    hostRoutes,
    sysctls,
    execDone: execDone(previous, lab, plan, identities, opts.ran),
    ...processRecords(previous, lab, plan, identities, opts.started ?? []),
    createdAt: previous?.createdAt ?? opts.now,
    updatedAt: opts.now,
  };
}

/**
 * The `exec:` entries done once the plan ran: those done before that are still the node's entry at that index in
 * the same namespace, and those this run finished.
 */
function execDone(
  previous: Ledger | undefined,
  lab: ResolvedLab,
  plan: Plan,
  identities: OwnedNamespace[],
  ran: ExecDone[] | undefined,
): ExecDone[] {
  const inoOf = new Map(identities.map((id) => [id.name, id.ino]));
  const nodes = new Map(lab.nodes.map((n) => [n.name, n]));
  const recreated = new Set(plan.ops.flatMap((o) => (o.op === 'netns-add' ? [o.node] : [])));
  const finished =
    ran ??
    plan.ops.flatMap((o): ExecDone[] => {
      if (o.op !== 'exec' || o.index === undefined) return [];
      const ino = o.ns === null ? undefined : inoOf.get(o.ns);
      return [{ node: o.node, index: o.index, command: o.command, ...(ino !== undefined ? { ino } : {}) }];
    });
  const out = new Map<string, ExecDone>();
  const keep = (e: ExecDone, fresh: boolean) => {
    const node = nodes.get(e.node);
    if (!node || node.exec[e.index] !== e.command) return;
    if (!fresh && recreated.has(e.node)) return;
    const ino = node.netns === null ? undefined : inoOf.get(node.netns);
    if (e.ino !== undefined && ino !== undefined && e.ino !== ino) return;
    out.set(`${e.node}\u0000${e.index}`, e);
  };
  for (const e of previous?.execDone ?? []) keep(e, false);
  for (const e of finished) keep(e, true);
  return [...out.values()];
}

/**
 * The named processes recorded once the plan ran: those recorded before, in a node still in the lab and still in
 * the namespace they were started in, unless the plan stopped them or this run started them again; then those
 * this run started. Absent when there are none and none were recorded.
 */
function processRecords(
  previous: Ledger | undefined,
  lab: ResolvedLab,
  plan: Plan,
  identities: OwnedNamespace[],
  started: ProcessRecord[],
): { processes?: ProcessRecord[] } {
  if (!previous?.processes && started.length === 0) return {};
  const inoOf = new Map(identities.map((id) => [id.name, id.ino]));
  const nodes = new Map(lab.nodes.map((n) => [n.name, n]));
  const stopped = new Set(plan.ops.flatMap((o) => (o.op === 'process-stop' ? [o.pid] : [])));
  const again = new Set(started.map((p) => `${p.node}\u0000${p.name}`));
  const kept = (previous?.processes ?? []).filter((p) => {
    const netns = nodes.get(p.node)?.netns;
    if (!netns || inoOf.get(netns) !== p.ino || stopped.has(p.pid)) return false;
    return !again.has(`${p.node}\u0000${p.name}`);
  });
  return { processes: [...kept, ...started] };
}
