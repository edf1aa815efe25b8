/**
 * The live reachability matrix of a lab: every L3 node pings every address of every other one, all at once, and
 * the file's `expect:` list is judged against what came back.
 */
import { canonicalAddress, isAddress, parseCidr } from '../topology/ip.js';
import type { Expectation, ResolvedLab, ResolvedNode } from '../topology/types.js';
import { probe } from './icmp.js';
import type {
  ExpectationCheck,
  MatrixCell,
  PingMatrix,
  ProbeOptions,
  ProbeResult,
  ProbeStatus,
  ProbeTarget,
} from './types.js';

export interface PingMatrixOptions extends ProbeOptions {
  /** Only this address family (default: both). */
  family?: 4 | 6;
  /** Ping every address of each node (default), or only its first one per family: one probe per node pair. */
  addresses?: 'all' | 'first';
  /**
   * Also ping what `lab.expect` names that the sweep does not cover (a literal address, a node's own addresses),
   * so that checkExpectations can judge every expectation (default true).
   */
  expectTargets?: boolean;
}

/**
 * Nodes that take part in routing, in file order: `host` and `netns` nodes, and `bridge` nodes whose bridge
 * device has addresses (a plain switch has no IP stack in play).
 */
export function l3Nodes(lab: ResolvedLab): ResolvedNode[] {
  return lab.nodes.filter(
    (n) => n.kind !== 'bridge' || (n.bridgeIpv4?.length ?? 0) + (n.bridgeIpv6?.length ?? 0) > 0,
  );
}

/**
 * Every address a node has on the lab's links (`ip addr` without the prefix length), IPv4 first then IPv6, in
 * interface order, without duplicates. For a bridge node, the addresses of its bridge device.
 */
export function nodeAddresses(node: ResolvedNode, family?: 4 | 6): { address: string; family: 4 | 6 }[] {
  const v4 = node.kind === 'bridge' ? (node.bridgeIpv4 ?? []) : node.interfaces.flatMap((i) => i.ipv4);
  const v6 = node.kind === 'bridge' ? (node.bridgeIpv6 ?? []) : node.interfaces.flatMap((i) => i.ipv6);
  const out: { address: string; family: 4 | 6 }[] = [];
  const seen = new Set<string>();
  for (const [f, list] of [
    [4, v4],
    [6, v6],
  ] as const) {
    if (family && family !== f) continue;
    for (const cidr of list) {
      const address = parseCidr(cidr)?.address;
      if (!address || seen.has(address)) continue;
      seen.add(address);
      out.push({ address, family: f });
    }
  }
  return out;
}

/** The first address of each family (IPv4 first), as `ping NODE` would pick. */
function firstPerFamily(list: { address: string; family: 4 | 6 }[]) {
  return [list.find((a) => a.family === 4), list.find((a) => a.family === 6)].filter((a) => a !== undefined);
}

/** TTL (hop limit) a node's replies leave with, from its sysctls (64 unless the file raises it). */
export function initialTtl(node: ResolvedNode, family: 4 | 6): number {
  const key = family === 4 ? 'net.ipv4.ip_default_ttl' : 'net.ipv6.conf.all.hop_limit';
  const v = Number(node.sysctls[key]);
  return Number.isInteger(v) && v > 0 ? v : 64;
}

/** Node owning each address on the lab's links (the first one, when an address is duplicated). */
function owners(lab: ResolvedLab): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of l3Nodes(lab)) {
    for (const a of nodeAddresses(n)) if (!m.has(a.address)) m.set(a.address, n.name);
  }
  return m;
}

/**
 * Pings, from every L3 node (inside its namespace: `fdOf(node)` gives the namespace fd, the host's included), every
 * address of every other L3 node on the lab's links, IPv4 and IPv6, in one parallel run of `probe`. With
 * `expectTargets` (the default) the targets of `lab.expect` that this does not cover are pinged in the same run.
 */
export async function pingMatrix(
  lab: ResolvedLab,
  fdOf: (node: string) => number,
  opts: PingMatrixOptions = {},
): Promise<PingMatrix> {
  const nodes = l3Nodes(lab);
  const addrs = new Map(
    nodes.map((n) => {
      const all = nodeAddresses(n, opts.family);
      return [n.name, opts.addresses === 'first' ? firstPerFamily(all) : all];
    }),
  );
  const fds = new Map<string, number>();
  const fd = (node: string) => {
    let v = fds.get(node);
    if (v === undefined) {
      v = fdOf(node);
      fds.set(node, v);
    }
    return v;
  };
  const targets: ProbeTarget[] = [];
  const covered = new Set<string>();
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue;
      for (const a of addrs.get(to.name) ?? []) {
        targets.push({
          from: from.name,
          fd: fd(from.name),
          to: a.address,
          toNode: to.name,
          initialTtl: initialTtl(to, a.family),
        });
        covered.add(`${from.name} ${a.address}`);
      }
    }
  }
  if (opts.expectTargets ?? true) {
    const names = new Set(nodes.map((n) => n.name));
    const owner = owners(lab);
    for (const x of lab.expect) {
      if (!names.has(x.from)) continue;
      if (opts.family && x.family && opts.family !== x.family) continue;
      const family = x.family ?? opts.family;
      const wanted = isAddress(x.to)
        ? [{ address: canonicalAddress(x.to), toNode: owner.get(canonicalAddress(x.to)) }]
        : names.has(x.to)
          ? nodeAddresses(nodes.find((n) => n.name === x.to)!, family).map((a) => ({
              address: a.address,
              toNode: x.to,
            }))
          : [];
      for (const w of wanted) {
        if (family && (w.address.includes(':') ? 6 : 4) !== family) continue;
        const key = `${x.from} ${w.address}`;
        if (covered.has(key)) continue;
        covered.add(key);
        const t: ProbeTarget = { from: x.from, fd: fd(x.from), to: w.address };
        if (w.toNode !== undefined) t.toNode = w.toNode;
        targets.push(t);
      }
    }
  }
  return { results: await probe(targets, opts), nodes: nodes.map((n) => n.name) };
}

