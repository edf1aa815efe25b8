/**
 * Private labs in the library: a lab that lives in a sandbox of its own (sandbox/holder.ts), run from outside
 * through an agent inside it (agent.ts). `Lab.up(file, { private: true })` makes the sandbox and the lab; the
 * `Lab` it returns runs every kernel operation in the agent (asynchronous methods over a socket pair, the
 * synchronous ones `status`, `observe` and `plan` through a one-shot agent), and starts processes (`spawn`,
 * `exec`) through `nsenter` straight from the caller, so that they are real child processes.
 *
 * This module imports `Lab` for its type only: lab.ts defines the private subclass from it when first needed
 * (`definePrivateLab`), so that the two modules load in either order.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { viewFstab } from '../apply/labdir.js';
import { listRecorded, recordedKeys } from '../apply/store.js';
import { hasView } from '../apply/views.js';
import type { PlayedEvent } from '../faults/timeline.js';
import type { RouteInfo } from '../netlink/route.js';
import type { NetnsHandle } from '../netns/handle.js';
import type { ObservedState, Op, Plan } from '../plan/types.js';
import { inView, type MountView } from '../proc/view.js';
import type { ReachMatrix, ReachResult } from '../reach/types.js';
import type { RenderFormat } from '../render/index.js';
import { childrenOf, startHolder, stopSandbox } from '../sandbox/holder.js';
import { insideSandbox, joinCommand, SANDBOX_STATE_DIR, sandboxEnv } from '../sandbox/inside.js';
import {
  createRecord,
  liveRecord,
  liveRecords,
  type PrivateRecord,
  recordAlive,
  removeRecord,
  updateRecord,
} from '../sandbox/records.js';
import { NslabError } from '../sys/errors.js';
import type { ImpairSpec } from '../topology/faults.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';
import type { ProcessInfo } from './agent.js';
import { AgentClient, callOnce } from './agent-client.js';
import type { UpOptions, UpResult } from './deploy.js';
import type { Lab, LabOptions } from './lab.js';
import { renamed, uniqueLabName } from './name.js';
import { privileged } from './privilege.js';
import { type NamedProcess, processProblem } from './processes.js';
import type { CheckOptions, CheckReport } from './reach.js';
import type { DownOptions, DownResult } from './remove.js';
import type { LabStatus } from './view.js';
import type * as waits from './waits.js';

/** What `Lab.up` takes besides `up`'s own options, for private labs. */
export interface PrivateOptions {
  /**
   * Make the lab inside a sandbox of its own (new user namespace when not root, mount, pid and network
   * namespaces): invisible to the machine's `ip netns list`, free to reuse any names, gone with its sandbox.
   * Default: the file's `private:`, else true when not root.
   */
  private?: boolean;
  /** Lab name instead of the file's (`--name`); a private lab gets `FILENAME-XXXX` by default, unique. */
  name?: string;
  /**
   * Leave the sandbox running when this process ends (what the CLI does); by default it ends with this
   * process, however it ends.
   */
  detach?: boolean;
}

/** A Lab whose lab lives in a sandbox: what the private subclass adds. */
export interface PrivateLab extends Lab {
  /** The record of the sandbox (holder pids, nodes, file). */
  readonly sandbox: PrivateRecord;
  /** Ends the sandbox and everything in it at once (SIGKILL), and forgets its record; `down` stops processes first. */
  destroy(): Promise<void>;
}

type PrivateLabClass = new (topology: ResolvedLab, record: PrivateRecord, fresh?: boolean) => PrivateLab;

/** The node:net of a node: its namespace in the sandbox, or null for the sandbox's own (the host). */
function netnsOf(lab: Lab, node: string): string | null {
  return lab.node(node).netns;
}

/**
 * The private subclass of `Base` (which is `Lab`): every method that needs the kernel runs inside the sandbox.
 * A method of `Lab` that is not overridden here and needs the kernel fails with a sentence (see `kernel`), never
 * acts on the caller's own namespaces.
 */
