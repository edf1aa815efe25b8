import { canonicalAddress, isAddress } from '../topology/ip.js';
import type { Expectation, ResolvedLab } from '../topology/types.js';
import { sharedFailureKey } from './describe.js';
import { explainCore, type Target, targets } from './explain.js';
import { LabModel } from './model.js';
import { type TracedStop, Tracer } from './trace.js';
import {
  type Direction,
  type ExpectationResult,
  ExplainError,
  type Explanation,
  type MatrixOptions,
  type PredictedMatrix,
  type PredictedPair,
} from './types.js';

/** The matrix cell of one explanation (`to` is the target node). */
export function toPair(e: Explanation, to: string): PredictedPair {
  const p: PredictedPair = {
    from: e.from,
    to,
    address: e.dst,
    family: e.family,
    verdict: e.verdict,
    hops: e.hops,
  };
  if (e.replyTtl !== undefined) p.replyTtl = e.replyTtl;
  if (e.failure) p.failure = e.failure;
  return p;
}

/** The addresses of `node` the matrix aims at: all of them, or the first of each family (IPv4 first). */
function matrixTargets(m: LabModel, node: string, opts: MatrixOptions): Target[] {
  const all = m.addressesOf(node, opts.family);
  if (opts.addresses !== 'first') return all;
  return all.filter((t, i) => i === 0 || all[i - 1].family !== t.family);
}

/**
 * Predicts every ping of the lab from the file alone: for each ordered pair of L3 nodes (host and netns nodes,
 * bridges that have addresses) and each address of the target on the lab's links (IPv4 and IPv6, or
 * `opts.family`; only the first of each family with `opts.addresses: 'first'`), the verdict, routers crossed and
 * reply TTL. Each echo request and reply is first traced without building its hops (`Tracer`, sharing route
 * lookups and paths per destination across senders). A pair that does not reach is simulated in full, which
 * gives the same failure, sentence and fix as `explain`, except when it ends where an earlier pair did with a
 * failure `describe` shares (no route at the sender, forwarding off): that failure is reused.
 */
export function predictMatrix(lab: ResolvedLab, opts: MatrixOptions = {}): PredictedMatrix {
  const m = new LabModel(lab, opts);
  const tracer = new Tracer(m);
  const nodes = m.l3Nodes();
  const addrs = new Map(nodes.map((n) => [n, matrixTargets(m, n, opts)]));
  const shared = new Map<string, Pick<PredictedPair, 'verdict' | 'failure'>>();
  const pairs: PredictedPair[] = [];
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue;
      for (const t of addrs.get(to)!) {
        const { address, family } = t;
        const fw = tracer.trace(from, family, address);
        if (!fw.delivered) {
          pairs.push(failed(m, from, to, t, shared, 'forward', address, fw.stop?.routers ?? 0, fw.stop));
          continue;
        }
        const bw = tracer.trace(fw.end, family, fw.src, address);
        if (bw.delivered && bw.end === from)
          pairs.push({ from, to, address, family, verdict: 'reach', hops: fw.routers, replyTtl: bw.ttl });
        else {
          const stop = bw.delivered ? undefined : bw.stop;
          pairs.push(failed(m, from, to, t, shared, 'back', fw.src, fw.routers, stop));
        }
      }
    }
  }
  return { nodes, pairs, options: opts };
}

/**
 * A pair that does not reach: when the tracer knows where it stopped (`stop`, in `direction`) with a failure
 * `describe` shares, and an earlier pair stopped there, that pair's verdict and failure (`hops` routers crossed);
 * else `explainCore`'s, remembered for the next pairs when it is the failure the tracer expected.
 */
function failed(
  m: LabModel,
  from: string,
  to: string,
  t: Target,
  shared: Map<string, Pick<PredictedPair, 'verdict' | 'failure'>>,
  direction: Direction,
  dst: string,
  hops: number,
  stop?: TracedStop,
): PredictedPair {
  const key = stop && sharedFailureKey(stop, direction, t.family, dst);
  const known = key ? shared.get(key) : undefined;
  if (known)
    return {
      from,
      to,
      address: t.address,
      family: t.family,
      verdict: known.verdict,
      hops,
      failure: known.failure,
    };
  const p = toPair(explainCore(m, from, to, t).e, to);
  const f = p.failure;
  if (
    key &&
    f &&
    f.node === stop?.node &&
    f.direction === direction &&
    p.hops === hops &&
    p.verdict !== 'reach'
  )
    shared.set(key, { verdict: p.verdict, failure: f });
  return p;
}

function routers(n: number): string {
  return `${n} router${n === 1 ? '' : 's'}`;
}

function judge(x: Expectation, predicted: PredictedPair[]): ExpectationResult {
  const result = (holds: boolean, reason: string) => ({ expectation: x, holds, predicted, reason });
  const addrs = predicted.map((p) => p.address).join(', ');
  if (x.reach) {
    const bad = predicted.find((p) => p.verdict !== 'reach');
    if (bad)
      return result(false, `${x.from} cannot reach ${x.to} (${bad.address}): ${bad.failure?.sentence}`);
    const off = x.hops === undefined ? undefined : predicted.find((p) => p.hops !== x.hops);
    if (off)
      return result(
        false,
        `${x.from} reaches ${off.address} across ${routers(off.hops)}, not ${routers(x.hops!)}`,
      );
    return result(true, `${x.from} reaches ${addrs} across ${routers(predicted[0].hops)}`);
  }
  const ok = predicted.find((p) => p.verdict === 'reach');
  if (ok)
    return result(
      false,
      `${x.from} reaches ${ok.address} across ${routers(ok.hops)}, but the file expects it not to`,
    );
  return result(true, `${x.from} cannot reach ${x.to}: ${predicted[0].failure?.sentence}`);
}

/**
 * Judges the file's `expect:` list against a predicted matrix. A node as `to` means every address it has on the
 * lab's links (of `family` when given): `reach: true` holds when all of them reach (with `hops` routers when
 * given), `reach: false` when none does. Targets outside the matrix (literal addresses of no node, the source
 * itself, addresses a matrix made with `addresses: 'first'` left out) are simulated on the spot.
 */
export function checkExpectations(lab: ResolvedLab, matrix: PredictedMatrix): ExpectationResult[] {
  let model: LabModel | undefined;
  return lab.expect.map((x) => {
    const addr = isAddress(x.to) ? canonicalAddress(x.to) : undefined;
    let predicted = matrix.pairs.filter(
      (p) =>
        p.from === x.from &&
        (addr ? p.address === addr : p.to === x.to) &&
        (!x.family || p.family === x.family),
    );
    // A matrix of first addresses only lacks the node's other addresses: those are simulated too.
    const partial = matrix.options.addresses === 'first' && !addr;
    if (predicted.length === 0 || partial) {
      model ??= new LabModel(lab, matrix.options);
      const m = model;
      const known = new Map(predicted.map((p) => [p.address, p]));
      try {
        predicted = targets(m, x.from, x.to, x.family).map(
          (t) => known.get(t.address) ?? toPair(explainCore(m, x.from, x.to, t).e, x.to),
        );
      } catch (err) {
        if (!(err instanceof ExplainError)) throw err;
        return { expectation: x, holds: false, predicted: [], reason: err.message };
      }
    }
    return judge(x, predicted);
  });
}
