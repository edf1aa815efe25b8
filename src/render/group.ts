import type { EdgeView, IfaceView, LabView, LiveState, NodeView } from './model.js';

/**
 * The plain hosts of one bridge LAN drawn as one box: namespaces whose only interface is a port of `bridge`.
 * A 300-node campus is then a few dozen boxes, readable and quick to lay out, instead of 300.
 */
export interface HostGroup {
  /** Name of the group's box in the drawing (not a node of the lab). */
  name: string;
  bridge: string;
  /** The hosts, in file order. */
  members: NodeView[];
  /** The bridge ports the hosts are wired to, in the same order. */
  ports: string[];
}

/** Labs with more nodes than this draw each LAN's plain hosts as one box (smaller labs show every node). */
export const GROUP_ABOVE = 100;
/** A LAN needs at least this many plain hosts to have them grouped. */
const GROUP_MIN = 4;

/** Interface name of the group's box: the members' one name, or the first and last when they differ. */
function span(names: string[]): string {
  const first = names[0];
  const last = names[names.length - 1];
  return names.every((n) => n === first) ? first : `${first} … ${last}`;
}

/** `down` when some member is not `ok` (the box lists which), else `ok`. */
function worst(states: LiveState[]): LiveState {
  return states.every((s) => s === 'ok') ? 'ok' : 'down';
}

/**
 * Groups the plain hosts of each bridge LAN of a lab with more than GROUP_ABOVE nodes. Returns the view to lay
 * out and draw (each group one node, linked to its bridge by one edge, the bridge's member ports one port) and
 * the groups by name; a lab too small, or without such LANs, comes back as it was, with no group.
 */
export function groupLanHosts(view: LabView): { view: LabView; groups: Map<string, HostGroup> } {
  const groups = new Map<string, HostGroup>();
  if (view.nodes.length <= GROUP_ABOVE) return { view, groups };
  const byName = new Map(view.nodes.map((n) => [n.name, n]));
  const edgesOf = new Map<string, EdgeView[]>();
  for (const e of view.edges) {
    for (const n of [e.a.node, e.b.node]) edgesOf.set(n, [...(edgesOf.get(n) ?? []), e]);
  }

  const candidates = new Map<string, { member: NodeView; port: string; edge: EdgeView }[]>();
  for (const node of view.nodes) {
    if (node.kind !== 'netns' || node.ifaces.length !== 1) continue;
    const edges = edgesOf.get(node.name) ?? [];
    if (edges.length !== 1) continue;
    const e = edges[0];
    const far = e.a.node === node.name ? e.b : e.a;
    if (far.node === node.name || byName.get(far.node)?.kind !== 'bridge') continue;
    const list = candidates.get(far.node) ?? [];
    list.push({ member: node, port: far.iface, edge: e });
    candidates.set(far.node, list);
  }

  const grouped = new Set<string>();
  const groupedEdges = new Set<number>();
  const extraNodes: NodeView[] = [];
  const extraEdges: EdgeView[] = [];
  const bridgePorts = new Map<string, { ports: Set<string>; port: IfaceView }>();
  for (const [bridge, list] of candidates) {
    if (list.length < GROUP_MIN) continue;
    const name = `${bridge} hosts`;
    const members = list.map((x) => x.member);
    const ports = list.map((x) => x.port);
    groups.set(name, { name, bridge, members, ports });
    for (const x of list) {
      grouped.add(x.member.name);
      groupedEdges.add(x.edge.link);
    }
    const link = list[0].edge.link;
    const state = worst(list.map((x) => x.edge.state));
    const iface: IfaceView = {
      name: span(members.map((m) => m.ifaces[0].name)),
      addrs: [],
      state: worst(members.map((m) => m.ifaces[0].state)),
      link,
    };
    extraNodes.push({
      name,
      kind: 'netns',
      netns: null,
      ifaces: [iface],
      routes: [],
      forwarding: [],
      bridgeAddrs: [],
      subnets: [...new Set(list.flatMap((x) => x.edge.subnets))],
      state: 'ok',
    });
    const port: IfaceView = { name: span(ports), addrs: [], state, link };
    bridgePorts.set(bridge, { ports: new Set(ports), port });
    extraEdges.push({
      link,
      a: { node: name, iface: iface.name },
      b: { node: bridge, iface: port.name },
      subnets: extraNodes[extraNodes.length - 1].subnets,
      state,
    });
  }
  if (groups.size === 0) return { view, groups };

  const nodes: NodeView[] = [];
  for (const node of view.nodes) {
    if (grouped.has(node.name)) continue;
    const bp = bridgePorts.get(node.name);
    if (!bp) {
      nodes.push(node);
      continue;
    }
    // The bridge keeps its other ports and shows the group's ports as one, where the group's wire ends.
    const ifaces: IfaceView[] = [];
    for (const i of node.ifaces) {
      if (!bp.ports.has(i.name)) ifaces.push(i);
      else if (!ifaces.includes(bp.port)) ifaces.push(bp.port);
    }
    nodes.push({ ...node, ifaces });
  }
  nodes.push(...extraNodes);
  const edges = [...view.edges.filter((e) => !groupedEdges.has(e.link)), ...extraEdges];
  return { view: { ...view, nodes, edges }, groups };
}
