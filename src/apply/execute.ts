/**
 * Carries out a plan against the kernel: each namespace's changes are sent to it in netlink batches, as few as
 * the plan's order allows; every operation that succeeded leaves an undo step, and a failure (or an interruption,
 * checked between batches) rolls back what this run did, newest first, before the error is thrown.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Request } from '../netlink/message.js';
import type { NetlinkError } from '../netlink/socket.js';
import type { NetnsHandle } from '../netns/handle.js';
import { placeholdersAhead } from '../netns/named.js';
import { PLACEHOLDERS_MIN, type Placeholders } from '../netns/placeholders.js';
import { ownershipAlias } from '../plan/common.js';
import { formatOp } from '../plan/format.js';
import type { ObservedState, Op, Plan } from '../plan/types.js';
import { killProcessesSync, type StoppedProcess, stopProcesses } from '../proc/stop.js';
import type { MountView } from '../proc/view.js';
import { insideSandbox } from '../sandbox/inside.js';
import { NslabError } from '../sys/errors.js';
import type { ResolvedLab } from '../topology/types.js';
import { runExec } from './exec.js';
import { runProcessOp } from './processes.js';
import { type KernelSession, labNetnsSysctls, routerSysctls } from './session.js';
import type { Journal } from './store.js';

/** An operation of the plan failed. Carries the operation, its `ip` spelling and the kernel's answer. */
export class ApplyError extends NslabError {
  readonly op: Op;
  readonly command: string;
  /** What the rollback could not undo, in words (empty when the kernel is back as it was). */
  readonly rollbackFailures: string[];
  constructor(op: Op, command: string, cause: Error, rollbackFailures: string[]) {
    const rb = rollbackFailures.length
      ? `; rollback left: ${rollbackFailures.join('; ')}`
      : '; everything this run changed was rolled back';
    super(`${command}\n  failed: ${cause.message}${rb}`, 1, { cause });
    this.name = 'ApplyError';
    this.op = op;
    this.command = command;
    this.rollbackFailures = rollbackFailures;
  }
}

/** The run was interrupted (SIGINT, SIGTERM, an aborted signal): what it changed was rolled back. Exit code 130. */
export class InterruptedError extends NslabError {
  readonly rollbackFailures: string[];
  constructor(lab: string, reason: string, rollbackFailures: string[]) {
    super(
      rollbackFailures.length
        ? `interrupted (${reason}): lab ${lab} was rolled back, except: ${rollbackFailures.join('; ')}`
        : `interrupted (${reason}): everything this run changed in lab ${lab} was rolled back`,
      130,
    );
    this.name = 'InterruptedError';
    this.rollbackFailures = rollbackFailures;
  }
}

export interface ExecuteOptions {
  /** The state the plan was made from: lets link changes on existing devices be undone. */
  observed?: ObservedState;
  /** Called after each batch with the number of operations done. */
  onProgress?: (done: number, total: number, last: Op) => void;
  /** The whole output of an `exec` operation, once it has ended. */
  onExecOutput?: (node: string, command: string, output: string) => void;
  /** Output of an `exec` operation as it comes (a first call with '' when it starts). */
  onExecData?: (node: string, command: string, text: string) => void;
  /**
   * The lab has IPv6: namespaces and host-side devices get IPv6 DAD off (see labNetnsSysctls); without, the
   * host-side devices nslab creates get IPv6 off (see hostDeviceIpv6).
   */
  ipv6?: boolean;
  /**
   * Runs the op kinds of later layers (src/faults: qdiscs, nftables), which this layer cannot import; returns
   * the op's undo step, if any.
   */
  runOther?: (op: Op, session: KernelSession) => (() => void) | undefined;
  /**
   * Stops the run at the next batch when aborted: what it did is rolled back and InterruptedError thrown (the
   * signal's reason, a string such as 'SIGINT', is named in it).
   */
  signal?: AbortSignal;
  /** Where the run records each namespace it makes or deletes and each `exec:` entry it finishes. */
  journal?: Journal;
  /** Grace period of processes in namespaces the plan deletes (SIGTERM, then SIGKILL); default 3000 ms. */
  graceMs?: number;
  /** Processes stopped in a namespace the plan deletes. */
  onStopped?: (node: string, stopped: StoppedProcess[]) => void;
  /** The lab the plan brings up: named processes need it (their logs, their nodes' addresses). */
  lab?: ResolvedLab;
  /** The mount views of the nodes that have one: `exec:` entries and processes run in them. */
  views?: ReadonlyMap<string, MountView>;
}

