/**
 * A lab's named processes (`processes:`): started detached inside their node (in its view when it has one),
 * their output appended to a log in the lab's directory, recorded in the journal as soon as their pid is known,
 * then waited for until their ready check holds; stopped as a process group.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetnsHandle } from '../netns/handle.js';
import { connectOnce } from '../netns/tcp.js';
import type { Op, ProcessRecord } from '../plan/types.js';
import {
  isRunning,
  killGroupSync,
  type StartedProcess,
  spawnDetached,
  stopGroup,
} from '../proc/supervise.js';
import { inView, type MountView } from '../proc/view.js';
import { NslabError } from '../sys/errors.js';
import type { ReadyCheck, ResolvedLab } from '../topology/types.js';
import { DEFAULT_READY_TIMEOUT_S } from '../topology/types.js';
import { ensureDir, logPath } from './labdir.js';
import type { KernelSession } from './session.js';
import type { Journal } from './store.js';

/** How long a process without a ready check must keep running after its start to count as started. */
export const SETTLE_MS = 200;
/** How often a ready check is tried. */
const POLL_MS = 50;
/** Lines of its log shown when a process fails to start. */
const SHOWN_LINES = 15;

export interface ProcessContext {
  /** The lab as the run applies it (for log paths and the node's addresses). */
  lab: ResolvedLab;
  hostNetns: string | null;
  /** The node's view, when it has one. */
  view?: MountView;
  /** Inode of the node's namespace. */
  ino: number;
  journal?: Journal;
  /** Aborted: the process is stopped and 'interrupted' returned. */
  signal?: AbortSignal;
}

/** Opens a log for appending (O_APPEND, never through a symlink, mode 0644) and writes a line saying who starts. */
function openLog(path: string, header: string): { fd: number; offset: number } {
  ensureDir(dirname(path));
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    0o644,
  );
  fchmodSync(fd, 0o644);
  writeSync(fd, header);
  return { fd, offset: fstatSync(fd).size };
}

/** What a log holds from `offset` on (at most its last `max` bytes). */
export function readLogTail(path: string, offset = 0, max = 64 * 1024): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const from = Math.max(offset, size - max);
    if (size <= from) return '';
    const buf = Buffer.alloc(size - from);
    const n = readSync(fd, buf, 0, buf.length, from);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log from `offset`, indented, for an error message. */
function lastLines(path: string, offset: number): string {
  const lines = readLogTail(path, offset)
    .replace(/\n$/, '')
    .split('\n')
    .filter((l) => l !== '');
  if (lines.length === 0) return `its log (${path}) is empty`;
  return `the last lines of its log (${path}):\n${lines
    .slice(-SHOWN_LINES)
    .map((l) => `    ${l}`)
    .join('\n')}`;
}

function readyText(r: ReadyCheck): string {
  if ('exec' in r) return `\`${r.exec}\` did not succeed`;
  if ('tcp' in r) return `nothing accepted connections on port ${r.tcp}`;
  return `its log never said "${r.log}"`;
}

/** Runs a ready check's command in the node (its view included) to its end: true when it exits 0. */
function execCheck(
  h: NetnsHandle,
  view: MountView | undefined,
  command: string,
  ms: number,
): Promise<boolean> {
  const argv = inView(view, ['sh', '-c', command]);
  const child = h.spawn(argv[0], argv.slice(1), { stdio: 'ignore', detached: true });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, ms);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** Addresses a `tcp:` check connects to: loopback, then the node's own. */
function tcpTargets(lab: ResolvedLab, node: string): string[] {
  const n = lab.nodes.find((x) => x.name === node);
  const own = (n?.interfaces ?? [])
    .flatMap((i) => [...i.ipv4, ...i.ipv6])
    .map((c) => c.slice(0, c.indexOf('/')));
  return ['127.0.0.1', '::1', ...own];
}

async function ready(
  r: ReadyCheck,
  h: NetnsHandle,
  ctx: ProcessContext,
  node: string,
  log: { path: string; offset: number },
  leftMs: number,
): Promise<boolean> {
  if ('exec' in r) return execCheck(h, ctx.view, r.exec, Math.max(100, Math.min(5000, leftMs)));
  if ('tcp' in r) {
    for (const a of tcpTargets(ctx.lab, node))
      if ((await connectOnce(h.fd, a, r.tcp, Math.max(50, Math.min(500, leftMs)))) === undefined) return true;
    return false;
  }
  return readLogTail(log.path, log.offset).includes(r.log);
}

/**
 * Starts a `process-start` op's process (see spawnDetached), records it in the journal, and waits until its
 * ready check holds (or, without one, until it has run for SETTLE_MS). Throws an NslabError with the last lines
 * of its log when it exits first or is not ready in time (it is stopped then); returns 'interrupted', after
 * stopping it, when `ctx.signal` is aborted meanwhile.
 */
