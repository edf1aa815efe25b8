/**
 * `down`: removes what a lab owns, proven from the kernel, in the order that costs the kernel least. First every
 * process inside the lab's namespaces is stopped (SIGTERM, grace, SIGKILL: a process would keep its namespace
 * alive, unnamed and unseen); then the namespaces are deleted in one go (the kernel removes their devices, the
 * host ends of their veths included, in one batched cleanup); then the host's own objects; and it returns once
 * the kernel shows none of the lab's devices in the host.
 */
import { fstatSync, readdirSync, readlinkSync } from 'node:fs';
import { type LinkInfo, linkDump, parseLink, RTM_GETLINK, RTM_NEWLINK } from '../netlink/link.js';
import { frame, parseMessages } from '../netlink/message.js';
import { NetlinkSocket } from '../netlink/socket.js';
import {
  deleteNamedNetns,
  deleteNamedNetnsMany,
  listNamedNetns,
  type NetnsId,
  namedNetnsId,
  openNamedNetns,
} from '../netns/named.js';
import { inNetns } from '../netns/thread.js';
import { hostNodeOf, ownershipAlias } from '../plan/common.js';
import { planDown } from '../plan/down.js';
import type { Ledger, ObservedNamespace, ObservedState, Op, Plan } from '../plan/types.js';
import { killProcessesSync, type StoppedProcess, stopProcesses } from '../proc/stop.js';
import * as sys from '../sys/libc.js';
import { type ExecuteOptions, executePlan } from './execute.js';
import { observeRaw } from './observe.js';
import { claimNamespaces, foreignNote } from './ownership.js';
import { KernelSession } from './session.js';
import { Journal } from './store.js';
import { heldHostSysctls, recordHostSysctls, settleHostRestores } from './sysctls.js';
import { LinkWatch } from './watch.js';

/** A process stopped by `down`, with the node it ran in. */
export interface StoppedInNode extends StoppedProcess {
  node: string;
  /** The name the file gives it (`processes:`), when it is one of the lab's named processes. */
  process?: string;
}

export interface TeardownResult {
  plan: Plan;
  stopped: StoppedInNode[];
  /** Sentences about what was left alone and why (a namespace under a lab name that is someone else's). */
  notes: string[];
}

export interface TeardownOptions {
  /** Grace period after SIGTERM before SIGKILL (default 3000 ms). */
  graceMs?: number;
  onProgress?: ExecuteOptions['onProgress'];
}

/** An owned namespace, looked at once before it goes: its loopback mark and its devices. */
interface Looked {
  name: string;
  id: NetnsId;
  links: LinkInfo[];
}

/** One request, one answer: the namespace's loopback (`ip link show dev lo`), on a socket closed at once. */
function loopback(): LinkInfo | undefined {
  const fd = sys.socket(sys.AF_NETLINK, sys.SOCK_RAW, 0);
  try {
    const ifinfo = Buffer.alloc(16);
    ifinfo.writeInt32LE(1, 4); // ifindex 1: lo
    sys.send(fd, frame({ type: RTM_GETLINK, flags: 0, payload: ifinfo, op: 'get link', object: 'lo' }, 1));
    const n = sys.recv(fd, answer);
    const m = parseMessages(answer, n).find((x) => x.type === RTM_NEWLINK);
    return m ? parseLink(m) : undefined;
  } finally {
    sys.close(fd);
  }
}

const answer = Buffer.alloc(64 * 1024);

/**
 * Enters each namespace proven the lab's by identity (through an fd, checked to still be that namespace) and
 * checks that its loopback carries the lab's mark: a namespace given the inode number of the lab's, after that
 * one was deleted by hand, has not. Lists every device only in the namespaces of `full`. Nothing is kept open
 * (a socket keeps its namespace alive): tens of microseconds a namespace.
 */
function lookInside(
  names: { name: string; id: NetnsId }[],
  mark: string,
  notes: string[],
  full: Set<string>,
): Looked[] {
  const out: Looked[] = [];
  for (const { name, id } of names) {
    let fd: number;
    try {
      fd = openNamedNetns(name);
    } catch {
      continue; // gone meanwhile
    }
    try {
      if (fstatSync(fd).ino !== id.ino) continue;
      const links = inNetns(fd, () => {
        if (!full.has(name)) return [loopback()].filter((l): l is LinkInfo => l !== undefined);
        const sock = NetlinkSocket.open();
        try {
          return sock.dump(linkDump()).map(parseLink);
        } finally {
          sock.close();
        }
      });
      if (links.find((l) => l.index === 1)?.alias !== mark) {
        notes.push(`namespace ${name} has the identity the lab recorded but not its mark on lo: left alone`);
        continue;
      }
      out.push({ name, id, links });
    } finally {
      sys.close(fd);
    }
  }
  return out;
}

