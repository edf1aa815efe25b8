/**
 * The public API: a lab loaded from a topology file, brought up, inspected, used and taken down.
 *
 * ```ts
 * import { Lab } from 'nslab';
 * const lab = await Lab.load('examples/seed.nslab.yml', { hostNetns: 'sandbox' });
 * await lab.up();
 * const { code, stdout } = await lab.exec('ns0', ['ping', '-c', '1', '10.1.20.2']);
 * await lab.down();
 * ```
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { ApplyError, type ExecuteOptions, executePlan } from '../apply/execute.js';
import { observe } from '../apply/observe.js';
import { KernelSession } from '../apply/session.js';
import { labKey, listLedgers, lockLab, readLedger, removeLedger, writeLedger } from '../apply/store.js';
import { explain, explainAll } from '../explain/explain.js';
import { checkExpectations as checkPredicted, predictMatrix } from '../explain/matrix.js';
import type {
  ExpectationResult,
  ExplainOptions,
  Explanation,
  MatrixOptions,
  PredictedMatrix,
} from '../explain/types.js';
import type { NetnsHandle } from '../netns/handle.js';
import { assertHostMountNamespace, deleteNamedNetns, namedNetnsExists } from '../netns/named.js';
import { planDown } from '../plan/down.js';
import { exportScript } from '../plan/export.js';
import { describeOp, formatOp } from '../plan/format.js';
import { ledgerAfter } from '../plan/ledger.js';
import type { Ledger, ObservedState, Op, Plan } from '../plan/types.js';
import { planUp } from '../plan/up.js';
import { checkExpectations as checkLive, type PingMatrixOptions, pingMatrix } from '../probe/matrix.js';
import type { PingMatrix } from '../probe/types.js';
import { type RenderFormat, render } from '../render/index.js';
import { NslabError } from '../sys/errors.js';
import { isAddress } from '../topology/ip.js';
import { loadTopology, parseTopology } from '../topology/load.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';
import { type CheckReport, compareMatrices, HOST_FORWARDING_SYSCTLS, liveAssumptions } from './reach.js';

export interface LabOptions {
  /**
   * An existing namespace that plays the host instead of the real default namespace (`--host-netns`). nslab
   * never deletes it. Tests and benchmarks always set it.
   */
  hostNetns?: string | null;
}

export interface UpOptions {
  /** Plan only: print what would change, change nothing. */
  dryRun?: boolean;
  onProgress?: ExecuteOptions['onProgress'];
  onExecOutput?: ExecuteOptions['onExecOutput'];
}

export interface UpResult {
  lab: string;
  plan: Plan;
  /** False when the kernel already matched the file: nothing was done. */
  changed: boolean;
  dryRun: boolean;
  durationMs: number;
}

export interface DownResult {
  lab: string;
  plan: Plan;
  /** False when the lab was not up. */
  changed: boolean;
  durationMs: number;
}

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

export interface NodeStatus {
  name: string;
  kind: ResolvedNode['kind'];
  netns: string | null;
  present: boolean;
  interfaces: InterfaceStatus[];
  routes: string[];
  sysctls: Record<string, string>;
}

export interface LabStatus {
  lab: string;
  hostNetns: string | null;
  /** Recorded as up (a ledger exists). */
  deployed: boolean;
  nodes: NodeStatus[];
  /** What `up` would change to make the kernel match the file: one sentence per operation. */
  drift: string[];
}

/** True when this process may change network namespaces (CAP_SYS_ADMIN and CAP_NET_ADMIN). */
export function privileged(): boolean {
  try {
    requirePrivilege();
    return true;
  } catch {
    return false;
  }
}

/** Throws, with the privilege needed, when this process cannot change network namespaces. */
export function requirePrivilege(): void {
  let capEff = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    capEff = m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    capEff = process.getuid?.() === 0 ? -1n : 0n;
  }
  const CAP_NET_ADMIN = 1n << 12n;
  const CAP_SYS_ADMIN = 1n << 21n;
  if ((capEff & CAP_NET_ADMIN) === 0n || (capEff & CAP_SYS_ADMIN) === 0n) {
    throw new NslabError(
      'nslab needs root to create network namespaces and interfaces (CAP_SYS_ADMIN and CAP_NET_ADMIN): run it with sudo.',
      1,
    );
  }
}

