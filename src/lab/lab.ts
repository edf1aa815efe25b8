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
import { observe } from '../apply/observe.js';
import { KernelSession } from '../apply/session.js';
import { readLedger } from '../apply/store.js';
import { viewOf } from '../apply/views.js';
import { explain, explainAll } from '../explain/explain.js';
import { predictMatrix } from '../explain/matrix.js';
import type { ExplainOptions, Explanation, MatrixOptions } from '../explain/types.js';
import { observeFaults } from '../faults/observe.js';
import type { PlayedEvent } from '../faults/timeline.js';
import type { RouteInfo } from '../netlink/route.js';
import type { NetnsHandle } from '../netns/handle.js';
import { exportScript } from '../plan/export.js';
import { formatOp } from '../plan/format.js';
import type { ObservedState, Op, Plan } from '../plan/types.js';
import { planUp } from '../plan/up.js';
import { type PingMatrixOptions, pingMatrix } from '../probe/matrix.js';
import { inView } from '../proc/view.js';
import { judgeExpectations } from '../reach/matrix.js';
import type { ExpectationResult, ReachMatrix, ReachResult } from '../reach/types.js';
import { type RenderFormat, render } from '../render/index.js';
import { NslabError } from '../sys/errors.js';
import type { ImpairSpec } from '../topology/faults.js';
import { isAddress } from '../topology/ip.js';
import { loadTopology, parseTopology, specTopology, type TopologySpec } from '../topology/load.js';
import type { LabWarning, ResolvedLab, ResolvedNode } from '../topology/types.js';
import { deploy, type UpOptions, type UpResult } from './deploy.js';
import { type ExecOptions, type ExecResult, execIn } from './exec.js';
import * as faults from './faults.js';
import { findLab, findNodeLab, isFileArgument, type LabSummary, listLabs, recordedHost } from './find.js';
import { linksDown } from './links.js';
import { renamed } from './name.js';
import type { LabOptions, LabUpOptions } from './options.js';
import {
  attachPrivate,
  definePrivateLab,
  locatePrivate,
  preparePrivate,
  privateForNode,
  privateRecordOf,
  refuseUnlessPrivate,
  wantsPrivate,
} from './private.js';
import { privileged, requirePrivilege } from './privilege.js';
import { LabProcess, type NamedProcess } from './processes.js';
import {
  type CheckOptions,
  type CheckReport,
  checkLab,
  HOST_FORWARDING_SYSCTLS,
  labWarnings,
  liveAssumptions,
  pingWatchingNeighbours,
} from './reach.js';
import {
  collectGarbage,
  type DownOptions,
  type DownResult,
  type GcOptions,
  type GcResult,
  removeLab,
} from './remove.js';
import { disposeLab, forgetLab, startLab } from './start.js';
import { type LabStatus, labStatus } from './view.js';
import * as waits from './waits.js';

export type { TopologySpec } from '../topology/load.js';
export type { UpOptions, UpResult } from './deploy.js';
export type { ExecOptions, ExecResult } from './exec.js';
export type { LabSummary } from './find.js';
export type { LabOptions, LabUpOptions } from './options.js';
export type { PrivateLab, PrivateOptions } from './private.js';
export { privileged, requirePrivilege } from './privilege.js';
export type { LabProcess, NamedProcess, NamedProcessStatus } from './processes.js';
export type { DownOptions, DownResult, GcOptions, GcResult } from './remove.js';
export type { InterfaceStatus, LabStatus, NodeStatus, ProcessStatus } from './view.js';

let privateClass: ReturnType<typeof definePrivateLab> | undefined;
/** The private subclass of Lab (private.ts), made once Lab exists. */
function Private() {
  privateClass ??= definePrivateLab(Lab);
  return privateClass;
}

/**
 * A lab loaded from a topology file (or found by name once up): built, inspected, used and taken down. A private
 * lab (`Lab.up(file, { private: true })`) has the same methods, run inside its sandbox.
 */