const SEVERITY: Record<ProbeStatus, number> = { reached: 0, unreachable: 1, lost: 2 };

/** The worse of two statuses: `lost` (silence) over `unreachable` (an answer saying no) over `reached`. */
export function worstStatus(a: ProbeStatus, b: ProbeStatus): ProbeStatus {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/**
 * One cell per ordered pair of distinct nodes of the matrix that has results (`from` pinged some address of
 * `toNode`), rows in node order: the worst status over the node's addresses, and the routers crossed.
 */
export function summarizeMatrix(m: PingMatrix): MatrixCell[] {
  const by = new Map<string, ProbeResult[]>();
  for (const r of m.results) {
    if (r.toNode === undefined || r.toNode === r.from) continue;
    const key = `${r.from}\u0000${r.toNode}`;
    const list = by.get(key);
    if (list) list.push(r);
    else by.set(key, [r]);
  }
  const cells: MatrixCell[] = [];
  for (const from of m.nodes) {
    for (const toNode of m.nodes) {
      const results = by.get(`${from}\u0000${toNode}`);
      if (!results) continue;
      const status = results.map((r) => r.status).reduce(worstStatus);
      const cell: MatrixCell = { from, toNode, status, results };
      const hops = results.filter((r) => r.hops !== undefined).map((r) => r.hops!);
      if (hops.length > 0) cell.hops = Math.max(...hops);
      cells.push(cell);
    }
  }
  return cells;
}

function routers(n: number): string {
  return `${n} router${n === 1 ? '' : 's'}`;
}

/** `10.0.0.2: Destination Net Unreachable (from 10.0.1.1)`, `10.0.0.2: no reply`. */
function failureText(r: ProbeResult): string {
  if (r.status === 'lost') return `${r.to}: no reply`;
  return `${r.to}: ${r.reason}${r.reporter ? ` (from ${r.reporter})` : ''}`;
}

function observedFor(x: Expectation, m: PingMatrix): ProbeResult[] {
  const addr = isAddress(x.to) ? canonicalAddress(x.to) : undefined;
  return m.results.filter(
    (r) =>
      r.from === x.from && (addr ? r.to === addr : r.toNode === x.to) && (!x.family || r.family === x.family),
  );
}

/**
 * Judges each of `lab.expect` against a live matrix. A node as `to` means every address it has on the lab's links
 * (of `family` when given): `reach: true` holds when every one answered (across `hops` routers when given),
 * `reach: false` when none did. An expectation with nothing observed (a node that is not in the lab or has no
 * address of the family, or a target the matrix did not ping) does not hold.
 */
export function checkExpectations(lab: ResolvedLab, m: PingMatrix): ExpectationCheck[] {
  const l3 = new Set(l3Nodes(lab).map((n) => n.name));
  return lab.expect.map((x) => {
    const observed = observedFor(x, m);
    const done = (holds: boolean, message: string): ExpectationCheck => ({
      expectation: x,
      holds,
      observed,
      message,
    });
    const fam = x.family ? `IPv${x.family} ` : '';
    if (observed.length === 0) {
      if (!l3.has(x.from)) return done(false, `${x.from} is not a node of the lab that can ping`);
      if (!isAddress(x.to) && !l3.has(x.to))
        return done(false, `${x.to} is neither an address nor a node of the lab`);
      return done(
        false,
        `nothing was pinged from ${x.from} to ${x.to}: it has no ${fam}address on the lab's links`,
      );
    }
    const addrs = observed.map((r) => r.to).join(', ');
    const target = isAddress(x.to) ? x.to : `${x.to} (${addrs})`;
    if (x.reach) {
      const bad = observed.filter((r) => r.status !== 'reached');
      if (bad.length > 0) {
        return done(false, `${x.from} cannot reach ${x.to}: ${bad.map(failureText).join('; ')}`);
      }
      if (x.hops !== undefined) {
        const off = observed.filter((r) => r.hops !== x.hops);
        if (off.length > 0) {
          const what = off
            .map((r) =>
              r.hops === undefined ? `${r.to} (hop count unknown)` : `${r.to} across ${routers(r.hops)}`,
            )
            .join(', ');
          return done(false, `${x.from} reaches ${what}, not across ${routers(x.hops)}`);
        }
        return done(true, `${x.from} reaches ${target} across ${routers(x.hops)}`);
      }
      return done(true, `${x.from} reaches ${target}`);
    }
    const ok = observed.filter((r) => r.status === 'reached');
    if (ok.length > 0) {
      return done(
        false,
        `${x.from} reaches ${ok.map((r) => r.to).join(', ')}, but the file expects ${x.to} to be unreachable`,
      );
    }
    return done(true, `${x.from} cannot reach ${x.to}: ${observed.map(failureText).join('; ')}`);
  });
}