export class Lab {
  /** The lab as the file describes it, resolved (addresses and routes filled in). */
  readonly topology: ResolvedLab;
  readonly hostNetns: string | null;
  private session: KernelSession | undefined;

  constructor(topology: ResolvedLab, opts: LabOptions = {}) {
    this.topology = topology;
    this.hostNetns = opts.hostNetns ?? null;
  }

  /** Loads and resolves a topology file. Throws TopologyError (exit code 2) with every problem and its position. */
  static async load(file: string, opts: LabOptions = {}): Promise<Lab> {
    return new Lab(await loadTopology(file), opts);
  }

  /** Parses topology text (YAML). */
  static parse(text: string, opts: LabOptions & { file?: string } = {}): Lab {
    return new Lab(parseTopology(text, opts.file), opts);
  }

  /** The lab recorded as up under `name` (by an earlier `up`), as it was applied. */
  static attach(name: string, opts: LabOptions = {}): Lab {
    const ledger = readLedger(name, opts.hostNetns ?? null);
    if (!ledger) throw new NslabError(`no lab named ${name} is up${hostNote(opts.hostNetns ?? null)}`, 1);
    return new Lab(ledger.applied, opts);
  }

  /**
   * A lab given either as a topology file (a path to an existing file, or ending in .yml/.yaml) or as the name
   * of a lab that is up.
   */
  static async open(fileOrName: string, opts: LabOptions = {}): Promise<Lab> {
    if (Lab.isFileArgument(fileOrName)) return Lab.load(fileOrName, opts);
    return Lab.attach(fileOrName, opts);
  }

  /** True when `arg` names a topology file rather than a lab (an existing path, or a .yml/.yaml name). */
  static isFileArgument(arg: string): boolean {
    return /\.ya?ml$/.test(arg) || existsSync(arg);
  }

  /**
   * The lab that is up and has a node called `node`: the one named `lab` when given, else the only one that has
   * it. Throws a sentence when none or several do.
   */
  static async forNode(node: string, opts: LabOptions & { lab?: string } = {}): Promise<Lab> {
    if (opts.lab) return Lab.open(opts.lab, opts);
    const hostNetns = opts.hostNetns ?? null;
    const labs = listLedgers().filter(
      (l) => l.hostNetns === hostNetns && l.applied.nodes.some((n) => n.name === node),
    );
    if (labs.length === 0)
      throw new NslabError(`no lab that is up has a node called ${node}${hostNote(hostNetns)}`, 1);
    if (labs.length > 1) {
      throw new NslabError(
        `several labs have a node called ${node} (${labs.map((l) => l.lab).join(', ')}): choose one with --lab NAME`,
        2,
      );
    }
    return new Lab(labs[0].applied, opts);
  }

  /** Labs recorded as up on this machine. */
  static list(): {
    name: string;
    hostNetns: string | null;
    /** The namespace that played the host is gone (and the lab with it, most likely). */
    hostMissing: boolean;
    file?: string;
    nodes: number;
    updatedAt: string;
  }[] {
    return listLedgers().map((l) => ({
      name: l.lab,
      hostNetns: l.hostNetns,
      hostMissing: l.hostNetns !== null && !namedNetnsExists(l.hostNetns),
      file: l.file,
      nodes: l.applied.nodes.length,
      updatedAt: l.updatedAt,
    }));
  }

  get name(): string {
    return this.topology.name;
  }

  private get key(): string {
    return labKey(this.name, this.hostNetns);
  }

  private kernel(): KernelSession {
    requirePrivilege();
    this.session ??= new KernelSession(this.hostNetns);
    return this.session;
  }

  /** Reads the live state of the lab's namespaces. */
  observe(): ObservedState {
    return observe(this.kernel(), this.topology, readLedger(this.name, this.hostNetns));
  }

