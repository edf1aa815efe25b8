/**
 * Long-running processes inside a namespace, without a supervisor that has to stay alive: each is started in a
 * session of its own (detached from whoever started it, so `nslab up` can exit), its output appended to a log
 * file, and told apart afterwards by its pid and start time (`/proc/PID/stat` field 22), so that a pid reused by
 * another process is never taken for it. It is stopped as a process group (`kill -TERM -- -PGID`), which reaches
 * `sh -c` and the command it runs alike.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetnsHandle } from '../netns/handle.js';
import { processNetnsIno } from '../netns/named.js';
import { inView, type MountView } from './view.js';

/** What /proc says of a process: its state letter, process group and start time. */
interface Stat {
  state: string;
  pgrp: number;
  startTime: number;
}

function stat(pid: number | string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The name (field 2) is in parentheses and may hold spaces: fields after it are counted from its end.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], pgrp: Number(f[2]), startTime: Number(f[19]) };
}

/** Start time of process `pid` in clock ticks after boot (`/proc/PID/stat` field 22), or undefined when gone. */
export function processStartTime(pid: number): number | undefined {
  return stat(pid)?.startTime;
}

/** A process as recorded when it was started. */
export interface StartedProcess {
  pid: number;
  startTime: number;
  /** Inode of its network namespace. */
  ino: number;
}

/** True while the recorded process runs: the same process (start time), not a zombie, in its namespace. */
export function isRunning(p: StartedProcess): boolean {
  const s = stat(p.pid);
  return (
    s !== undefined && s.startTime === p.startTime && s.state !== 'Z' && processNetnsIno(p.pid) === p.ino
  );
}

/** Live members of process group `pgid` inside the namespace with inode `ino` (zombies left out). */
export function groupMembers(pgid: number, ino: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const s = stat(entry);
    if (!s || s.pgrp !== pgid || s.state === 'Z') continue;
    if (processNetnsIno(entry) === ino) out.push(Number(entry));
  }
  return out;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone already
  }
}

async function waitGroupGone(pgid: number, ino: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (groupMembers(pgid, ino).length === 0) return true;
    if (performance.now() >= deadline) return false;
    await sleep(Math.min(20, Math.max(1, deadline - performance.now())));
  }
}

/**
 * Stops a started process and everything in its process group: SIGTERM, up to `graceMs` for them to exit, then
 * SIGKILL. The group is signalled only while members of it run inside the process's namespace: a process group
 * id is not given out again while one of its members lives, so those are the process's. Returns the signal
 * sent last, or undefined when nothing of it ran.
 */
export async function stopGroup(
  p: StartedProcess,
  graceMs = 3000,
): Promise<'SIGTERM' | 'SIGKILL' | undefined> {
  if (groupMembers(p.pid, p.ino).length === 0) return undefined;
  if (graceMs > 0) {
    signalGroup(p.pid, 'SIGTERM');
    if (await waitGroupGone(p.pid, p.ino, graceMs)) return 'SIGTERM';
  }
  for (let round = 0; round < 3; round++) {
    if (groupMembers(p.pid, p.ino).length === 0) break;
    signalGroup(p.pid, 'SIGKILL');
    if (await waitGroupGone(p.pid, p.ino, 2000)) break;
  }
  return 'SIGKILL';
}

/** SIGKILL to the group, and a blocking wait for it to go (for rollbacks, which run synchronously). */
export function killGroupSync(p: StartedProcess, waitMs = 5000): void {
  const deadline = performance.now() + waitMs;
  while (groupMembers(p.pid, p.ino).length > 0 && performance.now() < deadline) {
    signalGroup(p.pid, 'SIGKILL');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}

export interface SpawnDetachedOptions {
  /** fd of the log file (opened O_APPEND): stdout and stderr of the process. Closed by the caller. */
  log: number;
  /** The node's mount view, when it has one. */
  view?: MountView;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts `sh -c COMMAND` inside the namespace of `h`, in a new session (setsid: its own process group, no
 * controlling terminal), stdin from /dev/null, stdout and stderr to `log`, unreferenced (this process may exit
 * first). A simple command is run by `exec` (`sh -c 'exec COMMAND'`), so that the pid is the command's (dash
 * otherwise forks it). Returns the child (its `exit` event tells an early exit) and its record.
 */
export function spawnDetached(
  h: NetnsHandle,
  command: string,
  opts: SpawnDetachedOptions,
): { child: ChildProcess; started: StartedProcess } {
  const argv = inView(opts.view, ['sh', '-c', isSimpleCommand(command) ? `exec ${command}` : command]);
  const child = h.spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', opts.log, opts.log],
    detached: true,
    env: opts.env,
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${argv[0]}`);
  // Read at once: the start time is set at fork and kept through exec.
  const startTime = processStartTime(pid) ?? 0;
  return { child, started: { pid, startTime, ino: processNetnsIno(pid) ?? -1 } };
}

const KEYWORDS = new Set(['if', 'for', 'while', 'until', 'case', 'exec', 'function', 'select', '!', '{']);

/**
 * True when `exec COMMAND` means what COMMAND means: one command, no list, pipe, subshell, group, compound
 * keyword, function or leading assignment (`A=1 cmd` would exec a program named `A=1`). Redirections are fine.
 */
export function isSimpleCommand(command: string): boolean {
  if (/[;&|()`\n]/.test(command)) return false;
  const first = command.trim().split(/\s+/)[0] ?? '';
  if (first === '' || KEYWORDS.has(first)) return false;
  return !/^[A-Za-z_][A-Za-z0-9_]*=/.test(first);
}
