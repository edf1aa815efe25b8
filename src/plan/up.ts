import { parseCidr } from '../topology/ip.js';
import {
  BRIDGE_DEVICE,
  type ResolvedInterface,
  type ResolvedLab,
  type ResolvedLink,
  type ResolvedNode,
  type ResolvedRoute,
} from '../topology/types.js';
import {
  canonicalCidrOf,
  EMPTY_NAMESPACE,
  endpointKey,
  isIpv6LinkLocal,
  metricOf,
  ownershipAlias,
  PlanError,
  routeFromObserved,
  sameRoute,
  sameRouteKey,
  sameRouteSlot,
  sameSysctl,
  targetOf,
} from './common.js';
import { planImpairments } from './faults.js';
import { planProcesses } from './processes.js';
import type {
  Ledger,
  ObservedLink,
  ObservedNamespace,
  ObservedRoute,
  ObservedState,
  Op,
  OpTarget,
  Plan,
} from './types.js';

export interface PlanUpOptions {
  /** Namespace playing the host (`--host-netns`), or null for the real default namespace. */
  hostNetns: string | null;
  /** What an earlier `up` of this lab made; lets the plan remove what the file no longer has. */
  ledger?: Ledger;
}

type LinkSet = Extract<Op, { op: 'link-set' }>;

/** Identity of a link independent of endpoint order. */
function linkKey(link: ResolvedLink): string {
  return link.endpoints
    .map((e) => endpointKey(e.node, e.interface))
    .sort()
    .join('\u0001');
}

function where(t: OpTarget): string {
  return t.ns === null ? 'the host namespace' : `namespace ${t.ns}`;
}

/**
 * Plans the operations that make the kernel match `desired`, given what is there now (`observed`). Pure: reads
 * nothing, changes nothing. Applying the ops in order yields a state for which `planUp` returns no op.
 *
 * Order: namespaces (`ip netns add`, lo marked and up), bridges, veth pairs, `ip link set`, sysctls,
 * `ip addr del`, `ip addr add`, `ip route del`, `ip route add|replace`, `ip link del` of links gone from the file,
 * `ip netns del` of nodes gone from the file, impairments (`tc qdisc`, nftables loss rules), then the `exec:`
 * commands of nodes whose namespace this plan creates, and those an earlier run did not finish, then the named
 * processes that do not run as declared (stopped, then started in file order: see planProcesses). Host operations
 * have `ns: null`. Devices carry the ownership alias; devices without it, their addresses, and routes the lab did
 * not add are never deleted. A desired interface name already taken by such a device, or a namespace name taken by
 * a namespace the lab did not make, throws a {@link PlanError}.
 */
export function planUp(desired: ResolvedLab, observed: ObservedState, opts: PlanUpOptions): Plan {
  return { lab: desired.name, ops: new UpPlanner(desired, observed, opts).plan() };
}

class UpPlanner {
  private readonly mark: string;
  private readonly ledger?: Ledger;
  private readonly applied?: ResolvedLab;
  private readonly existingNs: Set<string>;
  /** Namespaces the ledger says this lab made. */
  private readonly ownedNs: Set<string>;
  private readonly deletedNs: string[];
  /** Nodes whose namespace this plan creates. */
  private readonly created = new Set<string>();
  /** Devices (endpointKey) this plan deletes, directly or as the peer of a deleted veth. */
  private readonly destroyed = new Set<string>();
  /** Devices this plan creates. */
  private readonly fresh = new Set<string>();
  /** Devices losing their last IPv4 address: the kernel then flushes every IPv4 route through them. */
  private readonly flushedV4 = new Set<string>();
  private readonly routeDelSeen = new Set<string>();
  /** Desired and applied nodes by name, and each node's interfaces by name: big labs look them up per link. */
  private readonly desiredNodes: Map<string, ResolvedNode>;
  private readonly appliedNodes: Map<string, ResolvedNode>;
  private readonly appliedByNetns: Map<string, ResolvedNode>;
  private readonly interfaces = new Map<ResolvedNode, Map<string, ResolvedInterface>>();
  /** Observed devices by name, per observed namespace. */
  private readonly observedLinks = new Map<ObservedNamespace, Map<string, ObservedLink>>();
  private readonly addrsByDev = new Map<ObservedNamespace, Map<string, ObservedNamespace['addrs']>>();
  private readonly deletedNsSet: Set<string>;
  private readonly out = {
    ns: [] as Op[],
    bridge: [] as Op[],
    stale: [] as Op[],
    veth: [] as Op[],
    set: [] as Op[],
    sysctl: [] as Op[],
    addrDel: [] as Op[],
    addrAdd: [] as Op[],
    routeDel: [] as Op[],
    routeAdd: [] as Op[],
    linkDel: [] as Op[],
    nsDel: [] as Op[],
    impair: [] as Op[],
    exec: [] as Op[],
    procStop: [] as Op[],
    procStart: [] as Op[],
  };