  /**
   * What `up` would do now: the ordered operations (each printable with `formatOp`). With `empty`, the plan
   * against a kernel holding nothing of the lab, which needs no privilege.
   */
  plan(opts: { empty?: boolean } = {}): Plan {
    if (opts.empty)
      return planUp(this.topology, { namespaces: [], nodes: {} }, { hostNetns: this.hostNetns });
    const ledger = readLedger(this.name, this.hostNetns);
    const observed = observe(this.kernel(), this.topology, ledger);
    return planUp(this.topology, observed, { hostNetns: this.hostNetns, ledger });
  }

  /** A standalone shell script that builds this lab with `ip` and `sysctl` only (`nslab export --format sh`). */
  exportScript(): string {
    return exportScript(this.topology, { hostNetns: this.hostNetns });
  }

  /** The `ip`/`sysctl` command of an operation of this lab. */
  command(op: Op, marks = true): string {
    return formatOp(op, { hostNetns: this.hostNetns, marks });
  }

  /**
   * Makes the kernel match the file: creates what is missing, changes what differs, removes what an earlier
   * `up` made and the file no longer has. Running it twice changes nothing the second time. On failure, what
   * this run changed is rolled back and an ApplyError names the operation and the kernel's answer.
   */
  async up(opts: UpOptions = {}): Promise<UpResult> {
    const t0 = performance.now();
    const session = this.kernel();
    if (!opts.dryRun) assertHostMountNamespace();
    const release = opts.dryRun ? () => {} : await lockLab(this.key);
    try {
      const previous = readLedger(this.name, this.hostNetns);
      const observed = observe(session, this.topology, previous, { repair: !opts.dryRun });
      const plan = planUp(this.topology, observed, { hostNetns: this.hostNetns, ledger: previous });
      if (!opts.dryRun && plan.ops.length > 0) {
        const now = new Date().toISOString();
        // Written before the first change, so that a run killed half way leaves enough for `down` or `up`.
        writeLedger(
          intentLedger(
            previous,
            ledgerAfter(previous, this.topology, plan, { hostNetns: this.hostNetns, now }),
          ),
        );
        try {
          executePlan(plan, session, {
            observed,
            onProgress: opts.onProgress,
            onExecOutput: opts.onExecOutput,
            ipv6: hasIpv6(this.topology),
          });
        } catch (e) {
          // Rolled back completely: the kernel is as before. Otherwise keep the intent ledger, which covers
          // whatever the rollback left, so that `down` (or the next `up`) can still deal with it.
          if (e instanceof ApplyError && e.rollbackFailures.length === 0) {
            if (previous) writeLedger(previous);
            else removeLedger(this.name, this.hostNetns);
          }
          throw e;
        }
        writeLedger(ledgerAfter(previous, this.topology, plan, { hostNetns: this.hostNetns, now }));
      }
      return {
        lab: this.name,
        plan,
        changed: plan.ops.length > 0,
        dryRun: !!opts.dryRun,
        durationMs: performance.now() - t0,
      };
    } finally {
      release();
      this.closeHandles();
    }
  }

  /**
   * Removes exactly what nslab made for this lab (per its ledger) and restores every sysctl it changed, host's
   * included. Does nothing when the lab is not up.
   */
  async down(opts: { onProgress?: ExecuteOptions['onProgress'] } = {}): Promise<DownResult> {
    const t0 = performance.now();
    requirePrivilege();
    assertHostMountNamespace();
    const release = await lockLab(this.key);
    try {
      const ledger = readLedger(this.name, this.hostNetns);
      if (!ledger)
        return { lab: this.name, plan: { lab: this.name, ops: [] }, changed: false, durationMs: 0 };
      let plan: Plan;
      if (this.hostNetns !== null && !namedNetnsExists(this.hostNetns)) {
        // The host namespace was deleted by hand, and the host side with it: what is left is the lab's own
        // namespaces, deleted by their exact names from the ledger (`ip netns del`).
        const nodeOf = new Map(ledger.applied.nodes.map((n) => [n.netns, n.name]));
        const left = ledger.namespaces.filter((ns) => namedNetnsExists(ns));
        plan = {
          lab: this.name,
          ops: left.map((ns) => ({ op: 'netns-del', node: nodeOf.get(ns) ?? ns, ns })),
        };
        for (const ns of left) deleteNamedNetns(ns);
      } else {
        const session = this.kernel();
        const observed = observe(session, undefined, ledger, { repair: true });
        plan = planDown(ledger, observed);
        executePlan(plan, session, { observed, onProgress: opts.onProgress });
      }
      removeLedger(this.name, this.hostNetns);
      return { lab: this.name, plan, changed: true, durationMs: performance.now() - t0 };
    } finally {
      release();
      this.closeHandles();
    }
  }

