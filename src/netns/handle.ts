/**
 * A handle on one network namespace: an fd on the namespace and a netlink socket opened inside it, reused for
 * every request. Like `ip -n NAME ...`, but without a process per command.
 */
import {
  type ChildProcess,
  type SpawnOptions,
  type SpawnSyncOptions,
  type SpawnSyncReturns,
  spawn,
  spawnSync,
} from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as addr from '../netlink/addr.js';
import * as link from '../netlink/link.js';
import { NLM_F_CREATE, type Request } from '../netlink/message.js';
import * as neigh from '../netlink/neigh.js';
import * as route from '../netlink/route.js';
import { type NetlinkError, NetlinkSocket } from '../netlink/socket.js';
import { NslabError } from '../sys/errors.js';
import * as sys from '../sys/libc.js';
import { addNamedNetns, deleteNamedNetns, type NetnsId, openNamedNetns } from './named.js';
import type { Placeholders } from './placeholders.js';
import { homeNetnsFd, inNetns } from './thread.js';

/**
 * Path of a sysctl under /proc/sys: dots become slashes (`net.ipv4.ip_forward`); a key with slashes is kept (for
 * interface names with dots). A key that would leave /proc/sys/net (`..`, an empty part) is refused.
 */
export function sysctlPath(key: string): string {
  const parts = key.includes('/') ? key.split('/') : key.split('.');
  if (parts[0] !== 'net' || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new NslabError(`'${key}' is not a network sysctl (net.*)`, 2);
  }
  return `/proc/sys/${parts.join('/')}`;
}

/**
 * Creates the named namespace NAME (`ip netns add NAME`) on the calling thread and returns an fd on it and a
 * netlink socket opened inside it. `sysctls` are written inside it while the thread is there (each costs an
 * open under /proc/sys, which gets slower as namespaces multiply: pass only what is needed). With `lo`, the
 * loopback is set up (`ip link set dev lo [alias TEXT] up`) before the namespace gets its name; `record` is given
 * its identity at that point too (see addNamedNetns).
 */
export function createNamedNetnsFds(
  name: string,
  sysctls: Record<string, string> = {},
  opts: CreateOptions = {},
): { fd: number; sockFd: number } {
  const made = addNamedNetns(
    name,
    () => {
      for (const [k, v] of Object.entries(sysctls)) writeFileSync(sysctlPath(k), v);
      const fd = sys.open('/proc/thread-self/ns/net', sys.O_RDONLY);
      try {
        const sock = NetlinkSocket.open();
        try {
          if (opts.lo) sock.run(link.linkSet({ index: 1, name: 'lo' }, { up: true, alias: opts.lo.alias }));
        } catch (e) {
          sock.close();
          throw e;
        }
        return { fd, sockFd: sock.fd };
      } catch (e) {
        sys.close(fd);
        throw e;
      }
    },
    opts.record,
    opts.ahead,
  );
  if (!made) throw new NslabError(`namespace ${name} was not created`);
  return made;
}

export interface CreateOptions {
  /** Set the loopback up, with this alias when given, before the namespace is named. */
  lo?: { alias?: string };
  /** Called with the namespace's identity just before it is named (bind-mounted). */
  record?: (id: NetnsId) => void;
  /** Mount-point files made ahead (placeholdersAhead): NAME's is taken from there when it is one of them. */
  ahead?: Placeholders;
}

/** The devices a namespace held when it was made, as last read (see NetnsHandle.adopt). */
let freshDevices: { name: string; index: number }[] | undefined;
let freshAt = 0;
let adopted = 0;
const FRESH_CHECK = 64;
const FRESH_MS = 1000;

export class NetnsHandle {
  /** Namespace name, or null for the namespace this process started in. */
  readonly name: string | null;
  /** fd on the namespace (setns(2), IFLA_NET_NS_FD). */
  readonly fd: number;
  readonly sock: NetlinkSocket;
  private indexes = new Map<string, number>();
  private nextIndex: number | undefined;
  private closed = false;

  private constructor(name: string | null, fd: number, sock: NetlinkSocket, fresh: boolean) {
    this.name = name;
    this.fd = fd;
    this.sock = sock;
    if (fresh) {
      this.indexes.set('lo', 1);
      this.nextIndex = 2;
    }
  }

