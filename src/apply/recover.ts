/**
 * Recovery from the kernel alone, for when ledgers are lost or damaged: every object carrying an nslab mark is
 * found by scanning the default namespace and every named namespace (`ip -all netns exec ip link show`, in one
 * process), and what no intact ledger owns is an orphan. A lab namespace is one whose loopback carries a lab's
 * mark; a host or sandbox namespace only holds marked veth ends, and is never deleted.
 */
import type { LinkInfo } from '../netlink/link.js';
import { NetnsHandle } from '../netns/handle.js';
import { deleteNamedNetns, listNamedNetns, type NetnsId, namedNetnsId, sameNetnsId } from '../netns/named.js';
import { processesInNetns } from '../proc/scan.js';
import { killProcessesSync, type StoppedProcess, stopProcesses } from '../proc/stop.js';
import { heldLocks } from './lock.js';
import { claimNamespaces, homeNetnsId } from './ownership.js';
import { labKey, listRecorded, parseLabKey, type RecordedLab } from './store.js';
import { LinkWatch } from './watch.js';

const MARK = 'nslab:';

/** A namespace whose loopback carries a lab's mark: a namespace nslab made for that lab. */
export interface MarkedNamespace {
  name: string;
  id: NetnsId;
  lab: string;
  links: LinkInfo[];
  /** Processes running inside. */
  processes: number;
}

/** A device carrying a lab's mark in a namespace that is not a lab namespace (a host or sandbox). */
export interface MarkedDevice {
  /** Namespace holding it: a name, or null for the default namespace. */
  ns: string | null;
  nsId: NetnsId;
  name: string;
  index: number;
  lab: string;
  /** IFLA_LINK: the veth peer's ifindex, in the peer's namespace. */
  linkIndex?: number;
}

export interface Orphans {
  namespaces: MarkedNamespace[];
  devices: MarkedDevice[];
  /** Labs left out, with why: an `up` or `down` holds their lock, or their ledger is damaged. */
  skipped: { lab: string; why: string }[];
}

const labOf = (alias: string | undefined) => (alias?.startsWith(MARK) ? alias.slice(MARK.length) : undefined);

/** Every marked object on the machine, for the labs `wanted` accepts. */
function scanMarks(wanted: (lab: string) => boolean): {
  namespaces: MarkedNamespace[];
  devices: MarkedDevice[];
} {
  const home = homeNetnsId();
  const namespaces: MarkedNamespace[] = [];
  const devices: MarkedDevice[] = [];
  const look = (ns: string | null, id: NetnsId, links: LinkInfo[]) => {
    const lab = labOf(links.find((l) => l.index === 1)?.alias);
    if (ns !== null && lab !== undefined && !sameNetnsId(id, home)) {
      if (wanted(lab)) namespaces.push({ name: ns, id, lab, links, processes: 0 });
      return;
    }
    for (const l of links) {
      const owner = labOf(l.alias);
      if (owner !== undefined && l.index !== 1 && wanted(owner))
        devices.push({ ns, nsId: id, name: l.name, index: l.index, lab: owner, linkIndex: l.linkIndex });
    }
  };
  const h = NetnsHandle.home();
  try {
    look(null, home, h.links());
  } finally {
    h.close();
  }
  for (const name of listNamedNetns()) {
    const at = namedNetnsId(name);
    if (typeof at !== 'object' || sameNetnsId(at.id, home)) continue;
    let nh: NetnsHandle;
    try {
      nh = NetnsHandle.open(name);
    } catch {
      continue; // deleted meanwhile, or not openable: nothing of ours
    }
    try {
      look(name, at.id, nh.links());
    } finally {
      nh.close();
    }
  }
  const counts = new Map<number, number>();
  for (const p of processesInNetns(new Set(namespaces.map((n) => n.id.ino))))
    counts.set(p.ino, (counts.get(p.ino) ?? 0) + 1);
  for (const n of namespaces) n.processes = counts.get(n.id.ino) ?? 0;
  return { namespaces, devices };
}

/**
 * What the intact ledgers own: their namespaces (by identity) and, in each one's host namespace, the devices
 * with its mark; the host namespaces themselves are never anyone's to delete.
 */
function ownedByLedgers(recorded: RecordedLab[]): {
  ns: Set<number>;
  hostDevices: Set<string>;
  hosts: NetnsId[];
} {
  const ns = new Set<number>();
  const hostDevices = new Set<string>();
  const hosts: NetnsId[] = [homeNetnsId()];
  for (const r of recorded) {
    if (!r.ledger) continue;
    for (const c of claimNamespaces(r.ledger, r.hostNetns)) if (c.state === 'owned') ns.add(c.id.ino);
    const host = r.hostNetns === null ? { id: homeNetnsId() } : namedNetnsId(r.hostNetns);
    if (typeof host === 'object') {
      hosts.push(host.id);
      hostDevices.add(`${r.lab}\u0000${host.id.ino}`);
    }
  }
  return { ns, hostDevices, hosts };
}