  /** Live state read back from the kernel, and the drift from the file. */
  status(): LabStatus {
    const session = this.kernel();
    try {
      const ledger = readLedger(this.name, this.hostNetns);
      const observed = observe(session, this.topology, ledger);
      const drift = planUp(this.topology, observed, { hostNetns: this.hostNetns, ledger }).ops.map(
        describeOp,
      );
      const nodes = this.topology.nodes.map((n): NodeStatus => {
        const o = observed.nodes[n.name];
        const declared = new Set(n.interfaces.map((i) => i.name));
        if (n.kind === 'bridge') declared.add('br0');
        const isLab = (name: string) => n.kind !== 'host' || declared.has(name);
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
        };
      });
      return { lab: this.name, hostNetns: this.hostNetns, deployed: ledger !== undefined, nodes, drift };
    } finally {
      this.closeHandles();
    }
  }

  /** Predicts every pair's reachability from the file alone (`nslab check --predict`); nothing is sent. */
  predict(opts: MatrixOptions = {}): PredictedMatrix {
    return predictMatrix(this.topology, opts);
  }

  /** Judges the file's `expect:` entries on a predicted matrix (`nslab check --predict`). */
  predictExpectations(matrix: PredictedMatrix = this.predict()): ExpectationResult[] {
    return checkPredicted(this.topology, matrix);
  }

  /**
   * Explains from the file alone why `from` can or cannot reach `to` (a node: each of its addresses; or an
   * address), hop by hop, with the fix (`nslab explain`).
   */
  explain(from: string, to: string, opts: ExplainOptions = {}): Explanation[] {
    return isAddress(to)
      ? [explain(this.topology, from, to, opts)]
      : explainAll(this.topology, from, to, opts);
  }

  /**
   * Pings every node's addresses from every other node, all at once from raw ICMP sockets opened in each
   * namespace (`nslab ping`).
   */
  async ping(opts: PingMatrixOptions = {}): Promise<PingMatrix> {
    const session = this.kernel();
    try {
      return await pingMatrix(this.topology, (node) => session.handle(this.node(node).netns).fd, opts);
    } finally {
      this.closeHandles();
    }
  }

  /**
   * Checks the live lab (`nslab check`): every `expect:` entry, and every pair's answer against the prediction
   * made from the file (with the host's live forwarding sysctls).
   */
  async check(opts: PingMatrixOptions = {}): Promise<CheckReport> {
    const session = this.kernel();
    const hostValues = this.topology.nodes.some((n) => n.kind === 'host')
      ? session.handle(null).sysctls(HOST_FORWARDING_SYSCTLS)
      : {};
    const predicted = this.predict({
      ...liveAssumptions(hostValues),
      family: opts.family,
      addresses: opts.addresses,
    });
    const matrix = await this.ping(opts);
    const expectations = checkLive(this.topology, matrix);
    const findings = compareMatrices(predicted, matrix);
    return {
      lab: this.name,
      expectations,
      findings,
      matrix,
      predicted,
      ok: expectations.every((e) => e.holds) && findings.length === 0,
    };
  }

  /**
   * Draws the lab (`nslab graph`): DOT or Mermaid text, SVG, or PNG bytes. With `live`, the deployed lab is
   * read back from the kernel and links that are down, and drift from the file, are marked.
   */
  async graph(
    format: RenderFormat,
    opts: { routes?: boolean; live?: boolean } = {},
  ): Promise<string | Buffer> {
    const observed = opts.live ? this.observe() : undefined;
    this.closeHandles();
    return render(this.topology, format, { routes: opts.routes, observed });
  }

  /** The node called `name`. */
  node(name: string): ResolvedNode {
    const n = this.topology.nodes.find((x) => x.name === name);
    if (!n) {
      throw new NslabError(
        `lab ${this.name} has no node ${name} (nodes: ${this.topology.nodes.map((x) => x.name).join(', ')})`,
        2,
      );
    }
    return n;
  }

  /**
   * A handle on a node's namespace (netlink socket, sysctls, spawn), for work the API does not cover. It stays
   * valid until `close()`.
   */
  handle(node: string): NetnsHandle {
    return this.kernel().handle(this.node(node).netns);
  }

  /** Starts a process inside a node's namespace (`ip netns exec NS CMD ...`; see NetnsHandle.spawn). */
  spawn(
    node: string,
    command: string,
    args: readonly string[] = [],
    options: SpawnOptions = {},
  ): ChildProcess {
    return this.handle(node).spawn(command, args, options);
  }

  /**
   * Runs a command inside a node's namespace to its end. `stdio: 'inherit'` passes the terminal through;
   * otherwise output is collected. Resolves with the exit code (128 + signal number when killed by a signal).
   */
  exec(
    node: string,
    argv: readonly string[],
    opts: { stdio?: 'inherit' | 'pipe'; input?: string } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    if (argv.length === 0) throw new NslabError('exec needs a command to run', 2);
    const child = this.spawn(node, argv[0], argv.slice(1), {
      stdio:
        opts.stdio === 'inherit' ? 'inherit' : [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // the command may exit without reading its input
      child.stdin.end(opts.input);
    }
    return new Promise((resolve, reject) => {
      child.on('error', (e) =>
        reject(new NslabError(`cannot run ${argv[0]} in ${node}: ${e.message}`, 1, { cause: e })),
      );
      child.on('close', (code, signal) => {
        const sig = signal ? 128 + (osConstants.signals[signal] ?? 0) : 0;
        resolve({ code: code ?? sig, stdout, stderr });
      });
    });
  }

  private closeHandles(): void {
    this.session?.close();
    this.session = undefined;
  }

  /** Closes the netlink sockets and namespace fds this object holds. */
  close(): void {
    this.closeHandles();
  }
}

/** True when some interface or bridge of the lab has an IPv6 address. */
function hasIpv6(lab: ResolvedLab): boolean {
  return lab.nodes.some(
    (n) => (n.bridgeIpv6?.length ?? 0) > 0 || n.interfaces.some((i) => i.ipv6.length > 0),
  );
}

function hostNote(hostNetns: string | null): string {
  return hostNetns ? ` with host namespace ${hostNetns}` : '';
}

/**
 * The ledger to hold while a plan runs: what the lab will own afterwards plus what it owned before, so that a
 * run killed at any point leaves everything it may have made recorded.
 */
function intentLedger(previous: Ledger | undefined, next: Ledger): Ledger {
  if (!previous) return next;
  const union = <T>(a: T[], b: T[], key: (x: T) => string) => {
    const seen = new Set(a.map(key));
    return [...a, ...b.filter((x) => !seen.has(key(x)))];
  };
  return {
    ...next,
    namespaces: union(next.namespaces, previous.namespaces, (x) => x),
    hostLinks: union(next.hostLinks, previous.hostLinks, (x) => x),
    hostAddrs: union(next.hostAddrs, previous.hostAddrs, (x) => `${x.dev} ${x.cidr}`),
    hostRoutes: union(
      next.hostRoutes,
      previous.hostRoutes,
      (x) => `${x.dst} ${x.table ?? ''} ${x.metric ?? ''}`,
    ),
    sysctls: union(previous.sysctls, next.sysctls, (x) => `${x.node} ${x.key}`),
  };
}