export class Lab {
  /** The lab as the file describes it, resolved (addresses and routes filled in). */
  readonly topology: ResolvedLab;
  readonly hostNetns: string | null;
  private session: KernelSession | undefined;

  constructor(topology: ResolvedLab, opts: LabOptions = {}) {
    this.topology = topology;
    this.hostNetns = opts.hostNetns ?? null;
  }

  /**
   * Loads and resolves a topology file. Throws TopologyError (exit code 2) with every problem and its position.
   * `name` overrides the file's lab name (`--name`).
   */
  static async load(file: string, opts: LabOptions & { name?: string } = {}): Promise<Lab> {
    return new Lab(renamed(await loadTopology(file), opts.name), opts);
  }

  /**
   * Brings up the lab of a topology file, or of a spec object in its shape (typed from the schema: tests need no
   * file), and holds it until it is torn down: at the end of an `await using` block, by `down()`, or when this
   * process gets SIGINT or SIGTERM (every lab it holds is torn down, once; then it exits with 128 + the signal's
   * number). Tearing down stops its named processes, then takes the lab down. Fails as `up` does, rolled back.
   *
   * A private lab (`private: true`, the file's `private:`, or anyone who is not root) is made in a sandbox of its
   * own, under a unique name unless `name` gives one (`seed-7f3a`); it ends with this process unless `detach` is
   * set.
   *
   * ```ts
   * await using lab = await Lab.up('ospf.nslab.yml', { hostNetns: 'sbx' });
   * ```
   */
  static up(fileOrSpec: string | TopologySpec, opts: LabUpOptions = {}): Promise<Lab> {
    return startLab(
      async (x, o) => {
        const topology = typeof x === 'string' ? await loadTopology(x) : specTopology(x);
        if (wantsPrivate(topology, o.private, privileged())) return preparePrivate(Private(), topology, o);
        return new Lab(renamed(topology, o.name), o);
      },
      fileOrSpec,
      opts,
    );
  }

  /** A lab from a spec object in the shape of a topology file (checked and resolved as its YAML would be). */
  static fromSpec(spec: TopologySpec, opts: LabOptions = {}): Lab {
    return new Lab(specTopology(spec), opts);
  }

  /** Parses topology text (YAML). */
  static parse(text: string, opts: LabOptions & { file?: string } = {}): Lab {
    return new Lab(parseTopology(text, opts.file), opts);
  }

  /**
   * The lab recorded as up under `name` (by an earlier `up`), as it was applied; whichever host namespace it was
   * built against unless `opts.hostNetns` says. Throws a sentence when none is up, when several labs share the
   * name (choose with `hostNetns`), or when its ledger is damaged.
   */
  static attach(name: string, opts: LabOptions = {}): Lab {
    const own = opts.hostNetns === undefined ? privateRecordOf(name) : undefined;
    if (own) return attachPrivate(Private(), own);
    const r = findLab(name, opts.hostNetns);
    return new Lab(r.ledger!.applied, { hostNetns: r.hostNetns });
  }

  /**
   * A lab given either as a topology file (a path to an existing file, or ending in .yml/.yaml) or as the name
   * of a lab that is up.
   */
  static async open(fileOrName: string, opts: LabOptions = {}): Promise<Lab> {
    if (Lab.isFileArgument(fileOrName)) return Lab.load(fileOrName, opts);
    return Lab.attach(fileOrName, opts);
  }

  /**
   * Like `open`, for a lab that may be up: a file's lab gets the host namespace its lab is up with (when
   * `opts.hostNetns` is left out and it is up with exactly one), so that `status` and `down` of a file find it.
   */
  static async locate(fileOrName: string, opts: LabOptions = {}): Promise<Lab> {
    if (!Lab.isFileArgument(fileOrName)) return Lab.attach(fileOrName, opts);
    const lab = await Lab.load(fileOrName, opts);
    if (opts.hostNetns !== undefined) return lab;
    const own = locatePrivate(Private(), lab.topology);
    if (own) return own;
    const host = recordedHost(lab.name, undefined);
    return host === lab.hostNetns ? lab : new Lab(lab.topology, { hostNetns: host });
  }

