/**
 * Reads what the kernel holds for a lab, through netlink and /proc/sys, into the planner's ObservedState.
 */
import { RTN_UNICAST } from '../netlink/route.js';
import { deleteNamedNetns, listNamedNetns, NETNS_RUN_DIR, NetnsError } from '../netns/named.js';
import type { Ledger, ObservedLink, ObservedNamespace, ObservedState } from '../plan/types.js';
import { SysError } from '../sys/libc.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';
import type { KernelSession } from './session.js';

/** Reads one namespace: its links, addresses (not link-local or loopback), unicast routes and the given sysctls. */
export function observeNamespace(
  session: KernelSession,
  ns: string | null,
  sysctlKeys: string[],
): ObservedNamespace {
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
  }));
  const addrs = h
    .addrs()
    .filter((a) => a.scope !== 254 && !(a.family === 6 && a.address.startsWith('fe80:')))
    .map((a) => ({ dev: byIndex.get(a.index) ?? `if${a.index}`, cidr: a.cidr, family: a.family }));
  const routes = h
    .routes(undefined, { unicast: true })
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
  return { links, addrs, routes, sysctls };
}

/**
 * Opens a handle on `ns`. A file under /run/netns that is not a namespace (left by a run killed between creating
 * the file and bind-mounting the namespace on it) is removed when `repair` is set (by `up` and `down`) and the
 * ledger says nslab owns that name; it is reported otherwise.
 */
function openable(session: KernelSession, ns: string, ledger: Ledger | undefined, repair: boolean): boolean {
  try {
    session.handle(ns);
    return true;
  } catch (e) {
    if (!(e instanceof SysError && e.code === 'EINVAL')) throw e;
    if (!repair || !ledger?.namespaces.includes(ns)) {
      throw new NetnsError(
        ns,
        `${NETNS_RUN_DIR}/${ns} is not a network namespace (an interrupted \`ip netns add\`?): remove it with \`ip netns del ${ns}\``,
        'EINVAL',
      );
    }
    deleteNamedNetns(ns);
    return false;
  }
}

/**
 * Observes every node of the desired lab and of the lab as last applied (from the ledger) whose namespace
 * exists: what `planUp` and `planDown` need.
 */
export function observe(
  session: KernelSession,
  lab: ResolvedLab | undefined,
  ledger?: Ledger,
  opts: { repair?: boolean } = {},
): ObservedState {
  const namespaces = listNamedNetns();
  const present = new Set(namespaces);
  const nodes: Record<string, ResolvedNode> = {};
  for (const n of [...(ledger?.applied.nodes ?? []), ...(lab?.nodes ?? [])]) nodes[n.name] = n;
  const out: ObservedState = { namespaces, nodes: {} };
  const desired = new Map((lab?.nodes ?? []).map((n) => [n.name, n]));
  const recorded = new Map<string, string[]>();
  for (const s of ledger?.sysctls ?? []) {
    const keys = recorded.get(s.node);
    if (keys) keys.push(s.key);
    else recorded.set(s.node, [s.key]);
  }
  for (const node of Object.values(nodes)) {
    if (node.netns !== null && !present.has(node.netns)) continue;
    if (node.netns !== null && !openable(session, node.netns, ledger, !!opts.repair)) {
      out.namespaces = out.namespaces.filter((n) => n !== node.netns);
      continue;
    }
    const keys = new Set<string>([
      ...Object.keys(desired.get(node.name)?.sysctls ?? {}),
      ...Object.keys(node.sysctls),
      ...(recorded.get(node.name) ?? []),
    ]);
    out.nodes[node.name] = observeNamespace(session, node.netns, [...keys]);
  }
  return out;
}