  constructor(
    private readonly desired: ResolvedLab,
    private readonly observed: ObservedState,
    opts: PlanUpOptions,
  ) {
    this.mark = ownershipAlias(desired);
    this.ledger = opts.ledger;
    this.applied = opts.ledger?.applied;
    const ledger = opts.ledger;
    if (ledger && ledger.lab !== desired.name) {
      throw new PlanError(`the ledger given is for lab "${ledger.lab}", not "${desired.name}"`, 2);
    }
    if (ledger && ledger.hostNetns !== opts.hostNetns) {
      const was = ledger.hostNetns === null ? 'the default namespace' : `namespace ${ledger.hostNetns}`;
      throw new PlanError(
        `lab "${desired.name}" is up with its host side in ${was}; bring it down first or use the same --host-netns`,
        2,
      );
    }
    const desiredNs = new Set<string>();
    for (const node of desired.nodes) {
      if (node.kind === 'host') continue;
      if (!node.netns) throw new PlanError(`node ${node.name} has no namespace name`, 2);
      if (node.netns === opts.hostNetns) {
        throw new PlanError(`node ${node.name} uses namespace ${node.netns}, which plays the host`, 2);
      }
      desiredNs.add(node.netns);
    }
    this.existingNs = new Set(observed.namespaces);
    // The apply layer proves ownership from the kernel (observed.owned); plans made without a kernel (tests) take
    // the ledger's word.
    this.ownedNs = new Set(observed.owned ?? ledger?.namespaces ?? []);
    this.deletedNs = (ledger?.namespaces ?? []).filter(
      (ns) => !desiredNs.has(ns) && this.existingNs.has(ns) && this.ownedNs.has(ns),
    );
    this.deletedNsSet = new Set(this.deletedNs);
    this.desiredNodes = new Map(desired.nodes.map((n) => [n.name, n]));
    this.appliedNodes = new Map((this.applied?.nodes ?? []).map((n) => [n.name, n]));
    this.appliedByNetns = new Map();
    for (const n of this.applied?.nodes ?? []) if (n.netns) this.appliedByNetns.set(n.netns, n);
  }

  /** The interface called `name` of `node`. */
  private iface(node: ResolvedNode, name: string): ResolvedInterface | undefined {
    let byName = this.interfaces.get(node);
    if (!byName) {
      byName = new Map(node.interfaces.map((i) => [i.name, i]));
      this.interfaces.set(node, byName);
    }
    return byName.get(name);
  }

  plan(): Op[] {
    this.namespaces();
    this.bridges();
    this.links();
    this.removedLinks();
    this.sysctls();
    this.addresses();
    this.routes();
    for (const ns of this.deletedNs) {
      const node = this.appliedByNetns.get(ns)?.name ?? ns;
      this.out.nsDel.push({ op: 'netns-del', node, ns });
    }
    // Impairments of the lab's interfaces (tc qdiscs, nftables loss rules): see plan/faults.ts.
    this.out.impair = planImpairments(this.desired, this.observed, {
      namespace: (node) => this.created.has(node),
      device: (node, dev) => this.fresh.has(endpointKey(node, dev)),
    });
    this.execs();
    const procs = planProcesses({
      desired: this.desired,
      observed: this.observed,
      ledger: this.ledger,
      created: this.created,
      owned: this.ownedNs,
    });
    this.out.procStop = procs.stops;
    this.out.procStart = procs.starts;
    return Object.values(this.out).flat();
  }

  /**
   * `exec:` entries of the lab's namespaces: all of them in a namespace this plan creates, else those the ledger
   * does not record as run to their end (a run killed or failed before they finished).
   */
  private execs(): void {
    const done = new Set(
      (this.ledger?.execDone ?? []).map((e) => `${e.node}\u0000${e.index}\u0000${e.command}`),
    );
    for (const node of this.desired.nodes) {
      if (node.kind === 'host' || !node.netns) continue;
      const fresh = this.created.has(node.name);
      if (!fresh && !this.ownedNs.has(node.netns)) continue;
      node.exec.forEach((command, index) => {
        if (!fresh && done.has(`${node.name}\u0000${index}\u0000${command}`)) return;
        const timeout = node.execTimeouts?.[index];
        this.out.exec.push({
          op: 'exec',
          ...targetOf(node),
          command,
          index,
          ...(timeout != null ? { timeout } : {}),
        });
      });
    }
  }

