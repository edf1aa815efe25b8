/**
 * Finding things of a resolved lab by the names people type: a link end `node:interface`, and the addresses of
 * a node or of one of its interfaces.
 */
import { parseCidr } from './ip.js';
import type { ResolvedInterface, ResolvedLab, ResolvedNode } from './types.js';

/** The interface `text` (`r1:e12`) names in the lab, or the sentence saying why it names none. */
export function findEnd(
  lab: ResolvedLab,
  text: string,
): { node: ResolvedNode; iface: ResolvedInterface } | { problem: string } {
  const colon = text.indexOf(':');
  if (colon < 1) return { problem: `must be a link end 'node:interface' (like 'r1:e12'), not '${text}'` };
  const [name, ifname] = [text.slice(0, colon), text.slice(colon + 1)];
  const node = lab.nodes.find((x) => x.name === name);
  if (!node) return { problem: `names node '${name}', which is not a node of the lab` };
  const iface = node.interfaces.find((i) => i.name === ifname);
  if (!iface) {
    const has = node.interfaces.map((i) => i.name).join(', ') || 'none';
    return {
      problem: `names no interface: node '${name}' has no '${ifname}' (its interfaces: ${has})`,
    };
  }
  return { node, iface };
}

/**
 * The addresses of a node (every interface's, or a bridge node's br0's) or of one interface, without prefix
 * length, IPv4 first, in interface order, without duplicates.
 */
export function addressesOf(
  node: ResolvedNode,
  o: { iface?: ResolvedInterface; family?: 4 | 6 } = {},
): string[] {
  const ifaces = o.iface ? [o.iface] : node.interfaces;
  const v4 = o.iface || node.kind !== 'bridge' ? ifaces.flatMap((i) => i.ipv4) : (node.bridgeIpv4 ?? []);
  const v6 = o.iface || node.kind !== 'bridge' ? ifaces.flatMap((i) => i.ipv6) : (node.bridgeIpv6 ?? []);
  const out: string[] = [];
  for (const [family, list] of [
    [4, v4],
    [6, v6],
  ] as const) {
    if (o.family !== undefined && o.family !== family) continue;
    for (const cidr of list) {
      const address = parseCidr(cidr)?.address;
      if (address && !out.includes(address)) out.push(address);
    }
  }
  return out;
}