  /** A handle on the namespace this process started in (the real default namespace, normally). */
  static home(): NetnsHandle {
    return new NetnsHandle(null, homeNetnsFd, NetlinkSocket.open(), false);
  }

  /** A handle on the existing named namespace NAME (`ip -n NAME`). */
  static open(name: string): NetnsHandle {
    const fd = openNamedNetns(name);
    try {
      return new NetnsHandle(
        name,
        fd,
        inNetns(fd, () => NetlinkSocket.open()),
        false,
      );
    } catch (e) {
      sys.close(fd);
      throw e;
    }
  }

  /**
   * Creates the named namespace NAME (`ip netns add NAME`) and returns a handle on it, with `sysctls` already
   * written inside (`ip netns exec NAME sysctl -w ...`).
   */
  static create(name: string, opts: { sysctls?: Record<string, string> } & CreateOptions = {}): NetnsHandle {
    const made = createNamedNetnsFds(name, opts.sysctls, opts);
    return NetnsHandle.adopt(name, made.fd, made.sockFd);
  }

  /**
   * A handle on a namespace this process just created, from its fds (see createNamedNetnsFds). It lists the
   * devices once (a new namespace may already hold fallback tunnel devices such as tunl0 or sit0, when their
   * modules are loaded) and from then on chooses the indexes of the devices created in it.
   */
  static adopt(name: string, fd: number, sockFd: number): NetnsHandle {
    const h = new NetnsHandle(name, fd, NetlinkSocket.adopt(sockFd), true);
    // Every new namespace starts with the same devices (lo, and the fallback devices of the tunnel modules
    // loaded): the list is read from the kernel for one in FRESH_CHECK, or when the last reading is older than
    // FRESH_MS (a module loaded meanwhile adds a device), and reused for the others.
    const now = performance.now();
    if (freshDevices === undefined || adopted++ % FRESH_CHECK === 0 || now - freshAt > FRESH_MS) {
      freshDevices = h.links().map((l) => ({ name: l.name, index: l.index }));
      freshAt = now;
    } else h.know(freshDevices);
    return h;
  }

  private know(devices: { name: string; index: number }[]): void {
    for (const d of devices) {
      this.indexes.set(d.name, d.index);
      if (this.nextIndex !== undefined && d.index >= this.nextIndex) this.nextIndex = d.index + 1;
    }
  }

  /** Name for messages: the namespace name, or `host`. */
  get label(): string {
    return this.name ?? 'host';
  }

  // ---- raw requests --------------------------------------------------------------------------------------

  /** Sends requests in batches; one result per request (undefined = accepted). */
  execute(reqs: Request[]): (NetlinkError | undefined)[] {
    this.forget(reqs);
    return this.sock.execute(reqs);
  }

  /** Sends requests in batches and throws the first refusal. */
  run(...reqs: Request[]): void {
    this.forget(reqs);
    this.sock.run(...reqs);
  }

  private forget(reqs: Request[]): void {
    // A link added or deleted without a known index makes the name -> index cache stale.
    const unknownNew = (r: Request) =>
      r.type === link.RTM_NEWLINK && r.flags & NLM_F_CREATE && r.payload.readInt32LE(4) === 0;
    if (reqs.some((r) => r.type === link.RTM_DELLINK || unknownNew(r))) {
      if (this.nextIndex === undefined) this.indexes.clear();
    }
  }

  // ---- links ---------------------------------------------------------------------------------------------

  /** Devices in the namespace: `ip -n NS link show`. Refreshes the name -> index cache. */
  links(): link.LinkInfo[] {
    const out = this.sock.dumpEach(link.linkDump(), link.parseLink);
    if (this.nextIndex === undefined) this.indexes.clear();
    for (const l of out) this.indexes.set(l.name, l.index);
    if (this.nextIndex !== undefined)
      this.nextIndex = Math.max(this.nextIndex, ...out.map((l) => l.index + 1));
    return out;
  }

  /** The device called NAME, or undefined. */
  link(name: string): link.LinkInfo | undefined {
    return this.links().find((l) => l.name === name);
  }