/** Removes what the lab of `ledger` owns. The caller holds the lab's lock, and removes the ledger afterwards. */
export async function teardown(ledger: Ledger, opts: TeardownOptions = {}): Promise<TeardownResult> {
  const hostNetns = ledger.hostNetns;
  const mark = ownershipAlias({ name: ledger.lab });
  const notes: string[] = [];
  const claims = claimNamespaces(ledger, hostNetns);
  for (const c of claims) {
    if (c.state === 'foreign') notes.push(foreignNote(c));
    // The file a creation killed before its bind mount left: not a namespace, only the lab's name.
    if (c.state === 'placeholder') deleteNamedNetns(c.name);
  }
  const hostPresent = hostNetns === null || typeof namedNetnsId(hostNetns) === 'object';
  const session = hostPresent ? new KernelSession(hostNetns) : undefined;
  try {
    const hostName = hostNodeOf(ledger.applied)?.name ?? 'host';
    let held: string[] = [];
    let host: { state: ObservedNamespace; raw: LinkInfo[] } | undefined;
    if (session) {
      held = heldHostSysctls(hostNetns, ledger.lab);
      const keys = [
        ...new Set([...ledger.sysctls.filter((s) => s.node === hostName).map((s) => s.key), ...held]),
      ];
      // Only the dumps the plan needs: addresses the lab added on host devices it did not make (those on its
      // own devices go with them, or are not the lab's to touch once the device is not), routes it added.
      const hostLinks = new Set(ledger.hostLinks);
      host = observeRaw(session, null, keys, {
        addrs: ledger.hostAddrs.every((a) => hostLinks.has(a.dev)),
        routes: ledger.hostRoutes.length === 0,
      });
    }
    const owned = lookInside(
      claims.flatMap((c) => (c.state === 'owned' ? [{ name: c.name, id: c.id }] : [])),
      mark,
      notes,
      host ? peerNamespaces(host.state.links, ledger) : new Set(),
    );
    const nodeOfNs = new Map(ledger.applied.nodes.map((n) => [n.netns, n.name]));
    const nodeOfIno = new Map(owned.map((o) => [o.id.ino, nodeOfNs.get(o.name) ?? o.name]));
    const inodes = new Set(owned.map((o) => o.id.ino));

    const stop = await stopProcesses(inodes, { graceMs: opts.graceMs });
    const named = new Map((ledger.processes ?? []).map((p) => [`${p.pid} ${p.ino}`, p.name]));
    const stopped = stop.stopped.map((p): StoppedInNode => {
      const process = named.get(`${p.pid} ${p.ino}`);
      return { ...p, node: nodeOfIno.get(p.ino) ?? '?', ...(process !== undefined && { process }) };
    });
    for (const p of stop.survivors)
      notes.push(`process ${p.pid} (${p.comm}) in ${nodeOfIno.get(p.ino)} did not exit after SIGKILL`);

    // An fd this very process holds (a handle of a Lab object not closed) would keep a namespace alive, and its
    // veth ends in the host with it: say so, and do not wait for those.
    const heldOpen = heldBySelf(inodes);
    for (const ino of heldOpen)
      notes.push(
        `this process still holds namespace ${nameOfIno(owned, ino)} open (a handle not closed): it lives on, unnamed, until that is closed`,
      );
    const observed: ObservedState = {
      namespaces: listNamedNetns(),
      owned: owned.map((o) => o.name),
      nodes: {},
    };
    const waitFor = new Map<number, string>();
    if (host) {
      markPeers(host.state.links, new Map(host.raw.map((l) => [l.name, l])), owned, ledger);
      observed.nodes[hostName] = host.state;
      const kept = new Set(owned.filter((o) => heldOpen.has(o.id.ino)).map((o) => o.name));
      const peerNs = peerNamespaceOf(ledger);
      for (const l of host.state.links) {
        if (l.alias !== mark && !l.peerInLab) continue;
        const ns = peerNs.get(l.name);
        if (!(ns && kept.has(ns))) waitFor.set(l.index, l.name);
      }
    }
    const plan = planDown(ledger, observed);
    const nsDels = plan.ops.filter((o) => o.op === 'netns-del');
    let rest: Op[] = plan.ops.filter((o) => o.op !== 'netns-del');
    if (session && (held.length > 0 || rest.some((o) => o.op === 'sysctl-set'))) {
      const current = observed.nodes[hostName]?.sysctls ?? {};
      rest = await settleHostRestores(hostNetns, ledger.lab, rest, hostName, {}, current);
    }
    const total = nsDels.length + rest.length;

    // Subscribed before the deletions, so that no RTM_DELLINK is missed.
    const watch = session && waitFor.size > 0 ? LinkWatch.open(session.handle(null)) : undefined;
    try {
      const journal = new Journal(ledger.lab, hostNetns);
      const idOf = new Map(owned.map((o) => [o.name, o.id]));
      try {
        // Each recorded first: a namespace made later may be given the same inode number.
        await deleteNamedNetnsMany(
          nsDels.flatMap((op) => {
            const id = idOf.get(op.ns!);
            return id ? [{ name: op.ns!, expect: id }] : [];
          }),
          (name) => journal.deleting(name),
        );
      } finally {
        journal.close();
      }
      if (nsDels.length > 0) opts.onProgress?.(nsDels.length, total, nsDels[nsDels.length - 1]);
      // A process that entered a namespace between the scan and the deletion (by its name) would keep it alive.
      const late = killProcessesSync(inodes);
      stopped.push(...late.stopped.map((p) => ({ ...p, node: nodeOfIno.get(p.ino) ?? '?' })));

      if (session && rest.length > 0) {
        await executePlan({ lab: ledger.lab, ops: rest }, session, {
          observed,
          onProgress: opts.onProgress
            ? (d, _t, last) => opts.onProgress?.(nsDels.length + d, total, last)
            : undefined,
        });
      }
      if (watch && session) {
        const left = await watch.waitGone(session.handle(null), waitFor);
        if (left.length > 0)
          notes.push(`the kernel still lists ${left.join(', ')} in the host after 30 s: it is removing them`);
      }
    } finally {
      watch?.close();
    }
    if (session && held.length > 0) await recordHostSysctls(hostNetns, ledger.lab, [], {});
    return { plan: { lab: ledger.lab, ops: [...nsDels, ...rest] }, stopped, notes };
  } finally {
    session?.close();
  }
}

