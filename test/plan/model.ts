// A small model of the kernel for plan tests: applies ops to an ObservedState the way the kernel would, and
// refuses what the kernel refuses (EEXIST, missing device, gateway not on a connected subnet, device down...),
// so that an op order that could not run fails here too.

import { lossChain } from '../../src/plan/faults.js';
import type {
  ObservedLink,
  ObservedNamespace,
  ObservedRoute,
  ObservedState,
  Op,
  Plan,
} from '../../src/plan/types.js';
import { parseCidr, prefixContains } from '../../src/topology/ip.js';

export type KernelModel = ObservedState & {
  peers?: Record<string, string>;
  executed?: string[];
  nextPid?: number;
};

export class KernelError extends Error {}

function fail(op: Op, why: string): never {
  throw new KernelError(`${op.op} in ${op.node}: ${why}`);
}

function space(s: KernelModel, op: Op, node = op.node, ns = op.ns): ObservedNamespace {
  if (ns !== null && !s.namespaces.includes(ns)) fail(op, `no namespace ${ns}`);
  let n = s.nodes[node];
  if (!n) {
    if (ns !== null) fail(op, `no state for ${node}`);
    n = { links: [], addrs: [], routes: [], sysctls: {} };
    s.nodes[node] = n;
  }
  return n;
}

function device(n: ObservedNamespace, op: Op, name: string): ObservedLink {
  return n.links.find((l) => l.name === name) ?? fail(op, `no device ${name}`);
}

function newLink(s: KernelModel, name: string, kind: string, mtu = 1500, mac?: string): ObservedLink {
  const index = Math.max(1, ...Object.values(s.nodes).flatMap((n) => n.links.map((l) => l.index))) + 1;
  const hex = index.toString(16).padStart(2, '0');
  return { name, index, kind, up: false, mtu, mac: mac ?? `aa:bb:cc:00:00:${hex}` };
}

function removeDevice(s: KernelModel, node: string, name: string): void {
  const n = s.nodes[node];
  if (n) {
    n.links = n.links.filter((l) => l.name !== name);
    n.addrs = n.addrs.filter((a) => a.dev !== name);
    n.routes = n.routes.filter((r) => r.dev !== name);
    if (n.qdiscs) n.qdiscs = n.qdiscs.filter((q) => q.dev !== name);
  }
  const key = `${node}/${name}`;
  const peer = s.peers?.[key];
  if (peer && s.peers) {
    delete s.peers[key];
    delete s.peers[peer];
    const [pn, pd] = peer.split('/');
    removeDevice(s, pn, pd);
  }
}

const defaultMetric = (family: 4 | 6) => (family === 6 ? 1024 : 0);
const metric = (r: { metric?: number; family: 4 | 6 }) => r.metric ?? defaultMetric(r.family);
const sameKey = (a: ObservedRoute, b: ObservedRoute) =>
  a.family === b.family && a.dst === b.dst && a.table === b.table && metric(a) === metric(b);

function routeOf(n: ObservedNamespace, op: Extract<Op, { route: unknown }>): ObservedRoute {
  const r = op.route;
  const m = metric(r);
  const out: ObservedRoute = { dst: r.dst, family: r.family, table: r.table ?? 254, protocol: 'boot' };
  if (r.via !== undefined) out.via = r.via;
  if (r.dev !== undefined) out.dev = r.dev;
  if (m !== 0 || r.family === 6) out.metric = m;
  if (op.op === 'route-del') return out;
  if (r.dev !== undefined) {
    const dev = device(n, op, r.dev);
    if (r.family === 4 && !dev.up) fail(op, `ENETDOWN: ${r.dev} is down`);
  }
  if (r.family === 4 && r.via !== undefined) {
    const via = r.via;
    const onLink = n.routes.some(
      (k) =>
        k.protocol === 'kernel' && (r.dev === undefined || k.dev === r.dev) && prefixContains(k.dst, via),
    );
    if (!onLink) fail(op, `ENETUNREACH: gateway ${via} is on no connected subnet`);
  }
  return out;
}