  /** ifindex of the device called NAME (from the cache, else by listing the devices). */
  indexOf(name: string): number {
    let i = this.indexes.get(name);
    if (i === undefined) {
      this.links();
      i = this.indexes.get(name);
    }
    if (i === undefined) throw new NslabError(`no device ${name} in namespace ${this.label}`);
    return i;
  }

  /**
   * Chooses the ifindex of a device about to be created here, when this handle made the namespace and so knows
   * every index in it; records it under `name`. Otherwise returns undefined and the kernel chooses.
   */
  reserveIndex(name: string): number | undefined {
    if (this.nextIndex === undefined) return undefined;
    const i = this.nextIndex++;
    this.indexes.set(name, i);
    return i;
  }

  /** True when this handle made its namespace and chooses the indexes of devices created in it. */
  get knowsIndexes(): boolean {
    return this.nextIndex !== undefined;
  }

  /** Forgets the names -> indexes it learnt (after devices were deleted from elsewhere), unless it chooses them. */
  forgetIndexes(): void {
    if (this.nextIndex === undefined) this.indexes.clear();
  }

  /** Records the index of a device created here by another handle (a veth peer created from the other side). */
  noteIndex(name: string, index: number): void {
    this.indexes.set(name, index);
  }

  /**
   * Builds the request for a veth pair whose peer is created directly in `peer` (another handle, or this one):
   * `ip link add NAME type veth peer name PEER netns PEERNS`. Indexes are chosen where the handle knows its
   * namespace's indexes.
   */
  vethRequest(
    name: string,
    peer: { handle: NetnsHandle; name: string; mac?: string },
    a: link.LinkAttrs = {},
  ): Request {
    const index = this.reserveIndex(name);
    const peerIndex = peer.handle.reserveIndex(peer.name);
    if (peerIndex === undefined) peer.handle.indexes.delete(peer.name);
    return link.vethAdd({
      ...a,
      name,
      index,
      peer: {
        name: peer.name,
        index: peerIndex,
        nsFd: peer.handle === this ? undefined : peer.handle.fd,
        mac: peer.mac,
      },
    });
  }

  /** Creates a veth pair: `ip -n NS link add NAME type veth peer name PEER netns PEERNS`. */
  addVeth(
    name: string,
    peer: { handle: NetnsHandle; name: string; mac?: string },
    a: link.LinkAttrs = {},
  ): void {
    this.run(this.vethRequest(name, peer, a));
  }

  /**
   * Creates a device of a kind without options: `ip -n NS link add NAME type KIND`. A kind this kernel lacks
   * (dummy, vrf, wireguard on some machines) fails with a NetlinkError naming the missing module.
   */
  addLink(name: string, kind: string, a: link.LinkAttrs = {}): void {
    this.run(link.linkAdd({ ...a, name, kind, index: this.reserveIndex(name) }));
  }

  bridgeRequest(name: string, a: link.LinkAttrs = {}): Request {
    return link.bridgeAdd({ ...a, name, index: this.reserveIndex(name) });
  }

  /** Creates a bridge: `ip -n NS link add NAME type bridge`. */
  addBridge(name: string, a: link.LinkAttrs = {}): void {
    this.run(this.bridgeRequest(name, a));
  }

  /** Creates a macvlan on PARENT: `ip -n NS link add NAME link PARENT type macvlan mode MODE`. */
  addMacvlan(name: string, parent: string, mode: link.MacvlanMode = 'bridge', a: link.LinkAttrs = {}): void {
    this.run(
      link.macvlanAdd({
        ...a,
        name,
        parentIndex: this.indexOf(parent),
        mode,
        index: this.reserveIndex(name),
      }),
    );
  }

  /** Creates a VXLAN device: `ip -n NS link add NAME type vxlan id VNI ...`. */
  addVxlan(
    name: string,
    o: {
      vni: number;
      port?: number;
      local?: string;
      remote?: string;
      group?: string;
      dev?: string;
      learning?: boolean;
    },
    a: link.LinkAttrs = {},
  ): void {
    const parentIndex = o.dev ? this.indexOf(o.dev) : undefined;
    this.run(link.vxlanAdd({ ...a, ...o, name, parentIndex, index: this.reserveIndex(name) }));
  }