/**
 * Every marked object that no intact ledger owns, for the labs `wanted` accepts. With `except`, that lab's own
 * ledger (a key, `LAB` or `LAB@HOST`) is not counted (`down --force`); labs whose lock is held, or whose ledger
 * is damaged, are skipped unless `lockedOk`.
 */
export function findOrphans(opts: {
  wanted: (lab: string) => boolean;
  except?: string;
  lockedOk?: boolean;
}): Orphans {
  const recorded = listRecorded();
  const skipped: Orphans['skipped'] = [];
  const skip = new Set<string>();
  if (!opts.lockedOk) {
    for (const key of heldLocks()) {
      const { lab } = parseLabKey(key);
      if (!skip.has(lab)) skipped.push({ lab, why: `an nslab run holds the lock of ${key}` });
      skip.add(lab);
    }
    for (const r of recorded) {
      if (!r.damaged || skip.has(r.lab)) continue;
      skipped.push({ lab: r.lab, why: `its ledger is damaged (nslab down --force ${r.lab} removes it)` });
      skip.add(r.lab);
    }
  }
  const owned = ownedByLedgers(
    recorded.filter((r) => r.ledger && labKey(r.lab, r.hostNetns) !== opts.except),
  );
  const scan = scanMarks((lab) => opts.wanted(lab) && !skip.has(lab));
  return {
    namespaces: scan.namespaces.filter(
      (n) => !owned.ns.has(n.id.ino) && !owned.hosts.some((h) => sameNetnsId(h, n.id)),
    ),
    devices: scan.devices.filter((d) => !owned.hostDevices.has(`${d.lab}\u0000${d.nsId.ino}`)),
    skipped: skipped.filter((s) => opts.wanted(s.lab)),
  };
}

export interface Removal {
  namespaces: string[];
  /** Devices removed: the namespace that held each (null: the default namespace) and its name. */
  devices: { ns: string | null; name: string }[];
  stopped: (StoppedProcess & { node: string })[];
  notes: string[];
}

/**
 * Removes orphans: stops the processes in the orphan namespaces, deletes those namespaces (each only if it still
 * has the identity found), then deletes each orphan device that does not go with them (after checking it still
 * carries its mark), and waits for the others to disappear.
 */
export async function removeOrphans(o: Orphans, opts: { graceMs?: number } = {}): Promise<Removal> {
  const notes: string[] = [];
  const inodes = new Set(o.namespaces.map((n) => n.id.ino));
  const nameOf = new Map(o.namespaces.map((n) => [n.id.ino, n.name]));
  const stop = await stopProcesses(inodes, { graceMs: opts.graceMs });
  const stopped = stop.stopped.map((p) => ({ ...p, node: nameOf.get(p.ino) ?? '?' }));
  // A veth end goes with its namespace when its peer is a device inside one of the namespaces being deleted.
  const withNs = (d: MarkedDevice) =>
    d.linkIndex !== undefined &&
    o.namespaces.some((n) => n.links.some((l) => l.index === d.linkIndex && l.linkIndex === d.index));
  const holders = new Map<string | null, MarkedDevice[]>();
  for (const d of o.devices) holders.set(d.ns, [...(holders.get(d.ns) ?? []), d]);
  const watches: { h: NetnsHandle; w: LinkWatch; devices: Map<number, string> }[] = [];
  const removed: Removal = { namespaces: [], devices: [], stopped, notes };
  try {
    for (const [ns, devs] of holders) {
      const going = devs.filter(withNs);
      if (going.length === 0) continue;
      const h = ns === null ? NetnsHandle.home() : NetnsHandle.open(ns);
      watches.push({ h, w: LinkWatch.open(h), devices: new Map(going.map((d) => [d.index, d.name])) });
    }
    for (const n of o.namespaces) if (deleteNamedNetns(n.name, n.id)) removed.namespaces.push(n.name);
    stopped.push(...killProcessesSync(inodes).stopped.map((p) => ({ ...p, node: nameOf.get(p.ino) ?? '?' })));
    for (const [ns, devs] of holders) {
      const alone = devs.filter((d) => !withNs(d));
      if (alone.length === 0) continue;
      const h = ns === null ? NetnsHandle.home() : NetnsHandle.open(ns);
      try {
        const now = new Map(h.links().map((l) => [l.index, l]));
        for (const d of alone) {
          const l = now.get(d.index);
          if (!l || l.name !== d.name || labOf(l.alias) !== d.lab) continue;
          h.deleteLink(d.name);
          removed.devices.push({ ns, name: d.name });
        }
      } finally {
        h.close();
      }
    }
    for (const { h, w, devices } of watches) {
      const left = await w.waitGone(h, devices);
      for (const [, name] of devices) if (!left.includes(name)) removed.devices.push({ ns: h.name, name });
      if (left.length)
        notes.push(`the kernel still lists ${left.join(', ')} in ${h.label}: it is removing them`);
    }
  } finally {
    for (const { h, w } of watches) {
      w.close();
      h.close();
    }
  }
  return removed;
}
