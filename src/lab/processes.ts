/**
 * A lab's named processes after `up`: one stopped or started on its own (`lab.process(node, name)`, the
 * timeline's `stop: r2/ospfd`), under the lab's lock, its record kept in the ledger; and their logs.
 */
import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { logPath } from '../apply/labdir.js';
import { lockLab } from '../apply/lock.js';
import { readLogTail, startProcess } from '../apply/processes.js';
import { labKey, readLedger, writeLedger } from '../apply/store.js';
import { viewOf } from '../apply/views.js';
import type { Ledger, ProcessRecord } from '../plan/types.js';
import { isRunning, stopGroup } from '../proc/supervise.js';
import { NslabError } from '../sys/errors.js';
import type { ResolvedLab, ResolvedNode, ResolvedProcess } from '../topology/types.js';
import type { LabKernel, ProcessHooks } from './faults.js';

/** A named process as `status` shows it. */
export interface NamedProcessStatus {
  name: string;
  /** `running`; `exited` (it ran and is gone); `not started` (never started, or stopped). */
  state: 'running' | 'exited' | 'not started';
  /** The pid it was started as (absent when never started). */
  pid?: number;
  command: string;
  /** Its log file. */
  log: string;
}

function nodeOf(lab: ResolvedLab, name: string): ResolvedNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) {
    const all = lab.nodes.map((x) => x.name).join(', ');
    throw new NslabError(`lab ${lab.name} has no node ${name} (nodes: ${all})`, 2);
  }
  return n;
}

/** Why `node` has no process `name` in `lab`, or undefined when it has one. */
export function processProblem(lab: ResolvedLab, node: string, name: string): string | undefined {
  const n = lab.nodes.find((x) => x.name === node);
  if (!n) return `lab ${lab.name} has no node ${node}`;
  if (n.processes?.some((p) => p.name === name)) return undefined;
  const names = (n.processes ?? []).map((p) => p.name);
  return `lab ${lab.name} has no process ${name} on node ${node} (${names.length > 0 ? `its processes: ${names.join(', ')}` : 'it declares no processes:'})`;
}

function declared(lab: ResolvedLab, node: string, name: string): ResolvedProcess {
  const problem = processProblem(lab, node, name);
  if (problem) throw new NslabError(problem, 2);
  return nodeOf(lab, node).processes!.find((p) => p.name === name)!;
}

/** The status of every named process of a node: declared ones in file order, then recorded ones no longer declared. */
export function namedProcesses(
  lab: ResolvedLab,
  hostNetns: string | null,
  node: ResolvedNode,
  ledger: Ledger | undefined,
): NamedProcessStatus[] {
  const records = (ledger?.processes ?? []).filter((p) => p.node === node.name);
  const status = (name: string, command: string): NamedProcessStatus => {
    const rec = records.find((r) => r.name === name);
    const log = rec?.log ?? logPath(lab.name, hostNetns, node.name, name);
    if (!rec) return { name, state: 'not started', command, log };
    return { name, state: isRunning(rec) ? 'running' : 'exited', pid: rec.pid, command: rec.command, log };
  };
  const names = new Set((node.processes ?? []).map((p) => p.name));
  return [
    ...(node.processes ?? []).map((p) => status(p.name, p.command)),
    ...records.filter((r) => !names.has(r.name)).map((r) => status(r.name, r.command)),
  ];
}

/** Runs `fn` under the lab's lock, on its ledger; the lab must be up. */
async function withLedger<T>(k: LabKernel, fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  const lock = await lockLab(labKey(k.name, k.hostNetns));
  try {
    const ledger = readLedger(k.name, k.hostNetns);
    if (!ledger) throw new NslabError(`lab ${k.name} is not up: bring it up first`, 1);
    return await fn(ledger);
  } finally {
    lock.release();
    k.close();
  }
}

/** The record of a named process in the ledger, when it was started in the node's present namespace. */
function recordOf(ledger: Ledger, node: string, name: string): ProcessRecord | undefined {
  const netns = ledger.applied.nodes.find((n) => n.name === node)?.netns;
  const ino = ledger.identities.find((id) => id.name === netns)?.ino;
  return ledger.processes?.find((p) => p.node === node && p.name === name && p.ino === ino);
}

/** Stops a named process of a lab that is up (SIGTERM to its process group, `graceMs`, SIGKILL). */
export function stopNamed(k: LabKernel, node: string, name: string, graceMs?: number): Promise<void> {
  return withLedger(k, async (ledger) => {
    declared(ledger.applied, node, name);
    const rec = recordOf(ledger, node, name);
    if (!rec) return;
    await stopGroup(rec, graceMs);
    ledger.processes = ledger.processes?.filter((p) => p !== rec);
    writeLedger(ledger);
  });
}

/**
 * Starts a named process of a lab that is up, as `up` does (in its node's view, its ready check awaited), unless
 * it runs already; returns its record.
 */
