// Shared steps of the plan tests: plan, apply to the kernel model, record the ledger.
import { formatOp } from '../../src/plan/format.js';
import { ledgerAfter } from '../../src/plan/ledger.js';
import type { Ledger, ObservedState, Plan } from '../../src/plan/types.js';
import { planUp } from '../../src/plan/up.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { applyPlan, type KernelModel } from './model.js';

export const NOW = '2025-01-01T00:00:00.000Z';

export function commands(plan: Plan, hostNetns: string | null = null): string[] {
  return plan.ops.map((op) => formatOp(op, { hostNetns }));
}

/** One `nslab up`: plan against `observed`, apply in the model, record the ledger. */
export function up(
  lab: ResolvedLab,
  observed: ObservedState,
  previous?: Ledger,
  hostNetns: string | null = null,
): { plan: Plan; after: KernelModel; ledger: Ledger } {
  const plan = planUp(lab, observed, { hostNetns, ledger: previous });
  const after = applyPlan(observed, plan);
  return { plan, after, ledger: ledgerAfter(previous, lab, plan, { hostNetns, now: NOW }) };
}

/** A deep copy of a lab, edited by `edit`. */
export function edited(lab: ResolvedLab, edit: (copy: ResolvedLab) => void): ResolvedLab {
  const copy = structuredClone(lab);
  edit(copy);
  return copy;
}

export function node(lab: ResolvedLab, name: string) {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`fixture has no node ${name}`);
  return n;
}
