/**
 * What the kernel holds of a lab's faults: root qdiscs of its devices (`tc qdisc show`), the chains of its
 * nftables table (`nft list chains`, read over nfnetlink), and whether the kernel has netem at all.
 */
import type { KernelSession } from '../apply/session.js';
import {
  type NftChain,
  nftChainDump,
  nftTableDump,
  parseNftChain,
  parseNftTable,
} from '../netlink/nftables.js';
import { NETLINK_NETFILTER, NetlinkError, NetlinkSocket } from '../netlink/socket.js';
import { parseQdisc, qdiscDump, qdiscReplace, TC_H_ROOT } from '../netlink/tc.js';
import type { NetnsHandle } from '../netns/handle.js';
import { inNetns, inNewNetns } from '../netns/thread.js';
import { labTable, usesNetem } from '../plan/faults.js';
import type { ObservedQdisc, ObservedState, Qdisc } from '../plan/types.js';
import { SysError } from '../sys/libc.js';
import type { ResolvedLab } from '../topology/types.js';

/** Root qdisc kinds whose parameters the planner reads: a device with one of them has its qdiscs dumped. */
const DUMPED = new Set(['tbf', 'netem']);
/** The qdisc the kernel's qdisc dump never shows (TCQ_F_BUILTIN: a device down, or lo before it is up). */
const BUILTIN = new Set(['noop']);

/**
 * Root qdiscs of the devices of a namespace (`tc qdisc show`), tbf and netem decoded. `links`: the devices,
 * when already listed.
 */
export function readQdiscs(
  h: NetnsHandle,
  links?: { index: number; name: string; qdisc?: string }[],
): ObservedQdisc[] {
  // The device list names each root qdisc's kind; only tbf and netem carry what the planner compares, so a
  // namespace without them (most) needs no qdisc dump. The kernel's dump leaves out the built-in qdiscs.
  if (links?.every((l) => l.qdisc !== undefined && !DUMPED.has(l.qdisc)))
    return links.filter((l) => !BUILTIN.has(l.qdisc!)).map((l) => ({ dev: l.name, kind: l.qdisc! }));
  const names = new Map((links ?? h.links()).map((l) => [l.index, l.name]));
  return h.sock
    .dump(qdiscDump())
    .map(parseQdisc)
    .filter((q) => q.parent === TC_H_ROOT && names.has(q.index))
    .map((q) => {
      const qdisc: Qdisc | undefined = q.tbf
        ? { kind: 'tbf', ...q.tbf }
        : q.netem
          ? { kind: 'netem', ...q.netem }
          : undefined;
      return { dev: names.get(q.index)!, kind: q.kind, ...(qdisc && { qdisc }) };
    });
}

/** Runs `fn` on a netfilter socket opened inside the namespace; a kernel without nfnetlink gives `none`. */
function withNetfilter<T>(h: NetnsHandle, none: T, fn: (sock: NetlinkSocket) => T): T {
  let sock: NetlinkSocket;
  try {
    sock = inNetns(h.fd, () => NetlinkSocket.open(NETLINK_NETFILTER));
  } catch (e) {
    if (e instanceof SysError && e.code === 'EPROTONOSUPPORT') return none;
    throw e;
  }
  try {
    return fn(sock);
  } finally {
    sock.close();
  }
}

/** The inet chains of a namespace (`nft list chains inet`). */
export function readChains(h: NetnsHandle): NftChain[] {
  return withNetfilter(h, [], (sock) => sock.dump(nftChainDump()).map(parseNftChain));
}

/** Names of the chains of the lab's table in a namespace ([] when the table is not there). */
export function labChains(h: NetnsHandle, lab: { name: string }): string[] {
  const table = labTable(lab);
  return readChains(h)
    .filter((c) => c.table === table)
    .map((c) => c.name);
}

/** True when the lab's table exists in a namespace (`nft list tables inet`). */
export function hasLabTable(h: NetnsHandle, lab: { name: string }): boolean {
  const table = labTable(lab);
  return withNetfilter(h, false, (sock) =>
    sock
      .dump(nftTableDump())
      .map(parseNftTable)
      .some((t) => t.name === table),
  );
}

let netem: boolean | undefined;

/**
 * Whether this kernel has netem, found by trying: a netem qdisc is put on the loopback device of a fresh
 * unnamed namespace (which disappears with the socket), and the kernel answers ENOENT (`Specified qdisc kind
 * is unknown`) or EOPNOTSUPP when the sch_netem module is missing. Asked once per process.
 */
export function netemAvailable(): boolean {
  if (netem !== undefined) return netem;
  netem = inNewNetns(() => {
    const sock = NetlinkSocket.open();
    try {
      sock.run(
        qdiscReplace({
          index: 1,
          dev: 'lo',
          kind: 'netem',
          netem: { delayNs: 0, jitterNs: 0, loss: 0, rate: 0, limit: 1000 },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'EOPNOTSUPP')) return false;
      throw e;
    } finally {
      sock.close();
    }
  });
  return netem;
}

/**
 * Adds to an observation (from apply's `observe`) what the planner needs for impairments: the root qdiscs and
 * the lab's nftables chains in every namespace observed, and whether the kernel has netem when the lab asks for
 * what netem does.
 */
export function observeFaults(
  session: KernelSession,
  lab: ResolvedLab,
  observed: ObservedState,
  applied?: ResolvedLab,
): ObservedState {
  const nodes = new Map([...(applied?.nodes ?? []), ...lab.nodes].map((n) => [n.name, n]));
  for (const [name, st] of Object.entries(observed.nodes)) {
    const node = nodes.get(name);
    if (!node) continue;
    const h = session.handle(node.kind === 'host' ? null : node.netns);
    st.qdiscs = readQdiscs(h, st.links);
    st.nftChains = labChains(h, lab);
  }
  if (lab.nodes.some((n) => n.interfaces.some((i) => usesNetem(i.impair)))) observed.netem = netemAvailable();
  return observed;
}
