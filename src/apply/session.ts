/**
 * The namespaces one nslab run talks to: the host (the real default namespace, or the namespace named by
 * `--host-netns`) and the lab's namespaces, each through one NetnsHandle opened on first use and closed at the end.
 */
import { NetnsHandle } from '../netns/handle.js';
import { deleteNamedNetns, NetnsError, namedNetnsExists } from '../netns/named.js';

export class KernelSession {
  /** Namespace playing the host, or null for the real default namespace. */
  readonly hostNetns: string | null;
  private readonly handles = new Map<string | null, NetnsHandle>();

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

  /** Creates namespace `ns` (`ip netns add`) and keeps its handle. */
  create(ns: string): NetnsHandle {
    const h = NetnsHandle.create(ns);
    this.handles.set(ns, h);
    return h;
  }

  /** Closes our handle on `ns` and deletes the namespace (`ip netns del`). */
  delete(ns: string): void {
    this.handles.get(ns)?.close();
    this.handles.delete(ns);
    deleteNamedNetns(ns);
  }

  /** Closes every handle (sockets and fds keep namespaces alive). */
  close(): void {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
  }
}