  deleteLinkRequest(name: string): Request {
    return link.linkDel({ name });
  }

  /** Deletes a device: `ip -n NS link del NAME`. */
  deleteLink(name: string): void {
    this.run(this.deleteLinkRequest(name));
    this.indexes.delete(name);
  }

  /**
   * Changes a device: `ip -n NS link set dev NAME [up|down] [mtu] [address] [alias] [master M|nomaster]`.
   * `master: null` releases it.
   */
  setLink(name: string, a: Omit<link.LinkAttrs, 'masterIndex' | 'nsFd'> & { master?: string | null }): void {
    this.run(this.setLinkRequest(name, a));
  }

  setLinkRequest(
    name: string,
    a: Omit<link.LinkAttrs, 'masterIndex' | 'nsFd'> & { master?: string | null },
  ): Request {
    const { master, ...rest } = a;
    const masterIndex = master === undefined ? undefined : master === null ? 0 : this.indexOf(master);
    const index = this.indexes.get(name);
    return link.linkSet(index ? { index, name } : { name }, { ...rest, masterIndex });
  }

  /** Moves a device into another namespace: `ip -n NS link set dev NAME netns OTHER`. */
  moveLink(name: string, to: NetnsHandle): void {
    this.run(link.linkSet({ name }, { nsFd: to.fd }));
    this.indexes.delete(name);
    to.indexes.delete(name);
  }

  // ---- addresses -----------------------------------------------------------------------------------------

  /** Addresses in the namespace: `ip -n NS addr show`. */
  addrs(family: 0 | 2 | 10 = 0): addr.AddrInfo[] {
    return this.sock.dumpEach(addr.addrDump(family), addr.parseAddr);
  }

  addrRequest(dev: string, cidr: string, o: { replace?: boolean } = {}): Request {
    return addr.addrAdd({ index: this.indexOf(dev), cidr, dev, replace: o.replace });
  }

  /** Adds an address: `ip -n NS addr add CIDR dev DEV` (IPv6 without DAD, usable at once). */
  addAddr(dev: string, cidr: string): void {
    this.run(this.addrRequest(dev, cidr));
  }

  addrDelRequest(dev: string, cidr: string): Request {
    return addr.addrDel({ index: this.indexOf(dev), cidr, dev });
  }

  /** Removes an address: `ip -n NS addr del CIDR dev DEV`. */
  delAddr(dev: string, cidr: string): void {
    this.run(this.addrDelRequest(dev, cidr));
  }

  // ---- routes --------------------------------------------------------------------------------------------

  /**
   * Routes of every table: `ip -n NS route show table all` (and `ip -6 ...`). With `unicast`, only unicast
   * routes (`ip route show table all type unicast`): the kernel leaves out the local table's entries, several
   * per address (the socket checks dumps strictly), and any it sends all the same (an older kernel) are skipped
   * before they are decoded.
   */
  routes(family?: 4 | 6, o: { unicast?: boolean } = {}): route.RouteInfo[] {
    // One dump of every family (AF_UNSPEC) answers both; it also holds multicast routing families, left out.
    const want = family === 4 ? 2 : family === 6 ? 10 : 0;
    return this.sock.dumpEach(route.routeDump(want, o.unicast ? route.RTN_UNICAST : 0), (m) => {
      const f = m.payload[0];
      if (f !== 2 && f !== 10) return undefined;
      if (o.unicast && m.payload[7] !== route.RTN_UNICAST) return undefined;
      return route.parseRoute(m);
    });
  }

  routeRequest(r: Omit<route.RouteSpec, 'oif'> & { dev?: string }, o: { replace?: boolean } = {}): Request {
    return route.routeAdd({ ...r, oif: r.dev ? this.indexOf(r.dev) : undefined }, o);
  }

  /** Adds a route: `ip -n NS route add DST [via GW] [dev DEV] [metric M] [table T]`. */
  addRoute(r: Omit<route.RouteSpec, 'oif'> & { dev?: string }): void {
    this.run(this.routeRequest(r));
  }