  /** True when `arg` names a topology file rather than a lab (an existing path, or a .yml/.yaml name). */
  static isFileArgument(arg: string): boolean {
    return isFileArgument(arg);
  }

  /**
   * The lab that is up and has a node called `node`: the one named `lab` when given, else the only one that has
   * it. Throws a sentence when none or several do.
   */
  static async forNode(node: string, opts: LabOptions & { lab?: string } = {}): Promise<Lab> {
    if (opts.lab && Lab.isFileArgument(opts.lab)) return Lab.locate(opts.lab, opts);
    if (opts.lab && opts.hostNetns === undefined) return Lab.attach(opts.lab, opts);
    const own = opts.hostNetns === undefined ? privateForNode(Private(), node) : undefined;
    if (own) return own;
    const r = findNodeLab(node, opts);
    return new Lab(r.ledger!.applied, { hostNetns: r.hostNetns });
  }

  /** Labs recorded as up on this machine (a damaged ledger is listed with `damaged` set). */
  static list(): LabSummary[] {
    return listLabs();
  }

  /**
   * Takes down the lab recorded under `name` without loading it: what `down` does, and with `force` the
   * recovery from the kernel alone that a damaged ledger needs (`nslab down --force NAME`).
   */
  static async remove(name: string, opts: LabOptions & DownOptions = {}): Promise<DownResult> {
    const own = opts.hostNetns === undefined ? privateRecordOf(name) : undefined;
    if (own) return attachPrivate(Private(), own).down(opts);
    requirePrivilege();
    return removeLab(name, opts.hostNetns ?? null, opts);
  }

  /**
   * Every object on the machine carrying an nslab mark that no lab's ledger owns (`nslab gc`), removed with
   * `yes`. Labs whose lock is held (an `up` in progress) or whose ledger is damaged are skipped.
   */
  static async gc(opts: GcOptions = {}): Promise<GcResult> {
    requirePrivilege();
    return collectGarbage(opts);
  }

  get name(): string {
    return this.topology.name;
  }

  /** The namespaces of the lab, opened as they are needed (a private lab's are out of reach: see private.ts). */
  protected kernel(): KernelSession {
    requirePrivilege();
    this.session ??= new KernelSession(this.hostNetns);
    return this.session;
  }

