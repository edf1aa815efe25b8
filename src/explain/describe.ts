import type { ResolvedRoute } from '../topology/types.js';
import { familyBits, prefixMask, routeDst } from './fib.js';
import type { LabModel } from './model.js';
import { outcome, type Stop, type Walk } from './simulate.js';
import type { Direction, Failure, Family, Verdict } from './types.js';

/** A change to the lab that gets past one failure, both as file text and as an edit `remedy` can apply. */
export interface Patch {
  node: string;
  text: string;
  addRoute?: ResolvedRoute;
  removeRoute?: ResolvedRoute;
  sysctls?: Record<string, string>;
}

export interface Described {
  failure: Failure;
  verdict: Verdict;
  patch?: Patch;
}

/** What ping prints for each ICMP error, per family. */
const WORDS = {
  4: {
    net: 'Destination Net Unreachable',
    host: 'Destination Host Unreachable',
    ttl: 'Time to live exceeded',
    neigh: 'ARP',
  },
  6: {
    net: 'Destination unreachable: No route',
    host: 'Destination unreachable: Address unreachable',
    ttl: 'Time exceeded: Hop limit',
    neigh: 'neighbour discovery',
  },
} as const;

const LOSS = 'ping: 100% packet loss';

function sysctlText(values: Record<string, string>): string {
  return `sysctls: {${Object.entries(values)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')}}`;
}

/** How good a gateway `n` is for reaching `dst`: owns it 4, forwards and gets there 3, gets there 2, has a route 1. */
function gatewayScore(m: LabModel, n: string, family: Family, dst: string): number {
  if (m.isLocal(n, family, dst)) return 4;
  if (!m.lookup(n, family, dst)) return 0;
  if (outcome(m, n, family, dst).stop.kind !== 'delivered') return 1;
  return m.forwarding(n, family).value === '1' ? 3 : 2;
}

/**
 * The best route to add on `node` towards `dst`: the destination's subnet via a neighbour on a connected segment
 * that leads there: one that owns it or forwards and gets there, before one that would need fixes of its own;
 * among those, the one on the shortest path to `dst` in the lab graph (no roundabout through a farther router
 * when the next one is a direct neighbour), then the better of the two. Never via `exclude` (where the packet
 * came from) nor via `avoid` (a gateway known to be dead).
 */
export function routeTo(
  m: LabModel,
  node: string,
  family: Family,
  dst: string,
  exclude?: string,
  avoid?: string,
): { route: ResolvedRoute; via: string } | undefined {
  return m.memo(`routeTo|${node}|${family}|${dst}|${exclude}|${avoid}`, () =>
    findRoute(m, node, family, dst, exclude, avoid),
  );
}

function findRoute(
  m: LabModel,
  node: string,
  family: Family,
  dst: string,
  exclude?: string,
  avoid?: string,
): { route: ResolvedRoute; via: string } | undefined {
  const nm = m.node(node)!;
  const bits = familyBits(family);
  for (const i of nm.ifs.values()) {
    const there = m.segments[i.seg].some(
      (j) => j.node !== node && j.addrs[family].some((a) => a.address === dst),
    );
    if (there) return { route: { dst: `${dst}/${bits}`, family, dev: i.name }, via: '' };
  }
  let best: { rank: number[]; via: string; dev: string } | undefined;
  const hops = m.hopsTo(dst);
  const better = (a: number[], b: number[]) => {
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] < b[k];
    return false;
  };
  for (const i of nm.ifs.values()) {
    for (const j of m.segments[i.seg]) {
      if (j.node === node || j.node === exclude) continue;
      const gw = j.addrs[family].find(
        (a) =>
          a.address !== avoid &&
          i.addrs[family].some((b) => (m.big(a.address) & prefixMask(family, b.len)) === b.net),
      );
      if (!gw) continue;
      const score = gatewayScore(m, j.node, family, dst);
      if (score === 0) continue;
      const rank = [score >= 3 ? 0 : 1, hops.get(j.node) ?? Number.MAX_SAFE_INTEGER, -score];
      if (!best || better(rank, best.rank)) best = { rank, via: gw.address, dev: i.name };
    }
  }
  if (!best) return undefined;
  const prefix = m.subnetOf(dst) ?? `${dst}/${bits}`;
  return { route: { dst: prefix, family, via: best.via, dev: best.dev }, via: best.via };
}

function addRoutePatch(
  m: LabModel,
  node: string,
  family: Family,
  dst: string,
  exclude?: string,
): Patch | undefined {
  const r = routeTo(m, node, family, dst, exclude);
  if (!r) return undefined;
  const hop = r.via ? `via: ${r.via}` : `dev: ${r.route.dev}`;
  return { node, text: `Add to ${node}: \`dst: ${r.route.dst}, ${hop}\``, addRoute: r.route };
}

function noWayFix(node: string, dst: string): string {
  return `No neighbour of ${node} leads to ${dst}: link ${node} towards it, or give its neighbours routes first.`;
}