export function definePrivateLab(Base: typeof Lab): PrivateLabClass {
  return class extends Base implements PrivateLab {
    readonly sandbox: PrivateRecord;
    private agentClient: AgentClient | undefined;

    /** A sandbox made for this lab, ended again when its first `up` fails. */
    private fresh: boolean;

    constructor(topology: ResolvedLab, record: PrivateRecord, fresh = false) {
      super(topology, { hostNetns: null });
      this.sandbox = record;
      this.fresh = fresh;
    }

    private agent(): AgentClient {
      if (!recordAlive(this.sandbox)) throw new NslabError(`the sandbox of private lab ${this.name} is gone`);
      this.agentClient ??= AgentClient.start(this.sandbox, { name: this.name, topology: this.topology });
      return this.agentClient;
    }

    private remote<T>(method: string, ...args: unknown[]): Promise<T> {
      return this.agent().call(method, args) as Promise<T>;
    }

    private remoteSync<T>(method: string, ...args: unknown[]): T {
      if (!recordAlive(this.sandbox)) throw new NslabError(`the sandbox of private lab ${this.name} is gone`);
      return callOnce(this.sandbox, { name: this.name, topology: this.topology }, method, args) as T;
    }

    protected override kernel(): never {
      throw new NslabError(
        `lab ${this.name} is private: this operation cannot reach the namespaces inside its sandbox from here`,
      );
    }

    override async up(opts: UpOptions = {}): Promise<UpResult> {
      let r: UpResult;
      try {
        r = await this.remote<UpResult>('up', opts);
      } catch (e) {
        if (this.fresh) await this.destroy();
        throw e;
      }
      this.fresh = false;
      const nodes = this.topology.nodes.map((n) => n.name);
      if (nodes.join('\n') !== (this.sandbox.nodes ?? []).join('\n')) {
        this.sandbox.nodes = nodes;
        updateRecord(this.sandbox);
      }
      return r;
    }

    /** Takes the lab down inside its sandbox (processes first, as `down` does), then the sandbox itself. */
    override async down(opts: DownOptions = {}): Promise<DownResult> {
      if (!recordAlive(this.sandbox)) {
        removeRecord(this.sandbox);
        return {
          lab: this.name,
          plan: { lab: this.name, ops: [] },
          changed: false,
          durationMs: 0,
          stopped: [],
          notes: [],
        };
      }
      try {
        return await this.remote<DownResult>('down', opts);
      } finally {
        await this.destroy();
      }
    }

    /** Ends the sandbox and everything in it, and forgets its record. */
    async destroy(): Promise<void> {
      this.close();
      await stopSandbox(this.sandbox);
      removeRecord(this.sandbox);
    }

    override status(): LabStatus {
      return this.remoteSync<LabStatus>('status');
    }

    override observe(): ObservedState {
      return this.remoteSync<ObservedState>('observe');
    }

    override plan(opts: { empty?: boolean } = {}): Plan {
      return opts.empty ? super.plan(opts) : this.remoteSync<Plan>('plan', opts);
    }

    override ping(opts = {}): Promise<ReachMatrix> {
      return this.remote('ping', opts);
    }

    override check(opts: CheckOptions = {}): Promise<CheckReport> {
      return this.remote('check', opts);
    }

    override graph(
      format: RenderFormat,
      opts: { routes?: boolean; live?: boolean } = {},
    ): Promise<string | Buffer> {
      return opts.live ? this.remote('graph', format, opts) : super.graph(format, opts);
    }

    override handle(_node: string): NetnsHandle {
      throw new NslabError(
        `lab ${this.name} is private: a NetnsHandle cannot reach inside its sandbox from this process; use exec or spawn`,
      );
    }

    /**
     * Starts a process inside a node, through `nsenter` into the sandbox and then into the node's namespace: a
     * real child process. Its `pid` is nsenter's; `kill()` reaches the command itself.
     */
    override spawn(
      node: string,
      command: string,
      args: readonly string[] = [],
      options: SpawnOptions = {},
    ): ChildProcess {
      const argv = [
        ...joinCommand(this.sandbox, netnsOf(this, node), options.cwd?.toString()),
        ...inView(sandboxView(this.name, this.node(node)), [command, ...args]),
      ];
      const child = spawn(argv[0], argv.slice(1), {
        ...options,
        env: sandboxEnv(this.sandbox, options.env ?? process.env),
      });
      const kill = child.kill.bind(child);
      // nsenter forks once to enter the pid namespace and does not pass signals on: signal the command.
      child.kill = (signal?: NodeJS.Signals | number) => {
        const inner = child.pid === undefined ? undefined : commandPid(child.pid);
        if (inner === undefined) return kill(signal);
        try {
          process.kill(inner, signal);
          return true;
        } catch {
          return false;
        }
      };
      return child;
    }

    /** A named process of a node, asked about and stopped or started inside the sandbox. */
    override process(node: string, name: string): NamedProcess {
      const problem = processProblem(this.topology, node, name);
      if (problem) throw new NslabError(problem, 2);
      const info = () => this.remoteSync<ProcessInfo>('processInfo', node, name);
      return {
        node,
        name,
        get pid() {
          return info().pid;
        },
        get running() {
          return info().running;
        },
        get logFile() {
          return info().logFile;
        },
        logs: () => this.remoteSync<string>('processLogs', node, name),
        stop: (opts = {}) => this.remote('processStop', node, name, opts),
        start: () => this.remote('processStart', node, name),
      };
    }

    override linkDown(end: string): Promise<Op[]> {
      return this.remote('linkDown', end);
    }

    override linkUp(end: string): Promise<Op[]> {
      return this.remote('linkUp', end);
    }

    override impair(end: string, spec: ImpairSpec): Promise<Op[]> {
      return this.remote('impair', end, spec);
    }

    override clearImpair(end: string): Promise<Op[]> {
      return this.remote('clearImpair', end);
    }

    override partition(groups: string[][]): Promise<Op[]> {
      return this.remote('partition', groups);
    }

    override heal(): Promise<Op[]> {
      return this.remote('heal');
    }

    override play(
      opts: { onEvent?: (e: PlayedEvent) => void; processes?: unknown; signal?: AbortSignal } = {},
    ): Promise<PlayedEvent[]> {
      if (opts.processes !== undefined)
        throw new NslabError(
          `lab ${this.name} is private: play cannot call process hooks of this process`,
          2,
        );
      return this.remote('play', opts);
    }

    override waitForReach(
      from: string,
      to: string,
      opts: waits.WaitOptions & { family?: 4 | 6 } = {},
    ): Promise<ReachResult[]> {
      return this.remote('waitForReach', from, to, opts);
    }

    override waitForPort(
      node: string,
      port: number,
      opts: waits.WaitOptions & { address?: string } = {},
    ): Promise<void> {
      return this.remote('waitForPort', node, port, opts);
    }

    override waitForRoute(
      node: string,
      prefix: string,
      opts: waits.WaitOptions & { table?: number } = {},
    ): Promise<RouteInfo> {
      return this.remote('waitForRoute', node, prefix, opts);
    }

    /** Ends the agent (the lab and its sandbox stay: `down` removes them). */
    override close(): void {
      this.agentClient?.close();
      this.agentClient = undefined;
    }
  };
}

