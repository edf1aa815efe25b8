/**
 * Reachability of a lab: predicted from the file (explain), observed live (probe), and the two compared; the
 * `check` loop that waits for a converging lab; the warnings about the kernel's shared neighbour table.
 */
import type { ExplainOptions, MatrixOptions } from '../explain/types.js';
import type { PingMatrixOptions } from '../probe/matrix.js';
import {
  type NeighbourTableStats,
  neighbourLimit,
  neighbourLimitSysctl,
  neighbourTableStats,
} from '../probe/neigh.js';
import { judgeExpectations, routers } from '../reach/matrix.js';
import { neighbourWarnings } from '../reach/neighbours.js';
import type { ExpectationResult, Family, ReachMatrix, Verdict } from '../reach/types.js';
import type { LabWarning, ResolvedLab } from '../topology/types.js';

/** A ping whose live answer differs from what the file predicts. */
export interface Finding {
  from: string;
  /** The address pinged. */
  to: string;
  toNode?: string;
  predicted: Verdict;
  /** Routers the reply crosses, as predicted (when predicted to reach). */
  predictedHops?: number;
  observed: Verdict;
  /** Routers the reply crossed, from its TTL (when reached). */
  observedHops?: number;
  /** One sentence for people. */
  message: string;
}

export interface CheckReport {
  lab: string;
  /** Every `expect:` entry, judged on the live lab. */
  expectations: ExpectationResult[];
  /** Live answers that differ from the prediction (none with `expectOnly`). */
  findings: Finding[];
  /** The live pings of the last attempt. */
  matrix: ReachMatrix;
  /** The prediction the live answers were compared with (absent with `expectOnly`). */
  predicted?: ReachMatrix;
  /** True when every expectation holds and (unless `expectOnly`) nothing differs from the prediction. */
  ok: boolean;
  /** How many times the lab was probed (more than 1 with `waitMs`). */
  attempts: number;
  elapsedMs: number;
}

export interface CheckOptions extends PingMatrixOptions {
  /** Judge only the file's `expect:` entries: ping only their targets, compare nothing with the prediction. */
  expectOnly?: boolean;
  /**
   * Probe again until the check passes or this many milliseconds have gone by (a routing protocol converging);
   * the report is the last attempt's.
   */
  waitMs?: number;
  /** Called after each attempt (for progress output). */
  onAttempt?: (report: CheckReport) => void;
}

/** Sysctls of the host that decide forwarding, read from the kernel for the prediction. */
export const HOST_FORWARDING_SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.ip_default_ttl',
  'net.ipv6.conf.all.hop_limit',
];

/** Explain options that take the live host's forwarding sysctls into account. */
export function liveAssumptions(hostValues: Record<string, string | undefined>): ExplainOptions {
  const v: Record<string, string> = {};
  for (const [k, x] of Object.entries(hostValues)) if (x !== undefined) v[k] = x;
  return { assume: { host: v } };
}

/**
 * Compares the live matrix with the predicted one: reached versus not reached, and, when both reached, the
 * routers the reply crossed (the live count comes from the reply's TTL, so it is compared with the predicted
 * return path, not the request's), unless the prediction leaves them open (equal-cost paths). `lost` and `unreachable` are not told apart: routers rate-limit ICMP errors.
 */
export function compareMatrices(predicted: ReachMatrix, observed: ReachMatrix): Finding[] {
  const byPair = new Map(predicted.results.map((p) => [`${p.from}\u0000${p.to}`, p]));
  const findings: Finding[] = [];
  for (const r of observed.results) {
    const p = byPair.get(`${r.from}\u0000${r.to}`);
    if (!p) continue;
    const live = r.verdict === 'reached';
    const thought = p.verdict === 'reached';
    const base: Finding = {
      from: r.from,
      to: r.to,
      predicted: p.verdict,
      observed: r.verdict,
      message: '',
    };
    if (r.toNode !== undefined) base.toNode = r.toNode;
    if (p.hops !== undefined) base.predictedHops = p.hops;
    if (r.hops !== undefined) base.observedHops = r.hops;
    const target = r.toNode ? `${r.to} (${r.toNode})` : r.to;
    if (live !== thought) {
      const why = p.failure ? ` (the file says: ${p.failure.sentence})` : '';
      base.message = live
        ? `${r.from} reaches ${target} although the file predicts ${p.verdict}${why}: something outside the file lets it through`
        : `${r.from} does not reach ${target} (${r.verdict}${r.reason ? `: ${r.reason}` : ''}) although the file predicts it does`;
      findings.push(base);
    } else if (live && r.hops !== undefined && p.hops !== undefined && r.hops !== p.hops) {
      base.message =
        `${r.from} reaches ${target}, the reply across ${routers(r.hops)} (ttl=${r.replyTtl}); ` +
        `the file predicts the reply across ${routers(p.hops ?? 0)}`;
      findings.push(base);
    }
  }
  return findings;
}

