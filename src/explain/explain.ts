import { addressFamily, canonicalAddress, isAddress } from '../topology/ip.js';
import type { ResolvedLab, ResolvedRoute } from '../topology/types.js';
import { describe, type Patch } from './describe.js';
import { LabModel } from './model.js';
import { simulate } from './simulate.js';
import { ExplainError, type ExplainOptions, type Explanation, type Family } from './types.js';

export interface Target {
  address: string;
  family: Family;
}

/**
 * The addresses a ping from `from` to `to` may aim at: `to` itself when it is an address, else every address the
 * node `to` has on the lab's links (IPv4 first), limited to `family` when given. Throws ExplainError on unknown
 * nodes, a switch without address as source, or a target without address of the family.
 */
export function targets(m: LabModel, from: string, to: string, family?: Family): Target[] {
  const src = m.node(from);
  if (!src) throw new ExplainError(`There is no node named ${from} in lab ${m.lab.name}.`);
  if (!m.l3Nodes().includes(from))
    throw new ExplainError(`${from} is a bridge without address: a switch cannot send a ping.`);
  const fam = family ? `IPv${family} ` : '';
  if (isAddress(to)) {
    const f = addressFamily(to);
    if (family && f !== family) throw new ExplainError(`${to} is not an IPv${family} address.`);
    return [{ address: canonicalAddress(to), family: f }];
  }
  if (!m.node(to)) throw new ExplainError(`${to} is neither an address nor a node of lab ${m.lab.name}.`);
  const list = m.addressesOf(to, family);
  if (list.length === 0) throw new ExplainError(`${to} has no ${fam}address on the lab's links.`);
  return list;
}

/** The explanation for one address on a prepared model, with the patch that gets past its failure. */
export function explainCore(m: LabModel, from: string, t: Target): { e: Explanation; patch?: Patch } {
  const { address: dst, family } = t;
  const fw = simulate(m, from, family, dst);
  const e: Explanation = {
    from,
    to: dst,
    family,
    verdict: 'lost',
    requestHops: fw.routers,
    ok: false,
    forward: fw.hops,
    back: [],
    notes: fw.notes,
  };
  if (fw.src) e.src = fw.src;
  let patch: Patch | undefined;
  if (fw.stop.kind !== 'delivered' || !fw.src) {
    const d = describe(m, fw, 'forward');
    e.verdict = d.verdict;
    e.failure = d.failure;
    patch = d.patch;
  } else {
    const target = fw.hops[fw.hops.length - 1].node;
    const bw = simulate(m, target, family, fw.src, dst);
    e.back = bw.hops;
    e.notes.push(...bw.notes);
    const end = bw.hops[bw.hops.length - 1].node;
    if (bw.stop.kind !== 'delivered') {
      const d = describe(m, bw, 'back');
      e.failure = d.failure;
      patch = d.patch;
    } else if (end !== from) {
      const sentence =
        `the reply to ${fw.src} is delivered to ${end}, which has the same address as ${from}: ` +
        `a duplicate address, so ${from} never sees it.`;
      e.failure = { node: end, direction: 'back', reason: 'duplicate address', sentence };
    } else {
      e.ok = true;
      e.verdict = 'reached';
      e.replyTtl = bw.ttl;
      if (m.hopsVary(from, family, dst, target, fw.src))
        e.notes.push(
          `equal-cost paths: a routing protocol gives ${from} or a node on the way back several routes as short, and the kernel picks one per flow; the reply may cross another number of routers than the path shown`,
        );
      else e.hops = bw.routers;
    }
  }
  if (e.failure) e.reason = e.failure.reason;
  e.notes.push(...m.refused(e.forward, e.back));
  if (e.notes.length > 1) e.notes = [...new Set(e.notes)];
  const owner = fw.stop.kind === 'delivered' ? fw.hops[fw.hops.length - 1].node : m.holders(dst)[0]?.node;
  if (owner) e.toNode = owner;
  return { e, patch };
}

function applyPatch(lab: ResolvedLab, p: Patch): ResolvedLab {
  const copy = structuredClone(lab);
  const node = copy.nodes.find((n) => n.name === p.node)!;
  const same = (a: ResolvedRoute, b: ResolvedRoute) =>
    a.dst === b.dst && a.via === b.via && a.table === b.table;
  if (p.removeRoute) node.routes = node.routes.filter((r) => !same(r, p.removeRoute!));
  if (p.addRoute) node.routes.push(p.addRoute);
  if (p.sysctls) node.sysctls = { ...node.sysctls, ...p.sysctls };
  return copy;
}

/** Applies fix after fix to a copy of the lab until the ping works; the list of fixes, or undefined when stuck. */
function remedy(lab: ResolvedLab, opts: ExplainOptions, from: string, t: Target, first?: Patch) {
  const steps: string[] = [];
  let cur = lab;
  for (let p = first; p && (p.addRoute || p.removeRoute || p.sysctls) && steps.length < 16; ) {
    if (steps.includes(p.text)) return undefined;
    steps.push(p.text);
    cur = applyPatch(cur, p);
    const next = explainCore(new LabModel(cur, opts), from, t);
    if (next.e.ok) return steps;
    p = next.patch;
  }
  return undefined;
}

/**
 * Why can (or can't) `from` ping `to`? Simulates the echo request and the echo reply through the lab as the Linux
 * kernel would forward them (`ip route get` at each hop, ARP/ND, forwarding and rp_filter sysctls, TTL), and says
 * where and why it fails, with the fix in file terms and, when it can be worked out, every fix needed.
 * `to` is a node (its first address, IPv4 unless `opts.family` says otherwise) or an address.
 */
export function explain(lab: ResolvedLab, from: string, to: string, opts: ExplainOptions = {}): Explanation {
  return explainTargets(lab, from, to, opts, true)[0];
}

/** Like `explain`, for every address of the target node (both families unless `opts.family` is given). */
export function explainAll(
  lab: ResolvedLab,
  from: string,
  to: string,
  opts: ExplainOptions = {},
): Explanation[] {
  return explainTargets(lab, from, to, opts, false);
}

function explainTargets(lab: ResolvedLab, from: string, to: string, opts: ExplainOptions, first: boolean) {
  const m = new LabModel(lab, opts);
  const list = targets(m, from, to, opts.family);
  return (first ? list.slice(0, 1) : list).map((t) => {
    const { e, patch } = explainCore(m, from, t);
    const steps = e.ok ? undefined : remedy(lab, opts, from, t, patch);
    if (steps) e.remedy = steps;
    return e;
  });
}