function step(s: KernelModel, op: Op): void {
  switch (op.op) {
    case 'netns-add': {
      if (!op.ns || s.namespaces.includes(op.ns)) fail(op, `EEXIST namespace ${op.ns}`);
      s.namespaces.push(op.ns);
      s.nodes[op.node] = {
        links: [{ name: 'lo', index: 1, up: false, mtu: 65536 }],
        addrs: [],
        routes: [],
        sysctls: {},
      };
      return;
    }
    case 'netns-del': {
      if (!op.ns || !s.namespaces.includes(op.ns)) fail(op, `ENOENT namespace ${op.ns}`);
      for (const l of s.nodes[op.node]?.links ?? []) removeDevice(s, op.node, l.name);
      delete s.nodes[op.node];
      s.namespaces = s.namespaces.filter((x) => x !== op.ns);
      return;
    }
    case 'veth-add': {
      const a = space(s, op);
      const b = space(s, op, op.peer.node, op.peer.ns);
      if (a.links.some((l) => l.name === op.name)) fail(op, `EEXIST ${op.name}`);
      if (b.links.some((l) => l.name === op.peer.name)) fail(op, `EEXIST ${op.peer.name}`);
      a.links.push(newLink(s, op.name, 'veth', op.mtu, op.mac));
      b.links.push(newLink(s, op.peer.name, 'veth', op.mtu, op.peerMac));
      s.peers ??= {};
      s.peers[`${op.node}/${op.name}`] = `${op.peer.node}/${op.peer.name}`;
      s.peers[`${op.peer.node}/${op.peer.name}`] = `${op.node}/${op.name}`;
      return;
    }
    case 'bridge-add': {
      const n = space(s, op);
      if (n.links.some((l) => l.name === op.name)) fail(op, `EEXIST ${op.name}`);
      n.links.push(newLink(s, op.name, 'bridge'));
      return;
    }
    case 'link-del': {
      device(space(s, op), op, op.name);
      removeDevice(s, op.node, op.name);
      return;
    }
    case 'link-set': {
      const n = space(s, op);
      const l = device(n, op, op.name);
      if (op.master !== undefined && device(n, op, op.master).kind !== 'bridge')
        fail(op, 'master is no bridge');
      if (op.mtu !== undefined) l.mtu = op.mtu;
      if (op.mac !== undefined) l.mac = op.mac.toLowerCase();
      if (op.alias !== undefined) l.alias = op.alias;
      if (op.master !== undefined) l.master = op.master;
      if (op.up !== undefined) l.up = op.up;
      return;
    }
    case 'addr-add': {
      const n = space(s, op);
      device(n, op, op.dev);
      const c = parseCidr(op.cidr) ?? fail(op, `bad cidr ${op.cidr}`);
      const cidr = `${c.address}/${c.prefixLen}`;
      if (n.addrs.some((a) => a.dev === op.dev && a.cidr === cidr)) fail(op, `EEXIST ${cidr}`);
      n.addrs.push({ dev: op.dev, cidr, family: c.family });
      if (!n.routes.some((r) => r.protocol === 'kernel' && r.dev === op.dev && r.dst === c.network)) {
        n.routes.push({
          dst: c.network,
          family: c.family,
          dev: op.dev,
          table: 254,
          protocol: 'kernel',
          ...(c.family === 6 ? { metric: 256 } : {}),
        });
      }
      return;
    }
    case 'addr-del': {
      const n = space(s, op);
      const c = parseCidr(op.cidr) ?? fail(op, `bad cidr ${op.cidr}`);
      const on = n.addrs.filter((a) => a.dev === op.dev);
      const victim =
        on.find((a) => a.cidr === `${c.address}/${c.prefixLen}`) ?? fail(op, `EADDRNOTAVAIL ${op.cidr}`);
      const gone = new Set([victim]);
      if (c.family === 4) {
        // promote_secondaries off: deleting a subnet's primary deletes its secondaries.
        const sameNet = on.filter((a) => a.family === 4 && parseCidr(a.cidr)?.network === c.network);
        if (sameNet[0] === victim) for (const a of sameNet) gone.add(a);
      }
      n.addrs = n.addrs.filter((a) => !gone.has(a));
      const left = n.addrs.filter((a) => a.dev === op.dev);
      if (!left.some((a) => parseCidr(a.cidr)?.network === c.network)) {
        n.routes = n.routes.filter(
          (r) => !(r.protocol === 'kernel' && r.dev === op.dev && r.dst === c.network),
        );
      }
      if (c.family === 4 && !left.some((a) => a.family === 4)) {
        // The last IPv4 address gone: the kernel flushes every IPv4 route through the device.
        n.routes = n.routes.filter((r) => !(r.family === 4 && r.dev === op.dev));
      }
      return;
    }
    case 'route-add':
    case 'route-replace': {
      const n = space(s, op);
      const r = routeOf(n, op);
      const i = n.routes.findIndex((x) => sameKey(x, r));
      if (i >= 0 && op.op === 'route-add') fail(op, `EEXIST route ${r.dst}`);
      if (i >= 0) n.routes[i] = r;
      else n.routes.push(r);
      return;
    }
    case 'route-del': {
      const n = space(s, op);
      const r = routeOf(n, op);
      const i = n.routes.findIndex(
        (x) =>
          x.family === r.family &&
          x.dst === r.dst &&
          x.table === r.table &&
          (op.route.metric === undefined || metric(x) === metric(r)) &&
          (r.via === undefined || x.via === r.via) &&
          (r.dev === undefined || x.dev === r.dev),
      );
      if (i < 0) fail(op, `ESRCH route ${r.dst}`);
      n.routes.splice(i, 1);
      return;
    }
    case 'sysctl-set': {
      const n = space(s, op);
      const cur = n.sysctls[op.key];
      if (op.previous !== undefined && cur !== op.previous)
        fail(op, `${op.key} is ${cur}, plan read ${op.previous}`);
      n.sysctls[op.key] = op.value;
      return;
    }
    case 'exec': {
      space(s, op);
      s.executed ??= [];
      s.executed.push(`${op.node}: ${op.command}`);
      return;
    }
    case 'qdisc-replace': {
      const n = space(s, op);
      device(n, op, op.dev);
      n.qdiscs = [
        ...(n.qdiscs ?? []).filter((q) => q.dev !== op.dev),
        { dev: op.dev, kind: op.qdisc.kind, qdisc: op.qdisc },
      ];
      return;
    }
    case 'qdisc-del': {
      const n = space(s, op);
      device(n, op, op.dev);
      if (!n.qdiscs?.some((q) => q.dev === op.dev)) fail(op, `ENOENT: ${op.dev} has only its default qdisc`);
      n.qdiscs = n.qdiscs.filter((q) => q.dev !== op.dev);
      return;
    }
    case 'nft-loss-add':
    case 'nft-partition': {
      const n = space(s, op);
      const chain =
        op.op === 'nft-partition' ? 'partition_in' : lossChain(op.direction, op.dev, op.basisPoints);
      n.nftChains = [...new Set([...(n.nftChains ?? []), chain])];
      return;
    }
    case 'nft-chain-del': {
      const n = space(s, op);
      if (!n.nftChains?.includes(op.chain)) fail(op, `ENOENT: no chain ${op.chain}`);
      n.nftChains = n.nftChains.filter((c) => c !== op.chain);
      return;
    }
    case 'nft-table-del': {
      const n = space(s, op);
      if (n.nftChains === undefined) fail(op, `ENOENT: no table ${op.table}`);
      delete n.nftChains;
      return;
    }
    case 'process-start': {
      const n = space(s, op);
      if (n.processes?.some((p) => p.name === op.name && p.running))
        fail(op, `${op.name} runs already: a second would fight it for its ports and files`);
      s.nextPid = (s.nextPid ?? 1000) + 1;
      const pid = s.nextPid;
      n.processes = [
        ...(n.processes ?? []).filter((p) => p.name !== op.name),
        { name: op.name, pid, running: true },
      ];
      return;
    }
    case 'process-stop': {
      const n = space(s, op);
      const p = n.processes?.find((x) => x.pid === op.pid && x.running);
      if (!p) fail(op, `ESRCH: no process ${op.pid}`);
      p.running = false;
      return;
    }
  }
}

/** Applies the ops in order to a copy of `start`, as the kernel would; throws KernelError where it would fail. */
export function applyPlan(start: ObservedState, plan: Plan | Op[]): KernelModel {
  const s: KernelModel = structuredClone(start);
  for (const op of Array.isArray(plan) ? plan : plan.ops) step(s, op);
  return s;
}