  private state(node: string): ObservedNamespace {
    if (this.created.has(node)) return EMPTY_NAMESPACE;
    return this.observed.nodes[node] ?? EMPTY_NAMESPACE;
  }

  /** The observed device, unless this plan deletes it first. */
  private link(node: string, name: string): ObservedLink | undefined {
    if (this.destroyed.has(endpointKey(node, name))) return undefined;
    const state = this.state(node);
    let byName = this.observedLinks.get(state);
    if (!byName) {
      byName = new Map(state.links.map((l) => [l.name, l]));
      this.observedLinks.set(state, byName);
    }
    return byName.get(name);
  }

  /** Observed addresses on device `dev` of `node`. */
  private observedAddrs(node: string, dev: string): ObservedNamespace['addrs'] {
    const state = this.state(node);
    let byDev = this.addrsByDev.get(state);
    if (!byDev) {
      byDev = new Map();
      for (const a of state.addrs) {
        const list = byDev.get(a.dev);
        if (list) list.push(a);
        else byDev.set(a.dev, [a]);
      }
      this.addrsByDev.set(state, byDev);
    }
    return byDev.get(dev) ?? [];
  }

  private appliedNode(name: string): ResolvedNode | undefined {
    return this.appliedNodes.get(name);
  }

  /** The interface `name` of `node` in the lab as last applied. */
  private appliedIface(node: string, name: string): ResolvedInterface | undefined {
    const a = this.appliedNode(node);
    return a && this.iface(a, name);
  }

  private isHost(node: string): boolean {
    const n = this.desiredNodes.get(node) ?? this.appliedNode(node);
    return n?.kind === 'host';
  }

  /**
   * A device is the lab's when it carries the ownership alias; in the host, also when the kernel shows it is the
   * other end of a veth in one of the lab's namespaces; in a namespace of the lab, when the applied lab made it.
   * The ledger alone never makes a device the lab's.
   */
  private owns(node: string, l: ObservedLink): boolean {
    if (l.alias === this.mark) return true;
    if (this.isHost(node)) return l.peerInLab === true;
    const a = this.appliedNode(node);
    if (!a?.netns || !this.ownedNs.has(a.netns)) return false;
    return this.iface(a, l.name) !== undefined || (a.kind === 'bridge' && l.name === BRIDGE_DEVICE);
  }

  private conflict(node: string, t: OpTarget, name: string): PlanError {
    return new PlanError(
      `${node}:${name} cannot be created: a device named ${name} already exists in ${where(t)} and is not part of ` +
        `lab "${this.desired.name}" (no "${this.mark}" alias); rename the interface in the file or remove that device`,
    );
  }

  /** Marks a device deleted, with the peer the applied lab gave it (deleting a veth end deletes its peer). */
  private destroy(node: string, name: string): void {
    this.destroyed.add(endpointKey(node, name));
    const peer = this.appliedIface(node, name)?.peer;
    if (peer) this.destroyed.add(endpointKey(peer.node, peer.name));
  }

  private namespaces(): void {
    for (const node of this.desired.nodes) {
      if (node.kind === 'host' || !node.netns) continue;
      const t = targetOf(node);
      if (!this.existingNs.has(node.netns)) {
        this.out.ns.push({ op: 'netns-add', ...t });
        this.created.add(node.name);
        // The lab's mark on lo tells a lab namespace from any other without a ledger (`down --force`, `gc`).
        this.out.ns.push({ op: 'link-set', ...t, name: 'lo', alias: this.mark, up: true });
      } else if (!this.ownedNs.has(node.netns)) {
        throw new PlanError(
          `namespace ${node.netns} (node ${node.name}) already exists and lab ${this.desired.name} did not make it: ` +
            `nslab will not take it over. Delete it (ip netns del ${node.netns}) or give the lab a prefix.`,
          1,
        );
      } else {
        const lo = this.link(node.name, 'lo');
        const diff: Partial<LinkSet> = {};
        if (lo && lo.alias !== this.mark) diff.alias = this.mark;
        if (lo?.up === false) diff.up = true;
        if (Object.keys(diff).length > 0) this.out.ns.push({ op: 'link-set', ...t, name: 'lo', ...diff });
      }
    }
  }

