/**
 * Which links of a lab are down now, as the kernel shows them: an end set down (`ip link set dev X down`) or
 * without carrier (its peer is down). What a routing protocol reacts to, so what its prediction must leave out.
 */
import type { KernelSession } from '../apply/session.js';
import type { LinkInfo } from '../netlink/link.js';
import type { ResolvedLab } from '../topology/types.js';

/** Indexes of the lab's links with an end down or without carrier (one `ip link show` per namespace). */
export function linksDown(session: KernelSession, lab: ResolvedLab): number[] {
  const devices = new Map<string, Map<string, LinkInfo>>();
  for (const n of lab.nodes) {
    try {
      const h = session.handle(n.kind === 'host' ? null : n.netns);
      devices.set(n.name, new Map(h.links().map((l) => [l.name, l])));
    } catch {
      // a namespace that is not there: its links are not down, they are missing (status says so)
    }
  }
  return lab.links
    .filter((l) =>
      l.endpoints.some((e) => {
        const d = devices.get(e.node)?.get(e.interface);
        return d !== undefined && (!d.up || !d.lowerUp);
      }),
    )
    .map((l) => l.index);
}