export async function startProcess(
  op: Extract<Op, { op: 'process-start' }>,
  h: NetnsHandle,
  ctx: ProcessContext,
): Promise<ProcessRecord | 'interrupted'> {
  const path = logPath(ctx.lab.name, ctx.hostNetns, op.node, op.name);
  const startedAt = new Date().toISOString();
  const log = openLog(path, `# nslab: ${startedAt} start ${op.node}/${op.name}: ${op.command}\n`);
  let spawned: ReturnType<typeof spawnDetached>;
  try {
    spawned = spawnDetached(h, op.command, { log: log.fd, view: ctx.view });
  } finally {
    closeSync(log.fd);
  }
  const { child, started } = spawned;
  const rec: ProcessRecord = {
    node: op.node,
    name: op.name,
    pid: started.pid,
    startTime: started.startTime,
    ino: ctx.ino,
    command: op.command,
    log: path,
    startedAt,
  };
  ctx.journal?.started(rec);
  let exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  child.on('error', (error) => {
    exit = { code: null, signal: null, error };
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
  });
  const timeoutS = op.timeoutS ?? DEFAULT_READY_TIMEOUT_S;
  const t0 = performance.now();
  const deadline = t0 + (op.ready ? timeoutS * 1000 : SETTLE_MS);
  const what = `process ${op.name} of ${op.node}`;
  const fail = (why: string): never => {
    killGroupSync(rec);
    ctx.journal?.stopped(rec.node, rec.name, rec.pid);
    throw new NslabError(`${what} ${why}; ${lastLines(path, log.offset)}`);
  };
  for (;;) {
    if (exit) {
      const status = exit.error
        ? `could not be started (${exit.error.message})`
        : `exited with ${exit.signal ? `signal ${exit.signal}` : `status ${exit.code}`}`;
      fail(`${status} before it was ready`);
    }
    if (ctx.signal?.aborted) {
      killGroupSync(rec);
      ctx.journal?.stopped(rec.node, rec.name, rec.pid);
      return 'interrupted';
    }
    const now = performance.now();
    if (op.ready && (await ready(op.ready, h, ctx, op.node, { path, offset: log.offset }, deadline - now))) {
      // A check that passed as the process died (a port some other process holds): the exit wins.
      await sleep(0);
      if (!exit) return rec;
      continue;
    }
    if (!op.ready && now >= deadline) return rec;
    if (op.ready && performance.now() >= deadline) {
      const s = Number(timeoutS.toFixed(3));
      fail(
        `is not ready after ${s} s (${readyText(op.ready)}: give it a longer timeout, or fix its ready check)`,
      );
    }
    await sleep(Math.max(1, Math.min(POLL_MS, deadline - performance.now())));
  }
}

/** Stops a named process and its process group (SIGTERM, `graceMs`, SIGKILL); the signal sent last, if any. */
export async function stopProcess(
  rec: StartedProcess,
  graceMs?: number,
): Promise<'SIGTERM' | 'SIGKILL' | undefined> {
  return stopGroup(rec, graceMs);
}

/** The undo of a start: SIGKILL to its group, synchronously (rollbacks run newest first, at once). */
export function killProcess(rec: StartedProcess): void {
  killGroupSync(rec);
}

/** True while a recorded process runs (see isRunning). */
export function processRunning(rec: StartedProcess): boolean {
  return isRunning(rec);
}

/**
 * Runs a `process-start` or `process-stop` op of a plan: returns the undo of a start (SIGKILL to what it
 * started), or 'interrupted'. A stop signals the process group only while members of it run in the node.
 */
export async function runProcessOp(
  op: Extract<Op, { op: 'process-start' | 'process-stop' }>,
  session: KernelSession,
  opts: {
    lab?: ResolvedLab;
    views?: ReadonlyMap<string, MountView>;
    journal?: Journal;
    signal?: AbortSignal;
    graceMs?: number;
  },
): Promise<(() => void) | 'interrupted' | undefined> {
  if (op.ns === null) throw new Error(`${op.op} needs a lab namespace`);
  const ino = session.idOf(op.ns)?.ino;
  if (op.op === 'process-stop') {
    if (ino !== undefined) await stopGroup({ pid: op.pid, startTime: 0, ino }, opts.graceMs);
    opts.journal?.stopped(op.node, op.name, op.pid);
    return undefined;
  }
  if (!opts.lab) throw new Error('process-start needs the lab it starts in');
  const rec = await startProcess(op, session.handle(op.ns), {
    lab: opts.lab,
    hostNetns: session.hostNetns,
    view: opts.views?.get(op.node),
    ino: ino ?? -1,
    journal: opts.journal,
    signal: opts.signal,
  });
  if (rec === 'interrupted') return rec;
  return () => {
    killGroupSync(rec);
    opts.journal?.stopped(rec.node, rec.name, rec.pid);
  };
}