  private bridges(): void {
    for (const node of this.desired.nodes) {
      if (node.kind !== 'bridge') continue;
      const t = targetOf(node);
      const br = this.link(node.name, BRIDGE_DEVICE);
      if (!br) {
        this.out.bridge.push({ op: 'bridge-add', ...t, name: BRIDGE_DEVICE });
        this.fresh.add(endpointKey(node.name, BRIDGE_DEVICE));
        this.out.set.push({ op: 'link-set', ...t, name: BRIDGE_DEVICE, alias: this.mark, up: true });
        continue;
      }
      if (!this.owns(node.name, br) || (br.kind !== undefined && br.kind !== 'bridge')) {
        throw this.conflict(node.name, t, BRIDGE_DEVICE);
      }
      const diff: Partial<LinkSet> = {};
      if (br.alias !== this.mark) diff.alias = this.mark;
      if (!br.up) diff.up = true;
      if (Object.keys(diff).length > 0)
        this.out.set.push({ op: 'link-set', ...t, name: BRIDGE_DEVICE, ...diff });
    }
  }

  private endpoint(link: ResolvedLink, i: 0 | 1) {
    const ep = link.endpoints[i];
    const node = this.desiredNodes.get(ep.node);
    const iface = node && this.iface(node, ep.interface);
    if (!node || !iface) {
      throw new PlanError(
        `link ${link.index} names ${ep.node}:${ep.interface}, which the lab does not define`,
        2,
      );
    }
    const t = targetOf(node);
    const obs = this.link(node.name, iface.name);
    if (obs && !this.owns(node.name, obs)) throw this.conflict(node.name, t, iface.name);
    return { node, iface, t, obs };
  }

  private links(): void {
    for (const link of this.desired.links) {
      const ends = [this.endpoint(link, 0), this.endpoint(link, 1)];
      // Both ends exist but were made as ends of other pairs (the file rewired them): make the pair anew.
      const rewired = ends.some((e, k) => {
        const was = this.appliedIface(e.node.name, e.iface.name)?.peer;
        const now = ends[1 - k];
        return was !== undefined && (was.node !== now.node.name || was.name !== now.iface.name);
      });
      if (ends[0].obs && ends[1].obs && !rewired) {
        for (const e of ends) this.diffLink(e.t, e.iface, e.obs!, link);
        continue;
      }
      // An end left over from an earlier pair (its peer went away, or is now wired elsewhere): delete it and
      // make the pair anew.
      for (const e of ends) {
        if (!e.obs) continue;
        this.out.stale.push({ op: 'link-del', ...e.t, name: e.iface.name });
        this.destroy(e.node.name, e.iface.name);
      }
      // Created from endpoint 0's namespace, peer straight into endpoint 1's; from the host side when only
      // endpoint 1 is the host, so that no command has to name the default namespace.
      const [a, b] = ends[0].t.ns !== null && ends[1].t.ns === null ? [ends[1], ends[0]] : ends;
      this.out.veth.push({
        op: 'veth-add',
        ...a.t,
        name: a.iface.name,
        peer: { ...b.t, name: b.iface.name },
      });
      for (const e of ends) {
        this.fresh.add(endpointKey(e.node.name, e.iface.name));
        const mtu = e.iface.mtu ?? link.mtu;
        this.out.set.push({
          op: 'link-set',
          ...e.t,
          name: e.iface.name,
          ...(mtu !== undefined ? { mtu } : {}),
          ...(e.iface.mac ? { mac: e.iface.mac } : {}),
          alias: this.mark,
          ...(e.iface.master ? { master: e.iface.master } : {}),
          up: true,
        });
      }
    }
  }

  /** `ip link set` for only what differs on an existing end. */
  private diffLink(t: OpTarget, iface: ResolvedInterface, o: ObservedLink, link: ResolvedLink): void {
    const diff: Partial<LinkSet> = {};
    const mtu = iface.mtu ?? link.mtu;
    if (mtu !== undefined && o.mtu !== mtu) diff.mtu = mtu;
    if (iface.mac && o.mac?.toLowerCase() !== iface.mac.toLowerCase()) diff.mac = iface.mac;
    if (o.alias !== this.mark) diff.alias = this.mark;
    if (iface.master && o.master !== iface.master) diff.master = iface.master;
    if (!o.up) diff.up = true;
    if (Object.keys(diff).length > 0) this.out.set.push({ op: 'link-set', ...t, name: iface.name, ...diff });
  }

