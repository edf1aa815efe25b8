/**
 * Planning a lab's named processes (`processes:`): which to start and which to stop so that each declared
 * process runs, as declared, once. Pure, like the rest of the planner.
 */
import type { ResolvedLab, ResolvedNode, ResolvedProcess } from '../topology/types.js';
import { targetOf } from './common.js';
import type { Ledger, ObservedState, Op } from './types.js';

/** Stable text of what starting a process depends on: its entry, and its node's view. */
function declaration(p: ResolvedProcess, node: ResolvedNode): string {
  return JSON.stringify([
    p.command,
    p.ready ?? null,
    p.timeoutS ?? null,
    node.files ?? null,
    node.private ?? null,
  ]);
}

export interface ProcessPlanInput {
  desired: ResolvedLab;
  observed: ObservedState;
  ledger?: Ledger;
  /** Nodes whose namespace the plan creates: everything starts there. */
  created: ReadonlySet<string>;
  /** Namespaces the lab owns (processes are only looked after there). */
  owned: ReadonlySet<string>;
}

/**
 * The process ops of `up`: `process-stop` of processes that run but the file no longer declares, or declares
 * otherwise (their entry or their node's `files:`/`private:` changed), then `process-start`, in file order, of
 * every declared process that does not run (or was just stopped). A process that runs as declared is left
 * alone: a second `up` of an unchanged lab changes nothing, and starts what has exited.
 */
export function planProcesses(input: ProcessPlanInput): { stops: Op[]; starts: Op[] } {
  const { desired, observed, ledger, created, owned } = input;
  const stops: Op[] = [];
  const starts: Op[] = [];
  const applied = new Map((ledger?.applied.nodes ?? []).map((n) => [n.name, n]));
  for (const node of desired.nodes) {
    if (node.kind === 'host' || !node.netns) continue;
    const fresh = created.has(node.name);
    if (!fresh && !owned.has(node.netns)) continue;
    const seen = fresh ? [] : (observed.nodes[node.name]?.processes ?? []);
    const before = applied.get(node.name);
    const wanted = new Map((node.processes ?? []).map((p) => [p.name, p]));
    for (const o of seen) {
      if (!o.running) continue;
      const p = wanted.get(o.name);
      const was = before?.processes?.find((x) => x.name === o.name);
      if (p && was && declaration(p, node) === declaration(was, before!)) continue;
      stops.push({ op: 'process-stop', ...targetOf(node), name: o.name, pid: o.pid });
    }
    const stopped = new Set(stops.flatMap((s) => (s.node === node.name && 'name' in s ? [s.name] : [])));
    for (const p of node.processes ?? []) {
      if (seen.some((o) => o.name === p.name && o.running) && !stopped.has(p.name)) continue;
      const op: Op = { op: 'process-start', ...targetOf(node), name: p.name, command: p.command };
      if (p.ready) op.ready = p.ready;
      if (p.timeoutS !== undefined) op.timeoutS = p.timeoutS;
      starts.push(op);
    }
  }
  return { stops, starts };
}