/**
 * A node's view inside the sandbox (its fstab under the sandbox's own state directory, written by `up` there),
 * or undefined when the node has none.
 */
function sandboxView(lab: string, node: ResolvedNode): MountView | undefined {
  if (!hasView(node) || node.kind === 'host') return undefined;
  return { fstab: viewFstab(lab, null, node.name, SANDBOX_STATE_DIR) };
}

/** The command nsenter started, as the caller's pid namespace numbers it: nsenter's only child. */
function commandPid(nsenter: number): number | undefined {
  return childrenOf(nsenter)[0];
}

/**
 * The private lab recorded as up under `name`, when its sandbox runs and this process is outside it (inside, the
 * lab's ledger is where it always is, and the records outside mean nothing).
 */
export function privateRecordOf(name: string): PrivateRecord | undefined {
  return insideSandbox() ? undefined : liveRecord(name);
}

/**
 * Whether `Lab.up` makes `lab` privately: as asked, else as its file says (`private: true`), else when this
 * process may not make namespaces on the machine. Never from inside a sandbox, where a lab is made as on a machine.
 */
export function wantsPrivate(lab: ResolvedLab, asked: boolean | undefined, privileged: boolean): boolean {
  if (insideSandbox()) return false;
  if (asked === false && lab.private)
    throw new NslabError(
      `lab ${lab.name} is private (private: true in its file): it cannot be made without its sandbox`,
      2,
    );
  return asked ?? lab.private ?? !privileged;
}