/** Inodes among `inodes` of namespaces this process has an fd on (`/proc/self/fd/N` -> `net:[INODE]`). */
function heldBySelf(inodes: Set<number>): Set<number> {
  const out = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(Number(m[1]))) out.add(Number(m[1]));
    } catch {
      // closed meanwhile (the fd of readdir itself)
    }
  }
  return out;
}

function nameOfIno(owned: Looked[], ino: number): string {
  return owned.find((o) => o.id.ino === ino)?.name ?? `inode ${ino}`;
}

/** The namespace of the peer of each host interface of the applied lab. */
function peerNamespaceOf(ledger: Ledger): Map<string, string> {
  const nsOfNode = new Map(ledger.applied.nodes.map((n) => [n.name, n.netns]));
  const out = new Map<string, string>();
  for (const i of hostNodeOf(ledger.applied)?.interfaces ?? []) {
    const ns = nsOfNode.get(i.peer.node);
    if (ns) out.set(i.name, ns);
  }
  return out;
}

/**
 * The namespaces holding, by the applied lab, the peers of the host's unmarked veths: only there is every device
 * listed (for markPeers).
 */
function peerNamespaces(hostLinks: ObservedNamespace['links'], ledger: Ledger): Set<string> {
  const host = hostNodeOf(ledger.applied);
  const nsOfNode = new Map(ledger.applied.nodes.map((n) => [n.name, n.netns]));
  const out = new Set<string>();
  for (const l of hostLinks) {
    if (l.alias !== undefined || l.kind !== 'veth') continue;
    const peer = host?.interfaces.find((i) => i.name === l.name)?.peer;
    const ns = peer && nsOfNode.get(peer.node);
    if (ns) out.add(ns);
  }
  return out;
}

/**
 * Sets `peerInLab` on the unmarked host devices whose veth peer is the device the lab gives them, inside one of
 * the lab's namespaces (each end names the other's ifindex): ends of a run killed before it marked them.
 */
function markPeers(
  hostLinks: ObservedState['nodes'][string]['links'],
  raw: Map<string, LinkInfo>,
  owned: Looked[],
  ledger: Ledger,
): void {
  const host = hostNodeOf(ledger.applied);
  if (!host) return;
  const nsOfNode = new Map(ledger.applied.nodes.map((n) => [n.name, n.netns]));
  const inside = new Map(owned.map((o) => [o.name, new Map(o.links.map((l) => [l.name, l]))]));
  for (const l of hostLinks) {
    if (l.alias !== undefined || l.kind !== 'veth') continue;
    const peer = host.interfaces.find((i) => i.name === l.name)?.peer;
    const ns = peer && nsOfNode.get(peer.node);
    const theirs = ns ? inside.get(ns)?.get(peer.name) : undefined;
    const mine = raw.get(l.name);
    if (mine && theirs && mine.linkIndex === theirs.index && theirs.linkIndex === mine.index)
      l.peerInLab = true;
  }
}
