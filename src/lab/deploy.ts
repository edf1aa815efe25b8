/**
 * `up`: under the lab's lock, observe what the lab owns (proven from the kernel), plan the difference with the
 * file, record the intent, run the plan with a journal, and record what the lab owns afterwards. Interrupted or
 * failed, the run is rolled back and the ledger put back as it was.
 */
import { ApplyError, type ExecuteOptions, executePlan, InterruptedError } from '../apply/execute.js';
import { removeLabDir } from '../apply/labdir.js';
import { lockLab } from '../apply/lock.js';
import { observeLab } from '../apply/observe.js';
import type { KernelSession } from '../apply/session.js';
import { Journal, labKey, readLedger, removeLedger, writeLedger } from '../apply/store.js';
import { heldHostSysctls, recordHostSysctls, settleHostRestores } from '../apply/sysctls.js';
import { prepareViews } from '../apply/views.js';
import { runFaultOp } from '../faults/execute.js';
import { observeFaults } from '../faults/observe.js';
import { assertHostMountNamespace } from '../netns/named.js';
import { hostNodeOf } from '../plan/common.js';
import { ledgerAfter } from '../plan/ledger.js';
import type { Ledger, OwnedNamespace, Plan } from '../plan/types.js';
import { planUp } from '../plan/up.js';
import type { ResolvedLab } from '../topology/types.js';

export interface UpOptions {
  /** Plan only: print what would change, change nothing. */
  dryRun?: boolean;
  onProgress?: ExecuteOptions['onProgress'];
  /** The whole output of an `exec:` entry, once it has ended. */
  onExecOutput?: ExecuteOptions['onExecOutput'];
  /** Output of an `exec:` entry as it comes (first called with '' when the entry starts). */
  onExecData?: ExecuteOptions['onExecData'];
  /**
   * Aborting it stops the run at the next batch and rolls back what it did; `up` then rejects with an
   * InterruptedError (exit code 130). Its reason, when a string ('SIGINT'), is named in the message.
   */
  signal?: AbortSignal;
  /** Grace period of processes in namespaces this run deletes (nodes gone from the file); default 3000 ms. */
  graceMs?: number;
}

export interface UpResult {
  lab: string;
  plan: Plan;
  /** False when the kernel already matched the file: nothing was done. */
  changed: boolean;
  dryRun: boolean;
  durationMs: number;
  /** Namespaces under the lab's names that are someone else's, left alone (the plan refuses them). */
  notes: string[];
}

/** True when some interface or bridge of the lab has an IPv6 address. */
function hasIpv6(lab: ResolvedLab): boolean {
  return lab.nodes.some(
    (n) => (n.bridgeIpv6?.length ?? 0) > 0 || n.interfaces.some((i) => i.ipv6.length > 0),
  );
}

/**
 * The ledger to hold while a plan runs: what the lab will own afterwards plus what it owned before, so that a
 * run killed at any point leaves everything it may have made recorded (the journal adds the identities of the
 * namespaces it makes).
 */
export function intentLedger(previous: Ledger | undefined, next: Ledger): Ledger {
  if (!previous) return next;
  const union = <T>(a: T[], b: T[], key: (x: T) => string) => {
    const seen = new Set(a.map(key));
    return [...a, ...b.filter((x) => !seen.has(key(x)))];
  };
  return {
    ...next,
    namespaces: union(next.namespaces, previous.namespaces, (x) => x),
    identities: union(next.identities, previous.identities, (x) => x.name),
    hostLinks: union(next.hostLinks, previous.hostLinks, (x) => x),
    hostAddrs: union(next.hostAddrs, previous.hostAddrs, (x) => `${x.dev} ${x.cidr}`),
    hostRoutes: union(
      next.hostRoutes,
      previous.hostRoutes,
      (x) => `${x.dst} ${x.table ?? ''} ${x.metric ?? ''}`,
    ),
    sysctls: union(previous.sysctls, next.sysctls, (x) => `${x.node} ${x.key}`),
    execDone: previous.execDone,
  };
}