type Undo = { op: Op; run: () => void };

/** Internal: the signal fired; unwound to the rollback. */
class Interrupt extends Error {}

/** State of one run of a plan. */
interface Run {
  session: KernelSession;
  opts: ExecuteOptions;
  undo: Undo[];
  /** The lab's mark (`nslab:LAB`). */
  mark: string;
  /** Namespaces this run made (their loopback is already marked and up). */
  created: Set<string>;
  /** The mount-point files of the plan's new namespaces, made ahead on another thread (many namespaces only). */
  ahead?: Placeholders;
}

function reasonOf(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'aborted';
}

/** Changes to one namespace's own devices, addresses and routes: queued per namespace, sent as one batch each. */
const LOCAL = new Set<Op['op']>([
  'link-set',
  'addr-add',
  'addr-del',
  'route-add',
  'route-replace',
  'route-del',
]);
/** Device creations: sent at once, a batch per namespace (a veth's peer appears in another namespace). */
const CREATE = new Set<Op['op']>(['veth-add', 'bridge-add']);

/** Sysctls that make a namespace a router: routers send the ICMP errors a probe matrix needs (see routerSysctls). */
const FORWARDING_KEYS = new Set(['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']);

/**
 * Runs the plan; throws ApplyError after rolling back when an operation fails, InterruptedError when
 * `opts.signal` is aborted. Yields to the event loop every few milliseconds, so that signals are seen.
 *
 * Operations are applied in plan order within each namespace. Across namespaces, the changes of each namespace's
 * own objects (LOCAL) are queued and sent as one datagram per namespace when something needs them done: an
 * operation that reaches into other namespaces (`link-del`, `netns-del`, `exec`, processes), a sysctl of that
 * namespace, or the end of the plan. So a star of N namespaces costs one round trip per namespace (the veth end
 * up, its address) instead of one per kind of operation.
 */
export async function executePlan(
  plan: Plan,
  session: KernelSession,
  opts: ExecuteOptions = {},
): Promise<void> {
  const run: Run = { session, opts, undo: [], mark: ownershipAlias({ name: plan.lab }), created: new Set() };
  const ctx = { hostNetns: session.hostNetns };
  const ops = plan.ops;
  const queued = new Map<string | null, Op[]>();
  let done = 0;
  let current: Op | undefined;
  let yielded = performance.now();
  const progress = (n: number, last: Op) => {
    done += n;
    opts.onProgress?.(done, ops.length, last);
  };
  const flush = (only?: string | null) => {
    const namespaces = only === undefined ? [...queued.keys()] : queued.has(only) ? [only] : [];
    for (const ns of namespaces) {
      const list = queued.get(ns)!;
      queued.delete(ns);
      runBatch(ns, list, run);
      progress(list.length, list[list.length - 1]);
    }
  };
  try {
    const adding = ops.filter((o) => o.op === 'netns-add');
    if (adding.length >= PLACEHOLDERS_MIN) {
      current = adding[0]; // what a failure to start is said about
      run.ahead = placeholdersAhead(adding.map((o) => o.ns!));
    }
    let i = 0;
    while (i < ops.length) {
      const op = ops[i];
      current = op;
      if (LOCAL.has(op.op)) {
        const list = queued.get(op.ns);
        if (list) list.push(op);
        else queued.set(op.ns, [op]);
        i++;
        continue;
      }
      if (performance.now() - yielded > 20) {
        await yieldToLoop();
        yielded = performance.now();
      }
      if (opts.signal?.aborted) throw new Interrupt();
      let j = i + 1;
      if (CREATE.has(op.op) || op.op === 'link-del') {
        // Creating a device touches no queued work (queued operations name devices that exist already);
        // deleting one may delete its peer elsewhere, which queued work may still use.
        if (op.op === 'link-del') flush();
        while (j < ops.length && ops[j].op === op.op) j++;
        const group = ops.slice(i, j);
        for (const [ns, list] of byNamespace(group)) runBatch(ns, list, run);
        progress(group.length, group[group.length - 1]);
      } else {
        // A new namespace is independent of queued work; a sysctl follows its own namespace's changes; anything
        // else (namespace deletion, exec, processes, qdiscs and rules) sees every change before it.
        if (op.op === 'sysctl-set') flush(op.ns);
        else if (op.op !== 'netns-add') flush();
        await runSingle(op, run);
        progress(1, op);
      }
      i = j;
    }
    if (opts.signal?.aborted) throw new Interrupt();
    current = undefined;
    flush();
  } catch (e) {
    const left = rollback(run.undo);
    if (e instanceof Interrupt) throw new InterruptedError(plan.lab, reasonOf(opts.signal!), left);
    const failed = (e as { failedOp?: Op }).failedOp ?? current ?? ops[ops.length - 1];
    if (e instanceof Error) throw new ApplyError(failed, formatOp(failed, ctx), unwrap(e), left);
    throw e;
  } finally {
    run.ahead?.finish();
  }
}

