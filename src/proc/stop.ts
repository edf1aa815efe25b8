/**
 * Stops every process inside a set of network namespaces, the way a container runtime stops a container:
 * SIGTERM, a grace period, then SIGKILL, until a scan of /proc finds none left. Signals go through pidfds
 * (pidfd_open(2), pidfd_send_signal(2)), so a pid reused meanwhile by an unrelated process is never signalled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { processNetnsIno } from '../netns/named.js';
import * as sys from '../sys/libc.js';
import { type NetnsProcess, processesInNetns } from './scan.js';

/** A process that was stopped, with the signal that was sent last. */
export interface StoppedProcess extends NetnsProcess {
  signal: 'SIGTERM' | 'SIGKILL';
}

export interface StopResult {
  stopped: StoppedProcess[];
  /** Processes still alive after SIGKILL and the wait (stuck in the kernel, uninterruptible). */
  survivors: NetnsProcess[];
}

export interface StopOptions {
  /** How long processes get to exit after SIGTERM before SIGKILL (default 3000 ms; 0 sends SIGKILL at once). */
  graceMs?: number;
  /** How long to wait for processes to exit after SIGKILL (default 5000 ms). */
  killWaitMs?: number;
}

const SIGTERM = 15;
const SIGKILL = 9;

/** A process we hold by pidfd: signals reach this process only, and its exit makes the fd readable. */
interface Held {
  proc: NetnsProcess;
  fd: number;
}

/**
 * Opens a pidfd on each process and keeps those still inside their namespace once the fd is open (a pid reused
 * between the scan and pidfd_open is then another process, in another namespace, and is left alone).
 */
function hold(procs: NetnsProcess[]): Held[] {
  const out: Held[] = [];
  for (const proc of procs) {
    const fd = sys.pidfdOpen(proc.pid);
    if (fd === undefined) continue;
    if (processNetnsIno(proc.pid) !== proc.ino) {
      sys.close(fd);
      continue;
    }
    out.push({ proc, fd });
  }
  return out;
}

function signal(held: Held[], sig: number): Held[] {
  return held.filter((h) => {
    if (sys.pidfdSendSignal(h.fd, sig)) return true;
    sys.close(h.fd);
    return false;
  });
}

/** Drops (and closes) the processes that have exited; returns those still running. */
function running(held: Held[], waitMs: number): Held[] {
  if (held.length === 0) return held;
  const exited = new Set(
    sys.pollIn(
      held.map((h) => h.fd),
      waitMs,
    ),
  );
  return held.filter((h) => {
    if (!exited.has(h.fd)) return true;
    sys.close(h.fd);
    return false;
  });
}

/** Waits up to `ms` for every held process to exit, in short blocking slices between event-loop turns. */
async function waitExit(held: Held[], ms: number): Promise<Held[]> {
  const deadline = performance.now() + ms;
  let left = running(held, 0);
  while (left.length > 0) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    left = running(left, Math.min(10, Math.ceil(remaining)));
    if (left.length > 0) await sleep(0);
  }
  return left;
}

function waitExitSync(held: Held[], ms: number): Held[] {
  const deadline = performance.now() + ms;
  let left = running(held, 0);
  while (left.length > 0) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    left = running(left, Math.ceil(remaining));
  }
  return left;
}

/** One SIGKILL round: scans, signals what it finds, records it; returns the processes to wait for. */
function killRound(inodes: ReadonlySet<number>, stopped: Map<number, StoppedProcess>): Held[] | undefined {
  const found = processesInNetns(inodes);
  if (found.length === 0) return undefined;
  const killed = signal(hold(found), SIGKILL);
  for (const h of killed) stopped.set(h.proc.pid, { ...h.proc, signal: 'SIGKILL' });
  return killed;
}

/** At most this many SIGKILL rounds: a namespace whose processes keep forking gets a last scan, then a report. */
const KILL_ROUNDS = 3;

function result(stopped: Map<number, StoppedProcess>, left: Held[]): StopResult {
  for (const h of left) sys.close(h.fd);
  return { stopped: [...stopped.values()], survivors: left.map((h) => h.proc) };
}

/**
 * Stops every process inside the namespaces with these inodes: SIGTERM to all, up to `graceMs` for them to exit
 * (no wait once none is left), then SIGKILL to whatever a new scan finds (survivors and processes started
 * meanwhile), until a scan finds nothing.
 */
export async function stopProcesses(
  inodes: ReadonlySet<number>,
  opts: StopOptions = {},
): Promise<StopResult> {
  const found = processesInNetns(inodes);
  if (found.length === 0) return { stopped: [], survivors: [] };
  const graceMs = opts.graceMs ?? 3000;
  const stopped = new Map<number, StoppedProcess>();
  if (graceMs > 0) {
    const termed = signal(hold(found), SIGTERM);
    for (const h of termed) stopped.set(h.proc.pid, { ...h.proc, signal: 'SIGTERM' });
    for (const h of await waitExit(termed, graceMs)) sys.close(h.fd);
  }
  let left: Held[] = [];
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const killed = killRound(inodes, stopped);
    if (!killed) return result(stopped, []);
    left = await waitExit(killed, opts.killWaitMs ?? 5000);
    if (round < KILL_ROUNDS - 1) for (const h of left) sys.close(h.fd);
  }
  return result(stopped, left);
}

/** SIGKILL to every process inside the namespaces, and a blocking wait for them to exit (for rollbacks). */
export function killProcessesSync(inodes: ReadonlySet<number>, killWaitMs = 5000): StopResult {
  const stopped = new Map<number, StoppedProcess>();
  let left: Held[] = [];
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const killed = killRound(inodes, stopped);
    if (!killed) return result(stopped, []);
    left = waitExitSync(killed, killWaitMs);
    if (round < KILL_ROUNDS - 1) for (const h of left) sys.close(h.fd);
  }
  return result(stopped, left);
}
