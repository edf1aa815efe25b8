/**
 * The namespaces one nslab run talks to: the host (the real default namespace, or the namespace named by
 * `--host-netns`) and the lab's namespaces, each through one NetnsHandle opened on first use and closed at the end.
 */
import { type CreateOptions, NetnsHandle } from '../netns/handle.js';
import { deleteNamedNetns, NetnsError, type NetnsId, namedNetnsExists } from '../netns/named.js';

/**
 * Sysctls nslab writes in every lab namespace it creates: for labs with IPv6, duplicate address detection off, so
 * that addresses (link-local ones included) are usable at once instead of 'tentative' for a second, during which
 * the first ping across a router is lost. IPv4-only labs get none: every /proc/sys access in a namespace costs a
 * walk past the sysctl entries of every other namespace that has one (the dentries of all namespaces' `net`
 * directories hash alike), so writing one per namespace grows with the square of the lab's size.
 */
export function labNetnsSysctls(ipv6: boolean): Record<string, string> {
  return ipv6 ? { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' } : {};
}

/**
 * Sysctls nslab writes in a lab namespace when it turns forwarding on there: ICMP error rate limiting off, so
 * that every probe of a matrix gets its answer (the default limit turns most 'Destination Net Unreachable' into
 * silence). Only routers need it: a namespace that does not forward drops what is not for it without an error,
 * and echo replies are never limited.
 */
export function routerSysctls(ipv6: boolean): Record<string, string> {
  return ipv6
    ? { 'net.ipv4.icmp_ratelimit': '0', 'net.ipv6.icmp.ratelimit': '0' }
    : { 'net.ipv4.icmp_ratelimit': '0' };
}

export class KernelSession {
  /** Namespace playing the host, or null for the real default namespace. */
  readonly hostNetns: string | null;
  private readonly handles = new Map<string | null, NetnsHandle>();
  /** Identity of each lab namespace this session may delete: made by it, or proven the lab's. */
  private readonly ids = new Map<string, NetnsId>();

  constructor(hostNetns: string | null) {
    if (hostNetns !== null && !namedNetnsExists(hostNetns)) {
      throw new NetnsError(
        hostNetns,
        `host namespace ${hostNetns} does not exist (create it with: ip netns add ${hostNetns})`,
        'ENOENT',
      );
    }
    this.hostNetns = hostNetns;
  }

  /** The handle on namespace `ns` (null = the host), opened now if needed. */
  handle(ns: string | null): NetnsHandle {
    let h = this.handles.get(ns);
    if (!h) {
      if (ns === null) h = this.hostNetns === null ? NetnsHandle.home() : NetnsHandle.open(this.hostNetns);
      else h = NetnsHandle.open(ns);
      this.handles.set(ns, h);
    }
    return h;
  }

  /** True when `ns` stands for the host. */
  isHost(ns: string | null): boolean {
    return ns === null;
  }

  /**
   * Creates namespace `ns` (`ip netns add`), with `sysctls` written inside, and keeps its handle and its
   * identity (given to `opts.record` too, before the namespace gets its name).
   */
  create(ns: string, sysctls: Record<string, string> = {}, opts: CreateOptions = {}): NetnsHandle {
    const h = NetnsHandle.create(ns, {
      sysctls,
      ...opts,
      record: (id) => {
        this.ids.set(ns, id);
        opts.record?.(id);
      },
    });
    this.handles.set(ns, h);
    return h;
  }

  /** Records that `ns`, with identity `id`, is the lab's: this session may delete it. */
  own(ns: string, id: NetnsId): void {
    this.ids.set(ns, id);
  }

  /** The identity of a namespace of the lab, when known. */
  idOf(ns: string): NetnsId | undefined {
    return this.ids.get(ns);
  }

  /**
   * Closes our handle on `ns` and deletes the namespace (`ip netns del`), only if it still is the namespace the
   * lab owns (never one that replaced it meanwhile). Returns false when it was left.
   */
  delete(ns: string): boolean {
    this.handles.get(ns)?.close();
    this.handles.delete(ns);
    const id = this.ids.get(ns);
    if (!id) throw new Error(`namespace ${ns} is not known to be the lab's: refusing to delete it`);
    this.ids.delete(ns);
    return deleteNamedNetns(ns, id);
  }

  /** Makes every handle forget the device indexes it learnt (devices were deleted, maybe from elsewhere). */
  forgetIndexes(): void {
    for (const h of this.handles.values()) h.forgetIndexes();
  }

  /** Closes every handle (sockets and fds keep namespaces alive). */
  close(): void {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
  }
}