function byNamespace(ops: Op[]): Map<string | null, Op[]> {
  const byNs = new Map<string | null, Op[]>();
  for (const op of ops) {
    const list = byNs.get(op.ns);
    if (list) list.push(op);
    else byNs.set(op.ns, [op]);
  }
  return byNs;
}

function unwrap(e: Error): Error {
  return (e as { cause?: Error }).cause instanceof Error && (e as { failedOp?: Op }).failedOp
    ? (e.cause as Error)
    : e;
}

/**
 * Writes a sysctl; inside a private lab, one the sandbox cannot have is said so by name: a sysctl that is not per
 * network namespace exists only in the machine's initial one (ENOENT here), and some that are stay read-only to
 * a user namespace's root (EACCES).
 */
function setSysctl(h: NetnsHandle, key: string, value: string): void {
  try {
    h.setSysctl(key, value);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const lab = insideSandbox();
    if (lab === undefined || (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EPERM')) throw e;
    throw new NslabError(
      code === 'ENOENT'
        ? `sysctl ${key} is not per network namespace (the machine has one, shown only in its initial namespace): private lab ${lab} cannot set it; set it on the machine, or make the lab as root without --private`
        : `sysctl ${key} may be changed only by root of the machine, not inside private lab ${lab}'s user namespace: set it on the machine, or make the lab as root without --private`,
    );
  }
}

function fail(op: Op, cause: Error): never {
  throw Object.assign(new Error(cause.message, { cause }), { failedOp: op });
}

/** Rolls back newest first; returns what could not be undone. */
function rollback(undo: Undo[]): string[] {
  const left: string[] = [];
  for (const u of undo.reverse()) {
    try {
      u.run();
    } catch (e) {
      left.push(`${u.op.op} on ${u.op.node}: ${(e as Error).message}`);
    }
  }
  return left;
}

/** `ip link set dev lo alias MARK up` in a namespace this run made: done already, when it was made. */
function doneAtCreation(op: Op, run: Run): boolean {
  return (
    op.op === 'link-set' &&
    op.name === 'lo' &&
    op.ns !== null &&
    run.created.has(op.ns) &&
    (op.alias === undefined || op.alias === run.mark) &&
    op.up !== false &&
    op.mtu === undefined &&
    op.mac === undefined &&
    op.master === undefined
  );
}

/**
 * Sends the operations of one namespace as one batch (those done when its namespace was made left out); records
 * an undo step for each that the kernel accepted.
 */
function runBatch(ns: string | null, all: Op[], run: Run): void {
  const { session, opts, undo } = run;
  const list = all.filter((op) => !doneAtCreation(op, run));
  if (list.length === 0) return;
  const h = session.handle(ns);
  if (session.isHost(ns) && opts.ipv6) enableHostIpv6(list, h);
  const reqs: Request[] = [];
  for (const op of list) {
    try {
      reqs.push(request(op, h, session));
    } catch (e) {
      fail(op, e as Error);
    }
  }
  const results: (NetlinkError | undefined)[] = h.execute(reqs);
  let first: { op: Op; err: NetlinkError } | undefined;
  list.forEach((op, k) => {
    // A device gone before its `ip link del` is what was asked: a namespace deleted just before this run
    // takes its veths' other ends with it, asynchronously, after we listed them.
    const err = op.op === 'link-del' && results[k]?.code === 'ENODEV' ? undefined : results[k];
    if (err) first ??= { op, err };
    else {
      const u = undoOf(op, h, opts.observed);
      if (u) undo.push({ op, run: u });
    }
  });
  // Deleting one end of a veth pair deletes the other, in another namespace: indexes learnt there are stale.
  if (list.some((op) => op.op === 'link-del')) session.forgetIndexes();
  if (first) fail(first.op, first.err);
  if (session.isHost(ns)) hostDeviceIpv6(list, h, !!opts.ipv6);
}

/**
 * IPv6 settings of the host-side devices a batch created, written before they come up. In a lab with IPv6: DAD
 * off (the lab's namespaces have it off for all devices). In a lab without: IPv6 off on them (`disable_ipv6`),
 * because every device that gains carrier makes the kernel walk the whole IPv6 routing table of its namespace,
 * which holds routes of every lab device there: a host with 3000 lab veths paid 2.9 s for those walks.
 */
function hostDeviceIpv6(list: Op[], h: NetnsHandle, ipv6: boolean): void {
  const keys: Record<string, string> = {};
  for (const op of list) {
    const names = op.op === 'veth-add' ? [op.name, ...(op.peer.ns === null ? [op.peer.name] : [])] : [];
    if (op.op === 'bridge-add') names.push(op.name);
    for (const name of names) {
      if (ipv6) keys[`net/ipv6/conf/${name}/accept_dad`] = '0';
      else keys[`net/ipv6/conf/${name}/disable_ipv6`] = '1';
    }
  }
  writeHostIpv6(h, keys);
}

/**
 * Host-side devices about to get IPv6 addresses have IPv6 on, DAD off: an earlier `up` of the lab without IPv6
 * turned it off on the devices it made.
 */
function enableHostIpv6(list: Op[], h: NetnsHandle): void {
  const keys: Record<string, string> = {};
  for (const op of list) {
    if (op.op !== 'addr-add' || !op.cidr.includes(':')) continue;
    keys[`net/ipv6/conf/${op.dev}/disable_ipv6`] = '0';
    keys[`net/ipv6/conf/${op.dev}/accept_dad`] = '0';
  }
  writeHostIpv6(h, keys);
}

function writeHostIpv6(h: NetnsHandle, keys: Record<string, string>): void {
  if (Object.keys(keys).length === 0) return;
  try {
    h.setSysctls(keys);
  } catch {
    // IPv6 disabled on the host altogether: nothing to set
  }
}

function request(op: Op, h: NetnsHandle, session: KernelSession): Request {
  switch (op.op) {
    case 'veth-add': {
      const peer = session.handle(op.peer.ns);
      return h.vethRequest(
        op.name,
        { handle: peer, name: op.peer.name, mac: op.peerMac },
        { mtu: op.mtu, mac: op.mac },
      );
    }
    case 'bridge-add':
      return h.bridgeRequest(op.name);
    case 'link-set':
      return h.setLinkRequest(op.name, {
        up: op.up,
        mtu: op.mtu,
        mac: op.mac,
        alias: op.alias,
        master: op.master,
      });
    case 'link-del':
      return h.deleteLinkRequest(op.name);
    case 'addr-add':
      return h.addrRequest(op.dev, op.cidr);
    case 'addr-del':
      return h.addrDelRequest(op.dev, op.cidr);
    case 'route-add':
    case 'route-replace': {
      const r = op.route;
      return h.routeRequest(
        { dst: r.dst, via: r.via, dev: r.dev, metric: r.metric, table: r.table },
        { replace: op.op === 'route-replace' },
      );
    }
    case 'route-del': {
      const r = op.route;
      return h.routeDelRequest({ dst: r.dst, via: r.via, dev: r.dev, metric: r.metric, table: r.table });
    }
    default:
      throw new NslabError(`operation ${op.op} cannot be batched`);
  }
}

/** The undo step of a successful batched operation, or undefined when there is none. */
function undoOf(op: Op, h: NetnsHandle, observed: ObservedState | undefined): (() => void) | undefined {
  switch (op.op) {
    case 'veth-add':
    case 'bridge-add':
      return () => h.deleteLink(op.name);
    case 'addr-add':
      return () => h.delAddr(op.dev, op.cidr);
    case 'addr-del':
      return () => h.addAddr(op.dev, op.cidr);
    case 'route-add': {
      const r = op.route;
      return () => h.delRoute({ dst: r.dst, via: r.via, dev: r.dev, metric: r.metric, table: r.table });
    }
    case 'route-del': {
      const r = op.route;
      return () => h.addRoute({ dst: r.dst, via: r.via, dev: r.dev, metric: r.metric, table: r.table });
    }
    case 'route-replace': {
      const r = op.route;
      const before = observed?.nodes[op.node]?.routes.find(
        (o) => o.dst === r.dst && o.family === r.family && o.table === (r.table ?? 254),
      );
      if (!before)
        return () => h.delRoute({ dst: r.dst, via: r.via, dev: r.dev, metric: r.metric, table: r.table });
      return () =>
        h.replaceRoute({
          dst: before.dst,
          via: before.via,
          dev: before.dev,
          metric: before.metric,
          table: before.table,
        });
    }
    case 'link-set': {
      const before = observed?.nodes[op.node]?.links.find((l) => l.name === op.name);
      if (!before) return undefined; // a device this run created: deleting it undoes this too
      return () =>
        h.setLink(op.name, {
          up: op.up === undefined ? undefined : before.up,
          mtu: op.mtu === undefined ? undefined : before.mtu,
          mac: op.mac === undefined ? undefined : before.mac,
          alias: op.alias === undefined ? undefined : (before.alias ?? ''),
          master: op.master === undefined ? undefined : (before.master ?? null),
        });
    }
    default:
      return undefined;
  }
}

async function runSingle(op: Op, run: Run): Promise<void> {
  const { session, opts, undo } = run;
  try {
    switch (op.op) {
      case 'netns-add': {
        const ns = op.ns!;
        // lo is marked and set up before the namespace gets its name, and its identity journaled: a run killed
        // at any point never leaves a namespace under the lab's name that the lab cannot prove is its own.
        session.create(ns, labNetnsSysctls(!!opts.ipv6), {
          lo: { alias: run.mark },
          record: (id) => opts.journal?.made({ name: ns, dev: id.dev, ino: id.ino }),
          ahead: run.ahead,
        });
        run.created.add(ns);
        undo.push({
          op,
          run: () => {
            const id = session.idOf(ns);
            // Processes an `exec:` entry of this run started would live on in the unnamed namespace.
            if (id) killProcessesSync(new Set([id.ino]));
            opts.journal?.deleting(ns);
            session.delete(ns);
          },
        });
        return;
      }
      case 'netns-del': {
        const ns = op.ns!;
        const id = session.idOf(ns);
        if (!id) throw new Error(`namespace ${ns} is not proven the lab's: refusing to delete it`);
        const r = await stopProcesses(new Set([id.ino]), { graceMs: opts.graceMs });
        if (r.stopped.length > 0) opts.onStopped?.(op.node, r.stopped);
        opts.journal?.deleting(ns);
        session.delete(ns);
        return;
      }
      case 'sysctl-set': {
        const h = session.handle(op.ns);
        setSysctl(h, op.key, op.value);
        // A lab namespace that starts forwarding gets ICMP error rate limiting off, right after: its sysctl
        // entries were just looked up, which is what costs (see labNetnsSysctls).
        if (op.ns !== null && FORWARDING_KEYS.has(op.key) && op.value.trim() !== '0') {
          try {
            h.setSysctls(routerSysctls(!!opts.ipv6));
          } catch {
            // IPv6 disabled in the namespace: its ICMPv6 limit does not exist
          }
        }
        if (op.previous !== undefined) {
          const prev = op.previous;
          undo.push({ op, run: () => h.setSysctl(op.key, prev) });
        }
        return;
      }
      case 'exec': {
        const view = opts.views?.get(op.node);
        if ((await runExec(op, session.handle(op.ns), { ...opts, view })) === 'interrupted')
          throw new Interrupt();
        if (op.ns !== null && op.index !== undefined) {
          const id = session.idOf(op.ns);
          opts.journal?.ran({
            node: op.node,
            index: op.index,
            command: op.command,
            ...(id ? { ino: id.ino } : {}),
          });
        }
        return;
      }
      case 'process-start':
      case 'process-stop': {
        const u = await runProcessOp(op, session, opts);
        if (u === 'interrupted') throw new Interrupt();
        if (u) undo.push({ op, run: u });
        return;
      }
      default: {
        if (!opts.runOther) throw new NslabError(`unknown operation ${op.op}`);
        const u = opts.runOther(op, session);
        if (u) undo.push({ op, run: u });
        return;
      }
    }
  } catch (e) {
    if (e instanceof Interrupt) throw e;
    fail(op, e as Error);
  }
}