  /** Adds or replaces a route: `ip -n NS route replace ...`. */
  replaceRoute(r: Omit<route.RouteSpec, 'oif'> & { dev?: string }): void {
    this.run(this.routeRequest(r, { replace: true }));
  }

  routeDelRequest(r: Omit<route.RouteSpec, 'oif'> & { dev?: string }): Request {
    return route.routeDel({ ...r, oif: r.dev ? this.indexOf(r.dev) : undefined });
  }

  /** Deletes a route: `ip -n NS route del DST ...`. */
  delRoute(r: Omit<route.RouteSpec, 'oif'> & { dev?: string }): void {
    this.run(this.routeDelRequest(r));
  }

  // ---- neighbours ----------------------------------------------------------------------------------------

  /** ARP/NDP entries: `ip -n NS neigh show`. */
  neighbours(): neigh.NeighInfo[] {
    return this.sock.dumpEach(neigh.neighDump(), neigh.parseNeigh);
  }

  /** Adds a permanent entry: `ip -n NS neigh replace ADDR lladdr MAC dev DEV nud permanent`. */
  addNeighbour(dev: string, address: string, mac: string): void {
    this.run(neigh.neighAdd({ index: this.indexOf(dev), address, mac, dev }));
  }

  // ---- sysctls -------------------------------------------------------------------------------------------

  /** Reads a sysctl as this namespace sees it: `ip netns exec NS sysctl -n KEY`. */
  sysctl(key: string): string {
    return inNetns(this.fd, () => readFileSync(sysctlPath(key), 'utf8').trim());
  }

  /** Reads several sysctls in one visit to the namespace; a key that does not exist reads as undefined. */
  sysctls(keys: readonly string[]): Record<string, string | undefined> {
    return inNetns(this.fd, () => {
      const out: Record<string, string | undefined> = {};
      for (const k of keys) {
        try {
          out[k] = readFileSync(sysctlPath(k), 'utf8').trim();
        } catch {
          out[k] = undefined;
        }
      }
      return out;
    });
  }

  /**
   * Writes a sysctl in this namespace only: `ip netns exec NS sysctl -w KEY=VALUE`. /proc/sys/net resolves to
   * the namespace of the thread that opens it, so the main thread enters the namespace for the write.
   */
  setSysctl(key: string, value: string): void {
    inNetns(this.fd, () => writeFileSync(sysctlPath(key), value));
  }

  /** Writes several sysctls in one visit to the namespace, in order; stops at the first that fails. */
  setSysctls(values: Record<string, string>): void {
    inNetns(this.fd, () => {
      for (const [k, v] of Object.entries(values)) writeFileSync(sysctlPath(k), v);
    });
  }

  // ---- processes -----------------------------------------------------------------------------------------

  /**
   * Starts a process inside this namespace: `ip netns exec NS CMD ...`.
   *
   * The choice: the main thread enters the namespace (setns), forks the child (libuv forks on the calling
   * thread, so the child is born inside) and comes straight back. This costs one process, where `ip netns exec`
   * costs two plus a new mount namespace. What `ip netns exec` adds, and this does not: /sys remounted to show
   * this namespace's devices, and /etc/netns/NS/* bind-mounted over /etc. Tools that read /sys/class/net see
   * the host's devices; pass the command through `ip netns exec` yourself when that matters.
   */
  spawn(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    return inNetns(this.fd, () => spawn(command, args, options));
  }

  /** Runs a process inside this namespace to completion (see `spawn`). */
  spawnSync(
    command: string,
    args: readonly string[] = [],
    options: SpawnSyncOptions = {},
  ): SpawnSyncReturns<Buffer | string> {
    return inNetns(this.fd, () => spawnSync(command, args, options));
  }

  // ---- life ----------------------------------------------------------------------------------------------

  /** Closes the socket and the namespace fd: an open one keeps a deleted namespace alive. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    if (this.fd !== homeNetnsFd) sys.close(this.fd);
  }

  /** Closes the handle and deletes the named namespace (`ip netns del NAME`). */
  destroy(): void {
    this.close();
    if (this.name !== null) deleteNamedNetns(this.name);
  }
}
