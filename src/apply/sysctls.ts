/**
 * Host sysctls several labs share: a small registry per host namespace in the state directory
 * (`+sysctls.json`, `+sysctls@HOST.json`: key -> the value before any lab, the value set, the labs holding it),
 * changed under its own flock. The last lab to let a key go restores it, and only while it still holds the value
 * the labs set: `ip_forward` turned on by two labs stays on until both are down.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { sameSysctl } from '../plan/common.js';
import type { Op } from '../plan/types.js';
import { lockLab } from './lock.js';
import { readStateFileText, stateDir, writeStateFile } from './store.js';

interface Held {
  /** The value before the first lab changed it. */
  original: string;
  /** The value the labs set. */
  value: string;
  /** Labs holding it (names). */
  labs: string[];
}

type Registry = Map<string, Held>;

function registryKey(hostNetns: string | null): string {
  return hostNetns === null ? '+sysctls' : `+sysctls@${hostNetns}`;
}

function read(hostNetns: string | null): Registry {
  const text = readStateFileText(join(stateDir(), `${registryKey(hostNetns)}.json`));
  if (!text) return new Map();
  try {
    const parsed = JSON.parse(text) as Record<string, Held>;
    return new Map(Object.entries(parsed).filter(([, h]) => Array.isArray(h?.labs)));
  } catch {
    return new Map(); // a damaged registry holds nothing: each lab's ledger still knows its previous values
  }
}

function write(hostNetns: string | null, reg: Registry): void {
  writeStateFile(
    join(stateDir(), `${registryKey(hostNetns)}.json`),
    `${JSON.stringify(Object.fromEntries(reg))}\n`,
  );
}

/** Runs `fn` on the registry under its lock and writes it back; an empty registry leaves no file behind. */
async function withRegistry<T>(hostNetns: string | null, fn: (reg: Registry) => T): Promise<T> {
  const lock = await lockLab(registryKey(hostNetns));
  let empty = false;
  try {
    const reg = read(hostNetns);
    const out = fn(reg);
    empty = reg.size === 0;
    if (empty) rmSync(join(stateDir(), `${registryKey(hostNetns)}.json`), { force: true });
    else write(hostNetns, reg);
    return out;
  } finally {
    if (empty) lock.remove();
    else lock.release();
  }
}

/**
 * The plan's host sysctl ops, settled with the other labs: a restore (a key the lab no longer wants) is dropped
 * while another lab holds the key, and otherwise restores the value from before the first lab; a key this lab
 * is the last to hold gets its restore even when its ledger has none (it joined a value another lab had set).
 * `wanted`: the host sysctls the lab wants after the plan (none for `down`); `current`: their values now.
 */
export async function settleHostRestores(
  hostNetns: string | null,
  lab: string,
  ops: Op[],
  hostNode: string,
  wanted: Record<string, string>,
  current: Record<string, string | undefined>,
): Promise<Op[]> {
  return withRegistry(hostNetns, (reg) => {
    const out: Op[] = [];
    const seen = new Set<string>();
    for (const op of ops) {
      if (op.op !== 'sysctl-set' || op.ns !== null || op.key in wanted) {
        out.push(op);
        continue;
      }
      seen.add(op.key);
      const held = reg.get(op.key);
      if (!held) out.push(op);
      else if (held.labs.every((l) => l === lab)) out.push({ ...op, value: held.original });
    }
    for (const [key, held] of reg) {
      if (seen.has(key) || key in wanted || !held.labs.includes(lab) || held.labs.some((l) => l !== lab))
        continue;
      const cur = current[key];
      if (cur === undefined || !sameSysctl(cur, held.value) || sameSysctl(cur, held.original)) continue;
      out.push({ op: 'sysctl-set', node: hostNode, ns: null, key, value: held.original, previous: cur });
    }
    return out;
  });
}

/** Host sysctl keys the lab holds in the registry (their values must be read for `settleHostRestores`). */
export function heldHostSysctls(hostNetns: string | null, lab: string): string[] {
  return [...read(hostNetns)].filter(([, h]) => h.labs.includes(lab)).map(([k]) => k);
}

/**
 * Records, after a successful run, the host sysctls the lab holds: each key it wants, joined when another lab
 * holds it, new when this run changed it (`ops` give the value before); keys it no longer wants are let go.
 */
export async function recordHostSysctls(
  hostNetns: string | null,
  lab: string,
  ops: Op[],
  wanted: Record<string, string>,
): Promise<void> {
  await withRegistry(hostNetns, (reg) => {
    for (const [key, value] of Object.entries(wanted)) {
      const held = reg.get(key);
      const set = ops.find(
        (o): o is Extract<Op, { op: 'sysctl-set' }> =>
          o.op === 'sysctl-set' && o.ns === null && o.key === key,
      );
      if (held) {
        if (!held.labs.includes(lab)) held.labs.push(lab);
        held.value = value;
      } else if (set?.previous !== undefined) {
        reg.set(key, { original: set.previous, value, labs: [lab] });
      }
    }
    for (const [key, held] of reg) {
      if (key in wanted) continue;
      held.labs = held.labs.filter((l) => l !== lab);
      if (held.labs.length === 0) reg.delete(key);
    }
  });
}