/** Throws, for a lab whose file says `private: true`, when it is about to be made outside a sandbox. */
export function refuseUnlessPrivate(lab: ResolvedLab): void {
  if (lab.private && !insideSandbox())
    throw new NslabError(
      `lab ${lab.name} is private (private: true in its file): bring it up with Lab.up(file) or \`nslab up\`, which make its sandbox`,
      2,
    );
}

/** The private lab of record `r`, as applied (its topology is read from the ledger inside the sandbox). */
export function attachPrivate(Private: PrivateLabClass, r: PrivateRecord): PrivateLab {
  const topology = callOnce(r, { name: r.name }, 'topology', []) as ResolvedLab;
  return new Private(topology, r);
}

/**
 * The private lab a topology file is up as, when one is: the one of the file's lab name, else the only one made
 * from that file (under another name). Undefined when none is; a sentence when several are.
 */
export function locatePrivate(Private: PrivateLabClass, lab: ResolvedLab): PrivateLab | undefined {
  if (insideSandbox()) return undefined;
  const own = liveRecord(lab.name);
  if (own) return new Private(lab, own);
  if (!lab.file) return undefined;
  const file = resolve(lab.file);
  const made = liveRecords().filter((r) => r.file === file);
  if (made.length > 1)
    throw new NslabError(
      `several private labs are up from ${lab.file} (${made.map((r) => r.name).join(', ')}): name one`,
      2,
    );
  return made[0] ? new Private(renamed(lab, made[0].name), made[0]) : undefined;
}

/**
 * The private lab that has a node called `node`, when it is the only lab that has one (the labs of this machine
 * counted too, when this process may use them). Undefined when no private lab has it; a sentence when several
 * labs do.
 */
export function privateForNode(Private: PrivateLabClass, node: string): PrivateLab | undefined {
  if (insideSandbox()) return undefined;
  const own = liveRecords().filter((r) => r.nodes?.includes(node));
  if (own.length === 0) return undefined;
  const machine = privileged()
    ? listRecorded().filter((l) => l.ledger?.applied.nodes.some((n) => n.name === node))
    : [];
  if (own.length + machine.length > 1) {
    const names = [...machine.map((l) => l.lab), ...own.map((r) => `${r.name} (private)`)];
    throw new NslabError(
      `several labs have a node called ${node} (${names.join(', ')}): choose one with --lab NAME`,
      2,
    );
  }
  return attachPrivate(Private, own[0]);
}

/**
 * The private lab `topology` is brought up as (see `Lab.up`, which then calls its `up`): in the sandbox already
 * recorded under its name, or in a new one. A new sandbox is recorded before anything is made in it, and its lab
 * removes it again when its first `up` fails.
 */
export async function preparePrivate(
  Private: PrivateLabClass,
  topology: ResolvedLab,
  opts: LabOptions & PrivateOptions,
): Promise<PrivateLab> {
  if (opts.hostNetns !== undefined && opts.hostNetns !== null)
    throw new NslabError(
      `a private lab has a host namespace of its own: it cannot use ${opts.hostNetns} of the machine (--host-netns)`,
      2,
    );
  for (let attempt = 0; ; attempt++) {
    const name = opts.name ?? (opts.detach ? topology.name : uniqueLabName(topology.name));
    const lab = renamed(topology, name);
    if (privileged() && recordedKeys(name).length > 0)
      throw new NslabError(
        `a lab named ${name} is up on the machine (not private): give the private one another name (--name NAME)`,
        2,
      );
    const existing = liveRecord(name);
    if (existing) return new Private(lab, existing);
    const holder = await startHolder({ detached: !!opts.detach });
    const now = new Date().toISOString();
    const record: PrivateRecord = {
      version: 1,
      name,
      ...holder.sandbox,
      ...(lab.file ? { file: resolve(lab.file) } : {}),
      nodes: lab.nodes.map((n) => n.name),
      createdAt: now,
      updatedAt: now,
    };
    if (!createRecord(record)) {
      // Another process made a lab of that name meanwhile: use its sandbox, or (a name of ours) another name.
      await holder.abandon();
      if (attempt > 5) throw new NslabError(`cannot find a free name for private lab ${name}`);
      continue;
    }
    holder.release();
    return new Private(lab, record, true);
  }
}