/** Brings the kernel in line with `lab` (see Lab.up). */
export async function deploy(
  lab: ResolvedLab,
  hostNetns: string | null,
  session: KernelSession,
  opts: UpOptions = {},
): Promise<UpResult> {
  const t0 = performance.now();
  if (!opts.dryRun) assertHostMountNamespace();
  const lock = opts.dryRun ? undefined : await lockLab(labKey(lab.name, hostNetns));
  try {
    const previous = readLedger(lab.name, hostNetns);
    const { observed, claims, notes } = observeLab(session, lab, previous, { repair: !opts.dryRun });
    observeFaults(session, lab, observed, previous?.applied);
    for (const c of claims)
      if (c.state === 'owned' && observed.owned?.includes(c.name)) session.own(c.name, c.id);
    const plan = planUp(lab, observed, { hostNetns, ledger: previous });
    const host = hostNodeOf(lab);
    const wanted = host?.sysctls ?? {};
    // Host sysctls other labs share: only consulted when this lab has any.
    const shares =
      !opts.dryRun &&
      (Object.keys(wanted).length > 0 ||
        plan.ops.some((o) => o.op === 'sysctl-set' && o.ns === null) ||
        heldHostSysctls(hostNetns, lab.name).length > 0);
    if (shares) {
      const hostName = host?.name ?? 'host';
      plan.ops = await settleHostRestores(
        hostNetns,
        lab.name,
        plan.ops,
        hostName,
        wanted,
        observed.nodes[hostName]?.sysctls ?? {},
      );
    }
    // The nodes' views are files of the lab's directory, written before anything runs in the nodes (and
    // rewritten when the file changed them, even when the kernel has nothing to change).
    let views: ReturnType<typeof prepareViews> = new Map();
    if (!opts.dryRun) {
      const fresh = new Set(plan.ops.flatMap((o) => (o.op === 'netns-add' ? [o.node] : [])));
      try {
        views = prepareViews(lab, hostNetns, fresh);
      } catch (e) {
        if (!previous) removeLabDir(lab.name, hostNetns);
        throw e;
      }
    }
    if (!opts.dryRun && plan.ops.length > 0) {
      const now = new Date().toISOString();
      // Written before the first change, so that a run killed half way leaves enough for `down` or `up`.
      writeLedger(intentLedger(previous, ledgerAfter(previous, lab, plan, { hostNetns, now, ran: [] })));
      const journal = new Journal(lab.name, hostNetns);
      try {
        await executePlan(plan, session, {
          observed,
          onProgress: opts.onProgress,
          onExecOutput: opts.onExecOutput,
          onExecData: opts.onExecData,
          ipv6: hasIpv6(lab),
          signal: opts.signal,
          journal,
          graceMs: opts.graceMs,
          runOther: runFaultOp,
          lab,
          views,
        });
      } catch (e) {
        journal.close();
        // Rolled back completely: the kernel is as before. Otherwise keep the intent ledger and the journal,
        // which cover whatever the rollback left, so that `down` (or the next `up`) can still deal with it.
        if ((e instanceof ApplyError || e instanceof InterruptedError) && e.rollbackFailures.length === 0) {
          if (previous) writeLedger(previous);
          else {
            removeLedger(lab.name, hostNetns);
            removeLabDir(lab.name, hostNetns);
          }
        }
        throw e;
      }
      journal.close();
      const made = plan.ops.flatMap((o): OwnedNamespace[] => {
        const id = o.op === 'netns-add' && o.ns ? session.idOf(o.ns) : undefined;
        return id && o.ns ? [{ name: o.ns, dev: id.dev, ino: id.ino }] : [];
      });
      writeLedger(ledgerAfter(previous, lab, plan, { hostNetns, now, made, started: journal.processes }));
      if (shares) await recordHostSysctls(hostNetns, lab.name, plan.ops, wanted);
    }
    return {
      lab: lab.name,
      plan,
      changed: plan.ops.length > 0,
      dryRun: !!opts.dryRun,
      durationMs: performance.now() - t0,
      notes,
    };
  } finally {
    lock?.finish();
    session.close();
  }
}