export function startNamed(k: LabKernel, node: string, name: string): Promise<ProcessRecord> {
  return withLedger(k, async (ledger) => {
    const lab = ledger.applied;
    const p = declared(lab, node, name);
    const running = recordOf(ledger, node, name);
    if (running && isRunning(running)) return running;
    const n = nodeOf(lab, node);
    const id = ledger.identities.find((x) => x.name === n.netns);
    if (!n.netns || !id) throw new NslabError(`node ${node} of lab ${lab.name} has no namespace up`, 1);
    const session = k.kernel();
    const op = {
      op: 'process-start' as const,
      node,
      ns: n.netns,
      name,
      command: p.command,
      ...(p.ready && { ready: p.ready }),
      ...(p.timeoutS !== undefined && { timeoutS: p.timeoutS }),
    };
    const rec = await startProcess(op, session.handle(n.netns), {
      lab,
      hostNetns: k.hostNetns,
      view: viewOf(lab, k.hostNetns, n),
      ino: id.ino,
    });
    if (rec === 'interrupted') throw new Error('unreachable: no signal was given');
    ledger.processes = [
      ...(ledger.processes ?? []).filter((x) => !(x.node === node && x.name === name)),
      rec,
    ];
    writeLedger(ledger);
    return rec;
  });
}

/** The timeline's `stop:` and `start:` of a lab's named processes. */
export function processHooks(k: LabKernel): ProcessHooks {
  return {
    problem: (node, name) => processProblem(k.topology, node, name),
    stop: (node, name) => stopNamed(k, node, name),
    start: async (node, name) => {
      await startNamed(k, node, name);
    },
  };
}

/**
 * One named process of a lab that is up (`lab.process('r2', 'ospfd')`): its pid and state read from the ledger
 * and /proc each time they are asked for, its log, and `stop()`/`start()`.
 */
export interface NamedProcess {
  readonly node: string;
  readonly name: string;
  /** The pid it was last started as (absent when it never was, or was stopped). */
  readonly pid: number | undefined;
  /** True while that process runs (same pid and start time, in its node, not a zombie). */
  readonly running: boolean;
  /** Its log file: `/run/nslab/LAB.d/logs/NODE/NAME.log` (inside the sandbox, for a private lab). */
  readonly logFile: string;
  /** Everything in its log so far (stdout and stderr of each start, after a `# nslab:` line per start). */
  logs(): string;
  /** Stops it and its process group: SIGTERM, `graceMs` (default 3000), SIGKILL. */
  stop(opts?: { graceMs?: number }): Promise<void>;
  /** Starts it again, as `up` does, and resolves once its ready check holds. Does nothing when it runs. */
  start(): Promise<void>;
}

/** A named process of a lab of this process's own namespaces (see NamedProcess). */
export class LabProcess implements NamedProcess {
  constructor(
    private readonly k: LabKernel,
    readonly node: string,
    readonly name: string,
  ) {
    declared(k.topology, node, name);
  }

  private record(): ProcessRecord | undefined {
    const ledger = readLedger(this.k.name, this.k.hostNetns);
    return ledger && recordOf(ledger, this.node, this.name);
  }

  /** The pid it was last started as (absent when it never was, or was stopped). */
  get pid(): number | undefined {
    return this.record()?.pid;
  }

  /** True while that process runs (same pid and start time, in its node, not a zombie). */
  get running(): boolean {
    const r = this.record();
    return r !== undefined && isRunning(r);
  }

  /** Its log file: `/run/nslab/LAB.d/logs/NODE/NAME.log`. */
  get logFile(): string {
    return this.record()?.log ?? logPath(this.k.name, this.k.hostNetns, this.node, this.name);
  }

  /** Everything in its log so far (stdout and stderr of each start, after a `# nslab:` line per start). */
  logs(): string {
    return readLogTail(this.logFile, 0, 64 * 1024 * 1024);
  }

  /** Stops it and its process group: SIGTERM, `graceMs` (default 3000), SIGKILL. */
  stop(opts: { graceMs?: number } = {}): Promise<void> {
    return stopNamed(this.k, this.node, this.name, opts.graceMs);
  }

  /** Starts it again, as `up` does, and resolves once its ready check holds. Does nothing when it runs. */
  async start(): Promise<void> {
    await startNamed(this.k, this.node, this.name);
  }
}

/** The log files of a node's named processes (all of them, or `name`'s), in file order. */
export function logFiles(
  lab: ResolvedLab,
  hostNetns: string | null,
  node: string,
  name?: string,
): { name: string; path: string }[] {
  const n = nodeOf(lab, node);
  if (name !== undefined) declared(lab, node, name);
  const names = name !== undefined ? [name] : (n.processes ?? []).map((p) => p.name);
  if (names.length === 0) throw new NslabError(`node ${node} of lab ${lab.name} declares no processes:`, 2);
  return names.map((x) => ({ name: x, path: logPath(lab.name, hostNetns, node, x) }));
}

/**
 * Follows log files as `tail -f` does: calls `onData` with what each gains, every 100 ms, from its size at the
 * call (or from its start with `fromStart`), until `signal` is aborted.
 */
export async function followLogs(
  files: { name: string; path: string }[],
  onData: (name: string, text: string) => void,
  opts: { signal?: AbortSignal; fromStart?: boolean } = {},
): Promise<void> {
  const offsets = files.map((f) => (opts.fromStart ? 0 : sizeOf(f.path)));
  while (!opts.signal?.aborted) {
    files.forEach((f, i) => {
      const size = sizeOf(f.path);
      if (size < offsets[i]) offsets[i] = 0; // truncated or made again
      if (size === offsets[i]) return;
      const text = readLogTail(f.path, offsets[i], size - offsets[i]);
      offsets[i] = size;
      onData(f.name, text);
    });
    await sleep(100, undefined, { signal: opts.signal }).catch(() => undefined);
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