  /** Links of the applied lab that the file no longer has: `ip link del` of one end (host end preferred). */
  private removedLinks(): void {
    if (!this.applied) return;
    const keep = new Set(this.desired.links.map(linkKey));
    const desiredIfaces = new Set(
      this.desired.nodes.flatMap((n) => n.interfaces.map((i) => endpointKey(n.name, i.name))),
    );
    for (const link of this.applied.links) {
      if (keep.has(linkKey(link))) continue;
      const ends = link.endpoints.map((ep) => ({ ep, node: this.appliedNode(ep.node) }));
      const keys = link.endpoints.map((ep) => endpointKey(ep.node, ep.interface));
      if (ends.some((e) => !e.node) || keys.some((k) => this.destroyed.has(k) || desiredIfaces.has(k)))
        continue;
      const hostEnd = ends.find((e) => e.node!.kind === 'host');
      // Without a host end, a pair with one end in a namespace being deleted goes away with that namespace.
      if (!hostEnd && ends.some((e) => this.deletedNsSet.has(e.node!.netns ?? ''))) continue;
      for (const e of hostEnd ? [hostEnd] : ends) {
        const o = this.link(e.node!.name, e.ep.interface);
        if (!o || !this.owns(e.node!.name, o)) continue;
        this.out.linkDel.push({ op: 'link-del', ...targetOf(e.node!), name: e.ep.interface });
        this.destroy(e.node!.name, e.ep.interface);
        break;
      }
    }
  }

  private sysctls(): void {
    for (const node of this.desired.nodes) {
      const t = targetOf(node);
      const current = this.state(node.name).sysctls;
      for (const [key, value] of Object.entries(node.sysctls)) {
        const cur = current[key];
        if (cur !== undefined && sameSysctl(cur, value)) continue;
        this.out.sysctl.push({
          op: 'sysctl-set',
          ...t,
          key,
          value,
          ...(cur !== undefined ? { previous: cur } : {}),
        });
      }
      const before = this.appliedNode(node.name);
      if (before && !this.created.has(node.name)) {
        this.restore(
          node.name,
          t,
          Object.keys(before.sysctls).filter((k) => !(k in node.sysctls)),
        );
      }
    }
    for (const before of this.applied?.nodes ?? []) {
      if (before.kind !== 'host' || this.desiredNodes.has(before.name)) continue;
      this.restore(before.name, targetOf(before), Object.keys(before.sysctls));
    }
  }

  /**
   * Sysctls dropped from the file get back the value the ledger saw before nslab first changed them, while they
   * still hold the value the lab set (someone else's later change is left alone).
   */
  private restore(node: string, t: OpTarget, keys: string[]): void {
    const current = this.state(node).sysctls;
    const set = this.appliedNode(node)?.sysctls ?? {};
    for (const key of keys) {
      const entry = this.ledger?.sysctls.find((s) => s.node === node && s.key === key);
      if (!entry) continue;
      const cur = current[key];
      if (cur !== undefined && sameSysctl(cur, entry.previous)) continue;
      if (cur !== undefined && set[key] !== undefined && !sameSysctl(cur, set[key])) continue;
      this.out.sysctl.push({
        op: 'sysctl-set',
        ...t,
        key,
        value: entry.previous,
        ...(cur !== undefined ? { previous: cur } : {}),
      });
    }
  }

  private addresses(): void {
    for (const node of this.desired.nodes) {
      const devs: { name: string; want: string[] }[] = [];
      if (node.kind === 'bridge') {
        devs.push({ name: BRIDGE_DEVICE, want: [...(node.bridgeIpv4 ?? []), ...(node.bridgeIpv6 ?? [])] });
      }
      for (const i of node.interfaces) devs.push({ name: i.name, want: [...i.ipv4, ...i.ipv6] });
      for (const dev of devs)
        this.deviceAddresses(node, dev.name, [...new Set(dev.want.map(canonicalCidrOf))]);
    }
  }

