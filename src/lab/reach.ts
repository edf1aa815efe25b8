/**
 * Reachability of a lab: predicted from the file (explain), observed live (probe), and the two compared.
 */
import type { ExplainOptions, PredictedMatrix, PredictedPair } from '../explain/types.js';
import type { ExpectationCheck, PingMatrix, ProbeResult } from '../probe/types.js';
import { canonicalAddress } from '../topology/ip.js';

/** A pair whose live answer differs from what the file predicts. */
export interface Finding {
  from: string;
  to: string;
  address: string;
  predicted: PredictedPair['verdict'];
  predictedHops?: number;
  observed: ProbeResult['status'];
  observedHops?: number;
  /** One sentence for people. */
  message: string;
}

export interface CheckReport {
  lab: string;
  /** Every `expect:` entry, judged on the live lab. */
  expectations: ExpectationCheck[];
  /** Live answers that differ from the prediction. */
  findings: Finding[];
  matrix: PingMatrix;
  predicted: PredictedMatrix;
  /** True when every expectation holds and nothing differs from the prediction. */
  ok: boolean;
}

/** Sysctls of the host that decide forwarding, read from the kernel for the prediction. */
export const HOST_FORWARDING_SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.ip_default_ttl',
  'net.ipv6.conf.all.hop_limit',
];

function assumed(hostValues: Record<string, string | undefined>): ExplainOptions['assume'] {
  const v: Record<string, string> = {};
  for (const [k, x] of Object.entries(hostValues)) if (x !== undefined) v[k] = x;
  return { host: v };
}

/** Explain options that take the live host's forwarding sysctls into account. */
export function liveAssumptions(hostValues: Record<string, string | undefined>): ExplainOptions {
  return { assume: assumed(hostValues) };
}

/**
 * Compares the live matrix with the predicted one: reached versus not reached, and, when both reached, the
 * number of routers crossed. (`lost` and `unreachable` are not told apart: routers rate-limit ICMP errors.)
 */
export function compareMatrices(predicted: PredictedMatrix, observed: PingMatrix): Finding[] {
  const byPair = new Map(predicted.pairs.map((p) => [`${p.from}\u0000${canonicalAddress(p.address)}`, p]));
  const findings: Finding[] = [];
  for (const r of observed.results) {
    const p = byPair.get(`${r.from}\u0000${canonicalAddress(r.to)}`);
    if (!p) continue;
    const live = r.status === 'reached';
    const thought = p.verdict === 'reach';
    const base = {
      from: r.from,
      to: p.to,
      address: r.to,
      predicted: p.verdict,
      predictedHops: p.hops,
      observed: r.status,
      observedHops: r.hops,
    };
    if (live !== thought) {
      const why = p.failure ? ` (the file says: ${p.failure.sentence})` : '';
      findings.push({
        ...base,
        message: live
          ? `${r.from} reaches ${r.to} although the file predicts ${p.verdict}${why}: something outside the file lets it through`
          : `${r.from} does not reach ${r.to} (${r.status}${r.reason ? `: ${r.reason}` : ''}) although the file predicts it does`,
      });
    } else if (live && r.hops !== undefined && r.hops !== p.hops) {
      findings.push({
        ...base,
        message: `${r.from} reaches ${r.to} across ${r.hops} router(s), the file predicts ${p.hops}`,
      });
    }
  }
  return findings;
}