  /** Reads the live state of the lab's namespaces. */
  observe(): ObservedState {
    const ledger = readLedger(this.name, this.hostNetns);
    const session = this.kernel();
    return observeFaults(session, this.topology, observe(session, this.topology, ledger), ledger?.applied);
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
    observeFaults(this.kernel(), this.topology, observed, ledger?.applied);
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
   * this run changed is rolled back and an ApplyError names the operation and the kernel's answer; aborted
   * (`opts.signal`), it is rolled back too and rejects with an InterruptedError. A namespace under one of the
   * lab's names that the lab did not make is never taken over: a PlanError names it.
   */
  async up(opts: UpOptions = {}): Promise<UpResult> {
    refuseUnlessPrivate(this.topology);
    try {
      return await deploy(this.topology, this.hostNetns, this.kernel(), opts);
    } finally {
      this.closeHandles();
    }
  }

  /**
   * Removes what the lab owns and restores the host sysctls it changed: first every process running inside its
   * namespaces (SIGTERM, `graceMs`, SIGKILL; reported in `stopped`), then its namespaces, then its host-side
   * objects; returns once the kernel shows none of its devices. Proven from the kernel: a namespace with the
   * lab's name and another identity, or a device without the lab's mark, is left alone (said in `notes`). Does
   * nothing when the lab is not up.
   */
  async down(opts: DownOptions = {}): Promise<DownResult> {
    this.closeHandles();
    forgetLab(this);
    return Lab.remove(this.name, { ...opts, hostNetns: this.hostNetns });
  }

  /** Live state read back from the kernel (with the processes running in each node), and the drift from the file. */
  status(): LabStatus {
    try {
      return labStatus(this.topology, this.hostNetns, this.kernel());
    } finally {
      this.closeHandles();
    }
  }

  /**
   * What may keep the lab from working as hoped without stopping it: the file's warnings (`routing: auto` that
   * finds no route for a node) and a neighbour table too small for the lab (read from the kernel).
   */
  warnings(): LabWarning[] {
    return labWarnings(this.topology);
  }

  /**
   * Predicts every ping from the file alone (`nslab check --predict`), and the `expect:` targets; nothing is
   * sent.
   */
  predict(opts: MatrixOptions = {}): ReachMatrix {
    return predictMatrix(this.topology, opts);
  }

  /** Judges the file's `expect:` entries on a matrix, predicted (by default) or observed. */
  judge(matrix: ReachMatrix = this.predict()): ExpectationResult[] {
    return judgeExpectations(this.topology, matrix);
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
   * namespace (`nslab ping`), watching the kernel's neighbour table for overflows meanwhile.
   */
  async ping(opts: PingMatrixOptions = {}): Promise<ReachMatrix> {
    const session = this.kernel();
    try {
      return await pingWatchingNeighbours(() =>
        pingMatrix(this.topology, (node) => session.handle(this.node(node).netns).fd, opts),
      );
    } finally {
      this.closeHandles();
    }
  }

  /**
   * Checks the live lab (`nslab check`): every `expect:` entry, and every pair's answer against the prediction
   * made from the file (with the host's live forwarding sysctls; in a lab with `routing: external`, without the
   * links that are down now, which its protocol goes around); with `waitMs`, until it passes or time is up.
   */
  async check(opts: CheckOptions = {}): Promise<CheckReport> {
    const host = this.topology.nodes.some((n) => n.kind === 'host') && !opts.expectOnly;
    const hostValues = host ? this.kernel().handle(null).sysctls(HOST_FORWARDING_SYSCTLS) : {};
    // A routing protocol goes around the links that are down: so does its prediction.
    const external = this.topology.nodes.some((n) => n.externalRouting) && !opts.expectOnly;
    const down = external ? linksDown(this.kernel(), this.topology) : [];
    return checkLab(
      {
        lab: this.topology,
        predict: (o) => this.predict({ ...liveAssumptions(hostValues), linksDown: down, ...o }),
        ping: (o) => this.ping(o),
      },
      opts,
    );
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

  /**
   * Starts a process inside a node (`ip netns exec NS CMD ...`; see NetnsHandle.spawn), in the node's view when
   * it has one (`files:`, `private:`). It belongs to the lab: `down` stops it.
   */
  spawn(
    node: string,
    command: string,
    args: readonly string[] = [],
    options: SpawnOptions = {},
  ): ChildProcess {
    const argv = inView(viewOf(this.topology, this.hostNetns, this.node(node)), [command, ...args]);
    return this.handle(node).spawn(argv[0], argv.slice(1), options);
  }

  /**
   * Runs a command inside a node to its end (see `spawn`). `stdio: 'inherit'` passes the terminal through;
   * otherwise output is collected. Resolves with the exit code (128 + signal number when killed by a signal; 124
   * when `timeoutMs` ran out and it was killed).
   */
  exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return execIn((c, a, o) => this.spawn(node, c, a, o), node, argv, opts);
  }

  /** A named process of a node (`processes:`): its pid, whether it runs, its log, `stop()` and `start()`. */
  process(node: string, name: string): NamedProcess {
    return new LabProcess(this.faultContext(), node, name);
  }

  /** Tears the lab down at the end of an `await using` block: its named processes, then the lab (see `up`). */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeLab(this);
  }

  // ---- faults (src/lab/faults.ts) and waits (src/lab/waits.ts) ------------------------------------------

  /** What the fault verbs need of this lab. */
  private faultContext(): faults.LabKernel {
    return {
      name: this.name,
      hostNetns: this.hostNetns,
      topology: this.topology,
      kernel: () => this.kernel(),
      close: () => this.closeHandles(),
    };
  }

  /** Sets one end of a link down (`ip link set dev IF down`); the peer sees carrier loss. Returns the ops run. */
  linkDown(end: string): Promise<Op[]> {
    return faults.setLinkState(this.faultContext(), end, false);
  }

  /** Sets one end of a link back up (`ip link set dev IF up`). */
  linkUp(end: string): Promise<Op[]> {
    return faults.setLinkState(this.faultContext(), end, true);
  }

  /**
   * Gives one end exactly this impairment of what leaves it, replacing what it had (`tc qdisc replace ... tbf`
   * or `netem`; loss as an nftables rule on a kernel without netem): `{ rate: '10mbit', loss: 0.05 }`.
   * Numbers are bit/s, a fraction and milliseconds; strings take tc's units (`10mbit`, `5%`, `20ms`).
   */
  async impair(end: string, spec: ImpairSpec): Promise<Op[]> {
    return faults.setImpairment(this.faultContext(), end, faults.impairmentArgument(spec));
  }

  /** Removes every impairment of one end (`tc qdisc del dev IF root`, and its loss rule). */
  clearImpair(end: string): Promise<Op[]> {
    return faults.setImpairment(this.faultContext(), end, null);
  }

  /**
   * Drops all traffic between nodes of different groups (`[['a'], ['b', 'c']]`), wherever it is sent from;
   * nodes in no group keep theirs, links stay up. Replaces the partition before.
   */
  partition(groups: string[][]): Promise<Op[]> {
    return faults.partition(this.faultContext(), groups);
  }

  /** Removes every partition. */
  heal(): Promise<Op[]> {
    return faults.heal(this.faultContext());
  }

  /** The first address of a node (`b`) or interface (`b:e0`), without prefix length; IPv4 first. */
  addr(target: string, opts: { family?: 4 | 6 } = {}): string {
    return faults.firstAddress(this.topology, target, opts.family);
  }

  /** Every address of a node or interface, without prefix length, IPv4 first. */
  addrs(target: string, opts: { family?: 4 | 6 } = {}): string[] {
    return faults.addresses(this.topology, target, opts.family);
  }

  /** Plays the file's `timeline:`, each event at its time; `onEvent` hears each as it happens. */
  play(
    opts: { onEvent?: (e: PlayedEvent) => void; processes?: faults.ProcessHooks; signal?: AbortSignal } = {},
  ): Promise<PlayedEvent[]> {
    return faults.play(this.faultContext(), opts);
  }

  /** Resolves once `from` reaches `to` (a node: each of its addresses, or an address); fails with what it saw. */
  async waitForReach(
    from: string,
    to: string,
    opts: waits.WaitOptions & { family?: 4 | 6 } = {},
  ): Promise<ReachResult[]> {
    try {
      return await waits.waitForReach(this.kernel(), this.topology, from, to, opts);
    } finally {
      this.closeHandles();
    }
  }

  /** Resolves once something inside `node` accepts TCP connections on `port` (127.0.0.1, or `address`). */
  async waitForPort(
    node: string,
    port: number,
    opts: waits.WaitOptions & { address?: string } = {},
  ): Promise<void> {
    try {
      return await waits.waitForPort(this.kernel(), this.topology, node, port, opts);
    } finally {
      this.closeHandles();
    }
  }

  /** Resolves once `node` has a route to exactly `prefix`, watching the kernel's route events. */
  async waitForRoute(
    node: string,
    prefix: string,
    opts: waits.WaitOptions & { table?: number } = {},
  ): Promise<RouteInfo> {
    try {
      return await waits.waitForRoute(this.kernel(), this.topology, node, prefix, opts);
    } finally {
      this.closeHandles();
    }
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
