import { expectTargets, firstPerFamily } from '../reach/matrix.js';
import type { ReachMatrix, ReachResult, Verdict } from '../reach/types.js';
import type { ResolvedLab } from '../topology/types.js';
import { sharedFailureKey } from './describe.js';
import { explainCore, type Target } from './explain.js';
import { LabModel } from './model.js';
import { deliveredScratch, type TracedStop, Tracer } from './trace.js';
import type { Direction, Explanation, Failure, MatrixOptions } from './types.js';

/** The reachability result of an explanation: the explanation without its paths, notes and fixes. */
export function toResult(e: Explanation): ReachResult {
  const r: ReachResult = { from: e.from, to: e.to, family: e.family, verdict: e.verdict };
  if (e.toNode !== undefined) r.toNode = e.toNode;
  if (e.hops !== undefined) r.hops = e.hops;
  if (e.requestHops !== undefined) r.requestHops = e.requestHops;
  if (e.replyTtl !== undefined) r.replyTtl = e.replyTtl;
  if (e.reason !== undefined) r.reason = e.reason;
  if (e.failure) r.failure = e.failure;
  return r;
}

/** The addresses of `node` the matrix aims at: all of them, or the first of each family (IPv4 first). */
function matrixTargets(m: LabModel, node: string, opts: MatrixOptions): Target[] {
  const all = m.addressesOf(node, opts.family);
  return opts.addresses === 'first' ? firstPerFamily(all) : all;
}

type Shared = Map<string, { verdict: Verdict; failure: Failure }>;

/**
 * Predicts every ping of the lab from the file alone: for each ordered pair of L3 nodes (host and netns nodes,
 * bridges that have addresses) and each address of the target on the lab's links (IPv4 and IPv6, or
 * `opts.family`; only the first of each family with `opts.addresses: 'first'`), the verdict, the routers the
 * request and the reply cross, and the reply TTL; then (unless `opts.expectTargets` is false) the pings
 * `lab.expect` needs that the sweep does not make. Each echo request and reply is first traced without building
 * its hops (`Tracer`, sharing route lookups and paths per destination across senders). A pair that does not
 * reach is simulated in full, which gives the same failure, sentence and fix as `explain`, except when it ends
 * where an earlier pair did with a failure `describe` shares (no route at the sender, forwarding off): that
 * failure is reused.
 */
export function predictMatrix(lab: ResolvedLab, opts: MatrixOptions = {}): ReachMatrix {
  const m = new LabModel(lab, opts);
  const tracer = new Tracer(m);
  const nodes = m.l3Nodes();
  const addrs = new Map(nodes.map((n) => [n, matrixTargets(m, n, opts)]));
  const shared: Shared = new Map();
  const results: ReachResult[] = [];
  const [fwOut, bwOut] = [deliveredScratch(), deliveredScratch()];
  const predict = (from: string, t: Target, toNode: string | undefined) => {
    const { address, family } = t;
    const fw = tracer.trace(from, family, address, undefined, fwOut);
    if (!fw.delivered) {
      results.push(failed(m, from, t, toNode, shared, 'forward', address, fw.stop?.routers ?? 0, fw.stop));
      return;
    }
    const bw = tracer.trace(fw.end, family, fw.src, address, bwOut);
    if (bw.delivered && bw.end === from) {
      const r: ReachResult = { from, to: address, family, verdict: 'reached' };
      if (toNode !== undefined) r.toNode = toNode;
      // Equal-cost paths of a routing protocol: the reply may cross more or fewer routers than this trace.
      if (!m.hopsVary(from, family, address, fw.end, fw.src)) r.hops = bw.routers;
      r.requestHops = fw.routers;
      r.replyTtl = bw.ttl;
      results.push(r);
    } else {
      const stop = bw.delivered ? undefined : bw.stop;
      results.push(failed(m, from, t, toNode, shared, 'back', fw.src, fw.routers, stop));
    }
  };
  const swept = new Map<string, string[]>();
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue;
      for (const t of addrs.get(to)!) predict(from, t, to);
    }
  }
  if (opts.expectTargets ?? true) {
    for (const [node, list] of addrs)
      for (const t of list) swept.set(t.address, [...(swept.get(t.address) ?? []), node]);
    const covered = (from: string, address: string) => swept.get(address)?.some((n) => n !== from) ?? false;
    for (const x of expectTargets(lab, covered, opts.family))
      predict(x.from, { address: x.to, family: x.family }, x.toNode);
  }
  return { source: 'predicted', nodes, results };
}

/**
 * A pair that does not reach: when the tracer knows where it stopped (`stop`, in `direction`) with a failure
 * `describe` shares, and an earlier pair stopped there, that pair's verdict and failure (`requestHops` routers
 * crossed); else `explainCore`'s, remembered for the next pairs when it is the failure the tracer expected.
 */
function failed(
  m: LabModel,
  from: string,
  t: Target,
  toNode: string | undefined,
  shared: Shared,
  direction: Direction,
  dst: string,
  requestHops: number,
  stop?: TracedStop,
): ReachResult {
  const key = stop && sharedFailureKey(stop, direction, t.family, dst);
  const known = key ? shared.get(key) : undefined;
  if (known) {
    const r: ReachResult = { from, to: t.address, family: t.family, verdict: known.verdict };
    if (toNode !== undefined) r.toNode = toNode;
    r.requestHops = requestHops;
    r.reason = known.failure.reason;
    r.failure = known.failure;
    return r;
  }
  const e = explainCore(m, from, t).e;
  const r = toResult(e);
  if (toNode !== undefined) r.toNode = toNode;
  const f = e.failure;
  if (
    key &&
    f &&
    f.node === stop?.node &&
    f.direction === direction &&
    e.requestHops === requestHops &&
    e.verdict !== 'reached'
  )
    shared.set(key, { verdict: e.verdict, failure: f });
  return r;
}