  private deviceAddresses(node: ResolvedNode, dev: string, want: string[]): void {
    const t = targetOf(node);
    const key = endpointKey(node.name, dev);
    const exists = !this.fresh.has(key) && this.link(node.name, dev) !== undefined;
    const have = exists
      ? this.observedAddrs(node.name, dev).map((a) => ({ family: a.family, cidr: canonicalCidrOf(a.cidr) }))
      : [];
    const del = new Set(
      have.filter((a) => !want.includes(a.cidr) && !isIpv6LinkLocal(a.cidr)).map((a) => a.cidr),
    );
    // Deleting the primary IPv4 address of a subnet also deletes its secondaries (promote_secondaries is off by
    // default): delete those explicitly too, secondaries first, and add back the wanted ones.
    const v4 = have.filter((a) => a.family === 4);
    v4.forEach((a, i) => {
      if (!del.has(a.cidr)) return;
      const net = parseCidr(a.cidr)?.network;
      for (const b of v4.slice(i + 1)) if (parseCidr(b.cidr)?.network === net) del.add(b.cidr);
    });
    for (const a of [...have].reverse()) {
      if (del.has(a.cidr)) this.out.addrDel.push({ op: 'addr-del', ...t, dev, cidr: a.cidr });
    }
    if (v4.length > 0 && v4.every((a) => del.has(a.cidr))) this.flushedV4.add(key);
    for (const cidr of want) {
      if (!have.some((a) => a.cidr === cidr) || del.has(cidr)) {
        this.out.addrAdd.push({ op: 'addr-add', ...t, dev, cidr });
      }
    }
  }

  /** Routes nslab added in a node earlier: the ledger's host routes, or the applied lab's routes in a namespace. */
  private ownedRoutes(node: string): ResolvedRoute[] {
    if (this.isHost(node)) return this.ledger?.hostRoutes ?? [];
    return this.appliedNode(node)?.routes ?? [];
  }

  private delRoute(node: string, t: OpTarget, o: ObservedRoute): void {
    const route = routeFromObserved(o);
    const id = JSON.stringify([node, route]);
    if (this.routeDelSeen.has(id)) return;
    this.routeDelSeen.add(id);
    this.out.routeDel.push({ op: 'route-del', ...t, route });
  }

  /** Observed routes still there when routes are planned (not on deleted devices, not flushed by the kernel). */
  private liveRoutes(node: string): ObservedRoute[] {
    return this.state(node).routes.filter((o) => {
      if (o.dev === undefined) return true;
      const key = endpointKey(node, o.dev);
      return !this.destroyed.has(key) && !(o.family === 4 && this.flushedV4.has(key));
    });
  }

  private routes(): void {
    for (const node of this.desired.nodes) {
      const t = targetOf(node);
      const all = this.liveRoutes(node.name);
      const obs = all.filter((o) => o.protocol !== 'kernel');
      const owned = this.ownedRoutes(node.name);
      for (const r of node.routes) {
        if (all.some((o) => sameRoute(r, o))) continue;
        const slot = obs.filter((o) => sameRouteSlot(r, o));
        const same = slot.filter((o) => metricOf(o) === metricOf(r));
        if (same.length > 0) {
          // In the host, a route nslab did not add is not ours to replace (it may be the machine's default).
          if (node.kind === 'host' && !same.some((o) => owned.some((x) => sameRouteKey(x, o)))) {
            throw new PlanError(
              `the host already has a route to ${r.dst} (metric ${metricOf(r)}) that lab ${this.desired.name} did not add: ` +
                `nslab will not replace it. Give the lab's route another metric, or remove the host's route yourself.`,
              1,
            );
          }
          this.out.routeAdd.push({ op: 'route-replace', ...t, route: r });
          continue;
        }
        // Another metric is another route to the kernel: drop the lab's old one, leave anyone else's.
        for (const o of slot) if (owned.some((x) => sameRouteKey(x, o))) this.delRoute(node.name, t, o);
        this.out.routeAdd.push({ op: 'route-add', ...t, route: r });
      }
      for (const r of owned) {
        if (node.routes.some((d) => sameRouteSlot(d, r))) continue;
        for (const o of obs) if (sameRouteKey(o, r)) this.delRoute(node.name, t, o);
      }
    }
    for (const before of this.applied?.nodes ?? []) {
      if (before.kind !== 'host' || this.desiredNodes.has(before.name)) continue;
      const obs = this.liveRoutes(before.name).filter((o) => o.protocol !== 'kernel');
      for (const r of this.ownedRoutes(before.name)) {
        for (const o of obs) if (sameRouteKey(o, r)) this.delRoute(before.name, targetOf(before), o);
      }
    }
  }
}
