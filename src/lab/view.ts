/**
 * `status` of one lab: every node read back from the kernel (devices, addresses, routes, sysctls, the processes
 * running inside), and the drift from the file, as the sentences of what `up` would do.
 */
import { observeLab } from '../apply/observe.js';
import type { KernelSession } from '../apply/session.js';
import { readLedger } from '../apply/store.js';
import { observeFaults } from '../faults/observe.js';
import { PlanError } from '../plan/common.js';
import { describeOp } from '../plan/format.js';
import { planUp } from '../plan/up.js';
import { processesInNetns } from '../proc/scan.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';
import { type FaultStatus, faultStatus } from './faults.js';
import { type NamedProcessStatus, namedProcesses } from './processes.js';

export interface InterfaceStatus {
  name: string;
  kind?: string;
  up: boolean;
  mtu: number;
  mac?: string;
  addresses: string[];
  /** Whether the file declares it. */
  declared: boolean;
}

/** A process running inside a node's namespace. */
export interface ProcessStatus {
  pid: number;
  /** Its command line (`/proc/PID/cmdline`). */
  command: string;
}

export interface NodeStatus {
  name: string;
  kind: ResolvedNode['kind'];
  netns: string | null;
  present: boolean;
  interfaces: InterfaceStatus[];
  routes: string[];
  sysctls: Record<string, string>;
  /** Processes running inside the node's namespace (none listed for the host). */
  processes: ProcessStatus[];
  /** The node's named processes (`processes:`), each running, exited or not started, with its pid. */
  named: NamedProcessStatus[];
}

export interface LabStatus {
  lab: string;
  hostNetns: string | null;
  /** Recorded as up (a ledger exists). */
  deployed: boolean;
  nodes: NodeStatus[];
  /** What `up` would change to make the kernel match the file: one sentence per operation. */
  drift: string[];
  /** Namespaces under the lab's names that are not the lab's, and other things left alone. */
  notes: string[];
  /** Impairments (declared and live) and partitions in effect. */
  faults: FaultStatus;
}

/** Reads the lab back from the kernel (see Lab.status). */
export function labStatus(lab: ResolvedLab, hostNetns: string | null, session: KernelSession): LabStatus {
  const ledger = readLedger(lab.name, hostNetns);
  const { observed, claims, notes } = observeLab(session, lab, ledger);
  observeFaults(session, lab, observed, ledger?.applied);
  let drift: string[];
  try {
    drift = planUp(lab, observed, { hostNetns, ledger }).ops.map(describeOp);
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    drift = [e.message];
  }
  const inoOf = new Map(
    claims.flatMap((c) =>
      c.state === 'owned' && observed.owned?.includes(c.name) ? [[c.name, c.id.ino]] : [],
    ),
  );
  const byIno = new Map<number, ProcessStatus[]>();
  for (const p of processesInNetns(new Set(inoOf.values()))) {
    const list = byIno.get(p.ino);
    if (list) list.push({ pid: p.pid, command: p.command });
    else byIno.set(p.ino, [{ pid: p.pid, command: p.command }]);
  }
  const nodes = lab.nodes.map((n): NodeStatus => {
    const o = observed.nodes[n.name];
    const declared = new Set(n.interfaces.map((i) => i.name));
    if (n.kind === 'bridge') declared.add('br0');
    const isLab = (name: string) => n.kind !== 'host' || declared.has(name);
    const ino = n.netns === null ? undefined : inoOf.get(n.netns);
    const addrsOf = new Map<string, string[]>();
    for (const a of o?.addrs ?? []) {
      const list = addrsOf.get(a.dev);
      if (list) list.push(a.cidr);
      else addrsOf.set(a.dev, [a.cidr]);
    }
    return {
      name: n.name,
      kind: n.kind,
      netns: n.netns,
      present: o !== undefined,
      interfaces: (o?.links ?? [])
        .filter((l) => l.name !== 'lo' && isLab(l.name))
        .map((l) => ({
          name: l.name,
          kind: l.kind,
          up: l.up,
          mtu: l.mtu,
          mac: l.mac,
          addresses: addrsOf.get(l.name) ?? [],
          declared: declared.has(l.name),
        })),
      routes: (o?.routes ?? [])
        .filter(
          (r) => r.protocol !== 'kernel' && (n.kind !== 'host' || n.routes.some((x) => x.dst === r.dst)),
        )
        .map((r) =>
          [
            r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst,
            r.via && `via ${r.via}`,
            r.dev && `dev ${r.dev}`,
          ]
            .filter(Boolean)
            .join(' '),
        ),
      sysctls: o?.sysctls ?? {},
      processes: ino === undefined ? [] : (byIno.get(ino) ?? []),
      named: n.kind === 'host' ? [] : namedProcesses(lab, hostNetns, n, ledger),
    };
  });
  return {
    lab: lab.name,
    hostNetns,
    deployed: ledger !== undefined,
    nodes,
    drift,
    notes,
    faults: faultStatus(lab, observed),
  };
}
