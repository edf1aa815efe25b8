/**
 * What a reachability matrix covers (the L3 nodes and their addresses, the `expect:` targets), how its cells
 * summarise, and the one judge of `expect:` entries, for predicted and observed matrices alike.
 */
import { canonicalAddress, isAddress, parseCidr } from '../topology/ip.js';
import type { Expectation, ResolvedLab, ResolvedNode } from '../topology/types.js';
import type { ExpectationResult, Family, MatrixCell, ReachMatrix, ReachResult, Verdict } from './types.js';

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
export function nodeAddresses(node: ResolvedNode, family?: Family): { address: string; family: Family }[] {
  const v4 = node.kind === 'bridge' ? (node.bridgeIpv4 ?? []) : node.interfaces.flatMap((i) => i.ipv4);
  const v6 = node.kind === 'bridge' ? (node.bridgeIpv6 ?? []) : node.interfaces.flatMap((i) => i.ipv6);
  const out: { address: string; family: Family }[] = [];
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
export function firstPerFamily<T extends { family: Family }>(list: T[]): T[] {
  return list.filter((a, i) => i === 0 || list[i - 1].family !== a.family);
}

/** One ping an `expect:` entry needs. */
export interface ExpectTarget {
  from: string;
  to: string;
  toNode?: string;
  family: Family;
}

/**
 * The pings the `expect:` list needs that `covered(from, address)` says the sweep does not make: a literal
 * address, a node's own addresses, the addresses a sweep of first addresses left out. Only from L3 nodes, and of
 * `family` when given.
 */
export function expectTargets(
  lab: ResolvedLab,
  covered: (from: string, address: string) => boolean,
  family?: Family,
): ExpectTarget[] {
  const nodes = new Map(l3Nodes(lab).map((n) => [n.name, n]));
  const owner = new Map<string, string>();
  for (const n of nodes.values()) {
    for (const a of nodeAddresses(n)) if (!owner.has(a.address)) owner.set(a.address, n.name);
  }
  const out: ExpectTarget[] = [];
  const seen = new Set<string>();
  for (const x of lab.expect) {
    if (!nodes.has(x.from)) continue;
    if (family && x.family && family !== x.family) continue;
    const fam = x.family ?? family;
    const wanted = isAddress(x.to)
      ? [{ address: canonicalAddress(x.to), toNode: owner.get(canonicalAddress(x.to)) }]
      : nodes.has(x.to)
        ? nodeAddresses(nodes.get(x.to)!, fam).map((a) => ({ address: a.address, toNode: x.to }))
        : [];
    for (const w of wanted) {
      const f: Family = w.address.includes(':') ? 6 : 4;
      if (fam && f !== fam) continue;
      const key = `${x.from} ${w.address}`;
      if (seen.has(key) || covered(x.from, w.address)) continue;
      seen.add(key);
      const t: ExpectTarget = { from: x.from, to: w.address, family: f };
      if (w.toNode !== undefined) t.toNode = w.toNode;
      out.push(t);
    }
  }
  return out;
}

const SEVERITY: Record<Verdict, number> = { reached: 0, unreachable: 1, lost: 2 };

/** The worse of two verdicts: `lost` (silence) over `unreachable` (an answer saying no) over `reached`. */
export function worstVerdict(a: Verdict, b: Verdict): Verdict {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/**
 * One cell per ordered pair of distinct nodes of the matrix that has results (`from` pinged some address of
 * `toNode`), rows in node order: the worst verdict over the node's addresses, and the routers crossed.
 */
export function summarizeMatrix(m: ReachMatrix): MatrixCell[] {
  // Nested maps, not `from + to` keys: big matrices have 10⁵ results.
  const by = new Map<string, Map<string, ReachResult[]>>();
  for (const r of m.results) {
    if (r.toNode === undefined || r.toNode === r.from) continue;
    let row = by.get(r.from);
    if (!row) {
      row = new Map();
      by.set(r.from, row);
    }
    const list = row.get(r.toNode);
    if (list) list.push(r);
    else row.set(r.toNode, [r]);
  }
  const cells: MatrixCell[] = [];
  for (const from of m.nodes) {
    const row = by.get(from);
    if (!row) continue;
    for (const toNode of m.nodes) {
      const results = row.get(toNode);
      if (!results) continue;
      let verdict: Verdict = 'reached';
      let hops: number | undefined;
      for (const r of results) {
        verdict = worstVerdict(verdict, r.verdict);
        if (r.hops !== undefined && (hops === undefined || r.hops > hops)) hops = r.hops;
      }
      const cell: MatrixCell = { from, toNode, verdict, results };
      if (hops !== undefined) cell.hops = hops;
      cells.push(cell);
    }
  }
  return cells;
}

/** Counts of a matrix, for its one-line summary: pings, how many reached, and the first that did not. */
export interface MatrixCounts {
  pings: number;
  reached: number;
  failed: number;
  /** The first failures, in matrix order (at most the number asked for). */
  failures: ReachResult[];
}

export function matrixCounts(m: ReachMatrix, keep = 10): MatrixCounts {
  const failures: ReachResult[] = [];
  let reached = 0;
  for (const r of m.results) {
    if (r.verdict === 'reached') reached += 1;
    else if (failures.length < keep) failures.push(r);
  }
  return { pings: m.results.length, reached, failed: m.results.length - reached, failures };
}

/** `1 router`, `2 routers`. */
export function routers(n: number): string {
  return `${n} router${n === 1 ? '' : 's'}`;
}

/**
 * What a failed ping came to: the simulator's sentence when predicted, else what ping printed
 * (`Destination Net Unreachable (from 10.0.1.1)`, `no reply`).
 */
export function failureReason(r: ReachResult): string {
  if (r.failure) return r.failure.sentence;
  if (r.verdict === 'lost') return 'no reply';
  return `${r.reason}${r.reporter ? ` (from ${r.reporter})` : ''}`;
}

/** `10.0.0.2: no reply`, `10.0.0.2: Destination Net Unreachable (from 10.0.1.1)`. */
function failureText(r: ReachResult): string {
  return `${r.to}: ${failureReason(r)}`;
}

/** The results of a matrix an expectation is about: from its node, to its address or every address of its node. */
function resultsFor(x: Expectation, m: ReachMatrix): ReachResult[] {
  const addr = isAddress(x.to) ? canonicalAddress(x.to) : undefined;
  return m.results.filter(
    (r) =>
      r.from === x.from && (addr ? r.to === addr : r.toNode === x.to) && (!x.family || r.family === x.family),
  );
}

/**
 * Judges each of `lab.expect` on a matrix, predicted or observed. A node as `to` means every address it has on
 * the lab's links (of `family` when given): `reach: true` holds when every one is reached (with `hops` routers
 * on the reply's way back when given), `reach: false` when none is. An expectation with nothing in the matrix
 * (a node that is not in the lab or has no address of the family, a target the matrix left out) does not hold.
 */
export function judgeExpectations(lab: ResolvedLab, m: ReachMatrix): ExpectationResult[] {
  const l3 = new Set(l3Nodes(lab).map((n) => n.name));
  return lab.expect.map((x) => {
    const results = resultsFor(x, m);
    const done = (holds: boolean, message: string): ExpectationResult => ({
      expectation: x,
      holds,
      results,
      message,
    });
    const fam = x.family ? `IPv${x.family} ` : '';
    if (results.length === 0) {
      if (!l3.has(x.from)) return done(false, `${x.from} is not a node of the lab that can ping`);
      if (!isAddress(x.to) && !l3.has(x.to))
        return done(false, `${x.to} is neither an address nor a node of the lab`);
      if (!isAddress(x.to)) return done(false, `${x.to} has no ${fam}address on the lab's links`);
      return done(false, `nothing was sent from ${x.from} to ${x.to}`);
    }
    const addrs = results.map((r) => r.to).join(', ');
    const target = isAddress(x.to) ? x.to : `${x.to} (${addrs})`;
    // A literal address is said once: `a cannot reach 10.0.9.9: no reply`.
    const why = (list: ReachResult[]) =>
      list.map((r) => (isAddress(x.to) ? failureReason(r) : failureText(r))).join('; ');
    if (x.reach) {
      const bad = results.filter((r) => r.verdict !== 'reached');
      if (bad.length > 0)
        return done(false, `${x.from} cannot reach ${x.to}: ${bad.map(failureText).join('; ')}`);
      if (x.hops !== undefined) {
        const off = results.filter((r) => r.hops !== x.hops);
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
      const hops = results[0].hops;
      const same = hops !== undefined && results.every((r) => r.hops === hops);
      return done(true, `${x.from} reaches ${target}${same ? ` across ${routers(hops)}` : ''}`);
    }
    const ok = results.filter((r) => r.verdict === 'reached');
    if (ok.length > 0)
      return done(
        false,
        `${x.from} reaches ${ok.map((r) => r.to).join(', ')}, but the file expects ${x.to} to be unreachable`,
      );
    return done(true, `${x.from} cannot reach ${x.to}: ${why(results)}`);
  });
}
