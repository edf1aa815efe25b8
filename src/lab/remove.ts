/**
 * `down`, `down --force` and `gc`: the lab-level steps around the apply layer's teardown and recovery (the lock,
 * the ledger, the host sysctls the lab holds).
 */

import type { ExecuteOptions } from '../apply/execute.js';
import { removeLabDir } from '../apply/labdir.js';
import { lockLab } from '../apply/lock.js';
import { findOrphans, type Orphans, type Removal, removeOrphans } from '../apply/recover.js';
import { KernelSession } from '../apply/session.js';
import { LedgerDamagedError, labKey, readLedger, removeLedger } from '../apply/store.js';
import { heldHostSysctls, recordHostSysctls, settleHostRestores } from '../apply/sysctls.js';
import { type StoppedInNode, teardown } from '../apply/teardown.js';
import { removeFaults } from '../faults/actions.js';
import { NetnsHandle } from '../netns/handle.js';
import { assertHostMountNamespace, namedNetnsExists, namedNetnsId } from '../netns/named.js';
import type { Plan } from '../plan/types.js';

export interface DownOptions {
  onProgress?: ExecuteOptions['onProgress'];
  /** Grace period of the lab's processes between SIGTERM and SIGKILL, in ms (default 3000; 0 kills at once). */
  graceMs?: number;
  /**
   * Recover from the kernel alone, whatever the ledger says (or when it is damaged): remove what carries the
   * lab's mark (its namespaces, marked by their loopback, and its marked devices) that no other lab's ledger
   * owns, and the processes in those namespaces.
   */
  force?: boolean;
}

export interface DownResult {
  lab: string;
  plan: Plan;
  /** False when the lab was not up. */
  changed: boolean;
  durationMs: number;
  /** Processes that were running inside the lab's namespaces, stopped before the namespaces went. */
  stopped: StoppedInNode[];
  /** What was left alone and why (namespaces under the lab's names that are someone else's). */
  notes: string[];
}

/** Takes the lab down (see Lab.down). */
export async function removeLab(
  name: string,
  hostNetns: string | null,
  opts: DownOptions = {},
): Promise<DownResult> {
  const t0 = performance.now();
  assertHostMountNamespace();
  const key = labKey(name, hostNetns);
  const lock = await lockLab(key);
  try {
    if (opts.force) {
      const r = await forceRemove(name, hostNetns, key, opts);
      removeLedger(name, hostNetns);
      removeLabDir(name, hostNetns);
      return { ...r, durationMs: performance.now() - t0 };
    }
    const ledger = readLedger(name, hostNetns);
    if (!ledger)
      return {
        lab: name,
        plan: { lab: name, ops: [] },
        changed: false,
        durationMs: 0,
        stopped: [],
        notes: [],
      };
    const r = await teardown(ledger, { graceMs: opts.graceMs, onProgress: opts.onProgress });
    // What the lab put in the host namespace besides devices (its nftables table), which no namespace takes along.
    if (hostNetns === null || namedNetnsExists(hostNetns)) {
      const host = new KernelSession(hostNetns);
      try {
        r.plan.ops.push(...(await removeFaults(host, ledger.applied)));
      } finally {
        host.close();
      }
    }
    removeLedger(name, hostNetns);
    removeLabDir(name, hostNetns);
    return {
      lab: name,
      plan: r.plan,
      changed: true,
      durationMs: performance.now() - t0,
      stopped: r.stopped,
      notes: r.notes,
    };
  } finally {
    // The lock file goes with the ledger (kept while a damaged or partial ledger is still there).
    lock.finish();
  }
}

/** The plan-shaped account of a recovery, for the same printing as `down`. */
function asPlan(lab: string, r: Removal): Plan {
  return {
    lab,
    ops: [
      ...r.namespaces.map((ns) => ({ op: 'netns-del' as const, node: ns, ns })),
      ...r.devices.map((d) => ({ op: 'link-del' as const, node: d.ns ?? 'host', ns: d.ns, name: d.name })),
    ],
  };
}

async function forceRemove(
  name: string,
  hostNetns: string | null,
  key: string,
  opts: DownOptions,
): Promise<Omit<DownResult, 'durationMs'>> {
  try {
    readLedger(name, hostNetns);
  } catch (e) {
    if (!(e instanceof LedgerDamagedError)) throw e;
  }
  const orphans = findOrphans({ wanted: (lab) => lab === name, except: key, lockedOk: true });
  const r = await removeOrphans(orphans, { graceMs: opts.graceMs });
  await releaseHostSysctls(name, hostNetns, r.notes);
  return {
    lab: name,
    plan: asPlan(name, r),
    changed: r.namespaces.length + r.devices.length > 0,
    stopped: r.stopped,
    notes: r.notes,
  };
}

/** The host sysctls the lab held get back their value from before, when it was their last holder. */
async function releaseHostSysctls(lab: string, hostNetns: string | null, notes: string[]): Promise<void> {
  const held = heldHostSysctls(hostNetns, lab);
  if (held.length === 0) return;
  if (hostNetns !== null && typeof namedNetnsId(hostNetns) !== 'object') {
    await recordHostSysctls(hostNetns, lab, [], {});
    return;
  }
  const h = hostNetns === null ? NetnsHandle.home() : NetnsHandle.open(hostNetns);
  try {
    const current = h.sysctls(held);
    const ops = await settleHostRestores(hostNetns, lab, [], 'host', {}, current);
    for (const op of ops) {
      if (op.op !== 'sysctl-set') continue;
      try {
        h.setSysctl(op.key, op.value);
      } catch (e) {
        notes.push(`could not restore ${op.key}=${op.value}: ${(e as Error).message}`);
      }
    }
    await recordHostSysctls(hostNetns, lab, [], {});
  } finally {
    h.close();
  }
}

export interface GcOptions {
  /** Only the objects carrying this lab's mark. */
  lab?: string;
  /** Remove what is found (default: only list it). */
  yes?: boolean;
  /** Grace period of processes in orphan namespaces (default 3000 ms). */
  graceMs?: number;
}

export interface GcResult extends Orphans {
  /** What was removed (with `yes`). */
  removed?: Removal;
}

/** Finds, and with `yes` removes, every object carrying an nslab mark that no lab's ledger owns (`nslab gc`). */
export async function collectGarbage(opts: GcOptions = {}): Promise<GcResult> {
  assertHostMountNamespace();
  const wanted = (lab: string) => opts.lab === undefined || lab === opts.lab;
  const found = findOrphans({ wanted });
  if (!opts.yes) return found;
  const removed = await removeOrphans(found, { graceMs: opts.graceMs });
  return { ...found, removed };
}