/** The warnings of a lab that is about to go up: the file's, and a neighbour table too small for it. */
export function labWarnings(lab: ResolvedLab): LabWarning[] {
  return [...(lab.warnings ?? []), ...neighbourWarnings(lab, neighbourLimit)];
}

/**
 * Runs `ping` with the kernel's neighbour-table overflow counters (`stats`, from /proc/net/stat) read before
 * and after: when they rose, lost pings may be the table, not the lab, and the matrix says so in `warnings`.
 */
export async function pingWatchingNeighbours(
  ping: () => Promise<ReachMatrix>,
  stats: (family: Family) => NeighbourTableStats | undefined = neighbourTableStats,
  limit: (family: Family) => number | undefined = neighbourLimit,
): Promise<ReachMatrix> {
  const fams = [4, 6] as const;
  const before = fams.map((f) => stats(f));
  const m = await ping();
  fams.forEach((f, i) => {
    const a = before[i];
    const b = stats(f);
    if (!a || !b || b.tableFulls <= a.tableFulls) return;
    const lost = m.results.filter((r) => r.family === f && r.verdict === 'lost').length;
    const note =
      `the kernel's IPv${f} neighbour table was full ${b.tableFulls - a.tableFulls} time(s) during the run ` +
      `(table_fulls in /proc/net/stat/${f === 4 ? 'arp_cache' : 'ndisc_cache'}, ${b.entries} entries now): ` +
      `${lost > 0 ? `the ${lost} lost IPv${f} ping(s)` : 'lost pings'} may be the table overflowing, not the lab. ` +
      `Raise ${neighbourLimitSysctl(f)} (now ${limit(f) ?? 'unknown'}) on the host.`;
    m.warnings = [...(m.warnings ?? []), note];
  });
  return m;
}

/** What `check` needs from a lab: its topology, a way to predict, and a way to ping. */
export interface CheckTarget {
  lab: ResolvedLab;
  /** The prediction, with the host's live sysctls taken into account. */
  predict: (opts: MatrixOptions) => ReachMatrix;
  ping: (opts: PingMatrixOptions) => Promise<ReachMatrix>;
}

/**
 * `nslab check`: pings the live lab (every pair and the `expect:` targets, or only those with `expectOnly`),
 * judges every `expect:` entry, and compares every answer with the prediction. With `waitMs`, probes again,
 * about once a second, until that passes or the time is up.
 */
export async function checkLab(t: CheckTarget, opts: CheckOptions = {}): Promise<CheckReport> {
  const t0 = performance.now();
  const { expectOnly, waitMs = 0, onAttempt, ...pingOpts } = opts;
  const predicted = expectOnly
    ? undefined
    : t.predict({ family: opts.family, addresses: opts.addresses, expectTargets: false });
  const ping: PingMatrixOptions = { ...pingOpts, sweep: !expectOnly, expectTargets: true };
  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    const matrix = await t.ping(ping);
    const expectations = judgeExpectations(t.lab, matrix);
    const findings = predicted ? compareMatrices(predicted, matrix) : [];
    const report: CheckReport = {
      lab: t.lab.name,
      expectations,
      findings,
      matrix,
      ok: expectations.every((e) => e.holds) && findings.length === 0,
      attempts: attempt,
      elapsedMs: performance.now() - t0,
    };
    if (predicted) report.predicted = predicted;
    onAttempt?.(report);
    const next = Math.max(started + 1000, performance.now());
    if (report.ok || next - t0 > waitMs) return report;
    await new Promise((r) => setTimeout(r, next - performance.now()));
  }
}