/**
 * The two commonest failures depend on little but the node: no route at the sender (node and destination) and
 * forwarding off (node and the interface the packet came in by). Their description is shared, under this key,
 * by every walk that ends the same way; the other failures have none (undefined).
 */
export function sharedFailureKey(
  stop: { kind: Stop['kind']; node?: string; inIf?: string },
  direction: Direction,
  family: Family,
  dst: string,
): string | undefined {
  if (stop.kind === 'no-route' && !stop.inIf) return `describe|${direction}|${stop.node}|${family}|${dst}`;
  if (stop.kind === 'no-forward') return `describe|${direction}|${stop.node}|${stop.inIf}|${family}`;
  return undefined;
}

/**
 * Turns the end of a failed walk into a failure (kernel wording, one sentence, the fix in file terms) and the
 * verdict ping would show. `direction` says whether the walk is the echo request or the echo reply.
 */
export function describe(m: LabModel, w: Walk, direction: Direction): Described {
  const key = sharedFailureKey(w.stop, direction, w.family, w.dst);
  if (key) return m.memo(key, () => describeStop(m, w, direction));
  return describeStop(m, w, direction);
}

function describeStop(m: LabModel, w: Walk, direction: Direction): Described {
  const { family, dst, stop } = w;
  const words = WORDS[family];
  const subj = direction === 'forward' ? 'the packet' : 'the reply';
  const subnet = m.subnetOf(dst);
  const sub = subnet && subnet !== `${dst}/${familyBits(family)}` ? ` (${subnet})` : '';
  const prev = w.hops.length >= 2 ? w.hops[w.hops.length - 2].node : undefined;
  const lost = direction === 'back' ? ` (${LOSS})` : '';
  const fail = (
    node: string,
    reason: string,
    sentence: string,
    verdict: Verdict,
    patch?: Patch,
    fix?: string,
  ) => ({
    failure: { node, direction, reason, sentence, fix: patch?.text ?? fix },
    verdict,
    patch,
  });

  switch (stop.kind) {
    case 'delivered':
      throw new Error('describe() called on a delivered walk');
    case 'no-route': {
      const { node, inIf } = stop;
      const patch = addRoutePatch(m, node, family, dst, inIf ? prev : undefined);
      const fix = patch ? undefined : noWayFix(node, dst);
      const reason = 'Network is unreachable';
      if (!inIf && direction === 'forward')
        return fail(
          node,
          reason,
          `${node} has no route to ${dst}${sub}: the kernel answers 'Network is unreachable'.`,
          'unreachable',
          patch,
          fix,
        );
      if (!inIf)
        return fail(
          node,
          reason,
          `the echo arrives at ${node}, but ${node} has no route back to ${dst}${sub}: the reply is never sent (${LOSS}).`,
          'lost',
          patch,
          fix,
        );
      const head = `${subj} reaches ${node} on ${inIf}, but ${node} has no route ${direction === 'back' ? 'back ' : ''}to ${dst}${sub}`;
      if (direction === 'back')
        return fail(node, words.net, `${head}: it is dropped there${lost}.`, 'lost', patch, fix);
      const icmp = w.src ? outcome(m, node, family, w.src) : undefined;
      if (icmp?.stop.kind === 'delivered')
        return fail(
          node,
          words.net,
          `${head}: it answers '${words.net}' (ping: From ${icmp.src} icmp_seq=1 ${words.net}).`,
          'unreachable',
          patch,
          fix,
        );
      return fail(
        node,
        words.net,
        `${head}, and its '${words.net}' cannot get back to ${w.origin} either (${LOSS}).`,
        'lost',
        patch,
        fix,
      );
    }
    case 'no-source':
      return fail(
        stop.node,
        'Cannot assign requested address',
        `${stop.node} has a route to ${dst} but no IPv${family} address to send from.`,
        'unreachable',
        undefined,
        `Give ${stop.node} an IPv${family} address on the interface the route uses.`,
      );
    case 'neigh': {
      const { node, dev, nexthop, entry } = stop;
      const holder = m.holders(nexthop).find((i) => i.node !== node);
      const whose = holder ? ` (it is ${holder.node}'s, on ${holder.name}, elsewhere)` : '';
      const how = entry.via ? `to the gateway ${nexthop}` : `straight to ${nexthop}`;
      // The error is reported by the node that gave up; from a router it must find its way back to the sender.
      const icmp = node === w.origin || !w.src ? undefined : outcome(m, node, family, w.src);
      const errSrc = node === w.origin ? w.src : icmp?.stop.kind === 'delivered' ? icmp.src : undefined;
      const ping =
        direction === 'forward' && errSrc ? ` (ping: From ${errSrc} icmp_seq=1 ${words.host})` : lost;
      const sentence =
        `${node} sends ${subj} ${how} by ${dev} (route \`${entry.text}\`), but nothing on that segment answers ` +
        `${words.neigh} for ${nexthop}${whose}: '${words.host}'${ping}.`;
      let patch: Patch | undefined;
      let fix: string | undefined;
      if (entry.via && entry.route) {
        const r = routeTo(m, node, family, dst, undefined, entry.via);
        if (r?.via) {
          const old = `dst: ${routeDst(entry.network, family)}, via: ${entry.via}`;
          patch = {
            node,
            text: `On ${node}, change the route \`${old}\` to \`via: ${r.via}\``,
            removeRoute: entry.route,
            addRoute: { ...entry.route, via: r.via, dev: r.route.dev },
          };
        }
      } else if (holder && Number((m.subnetOf(nexthop) ?? '/0').split('/')[1]) > entry.len) {
        patch = addRoutePatch(m, node, family, nexthop);
      }
      if (!patch && !entry.via)
        fix = `Give ${nexthop} to an interface on ${node}'s ${dev} segment, or correct the address.`;
      return fail(
        node,
        words.host,
        sentence,
        'lost',
        patch,
        fix ?? (patch ? undefined : noWayFix(node, dst)),
      );
    }
    case 'no-forward': {
      const { node, inIf, sysctl } = stop;
      const assumed =
        sysctl.from === 'default' && m.node(node)!.node.kind === 'host'
          ? ', assuming the host does not already forward'
          : '';
      const sysctls = { [sysctl.key]: '1' };
      return fail(
        node,
        'forwarding disabled, dropped silently',
        `${subj} reaches ${node} on ${inIf}, but ${node} does not forward (${sysctl.key} = ${sysctl.value}${assumed}): ` +
          `it is dropped there${lost}.`,
        'lost',
        { node, text: `Set on ${node}: \`${sysctlText({ [sysctl.key]: '1' })}\``, sysctls },
      );
    }
    case 'rp-filter': {
      const { node, inIf, values, backDev, mode } = stop;
      const on = values.filter((v) => Number(v.value) > 0);
      const setting = on.map((v) => `${v.key} = ${v.value}`).join(', ');
      const reason = 'martian source, dropped by rp_filter';
      if (backDev && mode === 1) {
        const sysctls = Object.fromEntries(on.filter((v) => v.value === '1').map((v) => [v.key, '2']));
        return fail(
          node,
          reason,
          `${subj} reaches ${node} on ${inIf}, but ${node}'s route back to ${w.src} leaves by ${backDev}, and ` +
            `rp_filter is strict (${setting}): the kernel drops it as a martian source${lost}.`,
          'lost',
          {
            node,
            text: `Set on ${node}: \`${sysctlText(sysctls)}\` (loose rp_filter), or route ${w.src} back by ${inIf}`,
            sysctls,
          },
        );
      }
      const patch = w.src ? addRoutePatch(m, node, 4, w.src, undefined) : undefined;
      return fail(
        node,
        reason,
        `${subj} reaches ${node} on ${inIf}, but ${node} has no route back to ${w.src} and rp_filter is on ` +
          `(${setting}): the kernel drops it as a martian source${lost}.`,
        'lost',
        patch,
        patch ? undefined : noWayFix(node, w.src ?? dst),
      );
    }
    case 'ttl': {
      const { node, ttl } = stop;
      const full = outcome(m, w.origin, family, dst, w.src, 1_000_000);
      const total = full.stop.kind === 'delivered' ? full.routers : undefined;
      const key =
        family === 6 && ttl.from === 'default' ? `net.ipv6.conf.${w.hops[0].outIf}.hop_limit` : ttl.key;
      const crosses = total === undefined ? `more than ${w.routers} routers` : `${total} routers`;
      const sentence =
        `${subj} leaves ${w.origin} with TTL ${ttl.value} (${key}), but the path crosses ${crosses}: ` +
        `the TTL runs out at ${node} ('${words.ttl}')${lost}.`;
      if (total !== undefined && total < 255) {
        const sysctls = { [key]: '255' };
        return fail(node, words.ttl, sentence, 'lost', {
          node: w.origin,
          text: `Set on ${w.origin}: \`${sysctlText(sysctls)}\` (at least ${total + 1} is needed)`,
          sysctls,
        });
      }
      const fix =
        total === undefined
          ? undefined
          : `No TTL covers ${total} routers (255 at most): shorten the path between ${w.origin} and ${dst}.`;
      return fail(node, words.ttl, sentence, 'lost', undefined, fix);
    }
    case 'loop': {
      const { node, cycle } = stop;
      const routes = w.hops
        .filter((h) => h.route && cycle.includes(h.node))
        .map((h) => `${h.node}: \`${h.route}\``)
        .filter((t, i, a) => a.indexOf(t) === i);
      return fail(
        node,
        words.ttl,
        `routing loop: ${cycle.join(' -> ')}; ${subj} to ${dst} circles until its TTL runs out ('${words.ttl}')${lost}.`,
        'lost',
        undefined,
        `Fix the route to ${dst} on one of ${[...new Set(cycle)].join(', ')}: ${routes.join('; ')}`,
      );
    }
  }
}
