/**
 * Finds the processes inside network namespaces, by the namespace's identity: every process whose
 * `/proc/PID/ns/net` is one of the namespaces, however it got there (`ip netns exec`, a daemon started by an
 * `exec:` entry, a child of nslab). Like `ip netns pids NAME`, but for many namespaces in one pass over /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { processNetnsIno } from '../netns/named.js';

/** A process found inside one of the namespaces asked about. */
export interface NetnsProcess {
  pid: number;
  /** Inode of its network namespace (see NetnsId). */
  ino: number;
  /** Its name as the kernel keeps it (`/proc/PID/comm`, at most 15 bytes: `zebra`). */
  comm: string;
  /** Its command line (`/proc/PID/cmdline`, arguments joined by spaces), or `[comm]` when it has none. */
  command: string;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined; // exited meanwhile
  }
}

/** What the kernel says about one process: its name and command line, or undefined once it has exited. */
function describeProcess(pid: number, ino: number): NetnsProcess | undefined {
  const comm = readProc(pid, 'comm')?.replace(/\n$/, '');
  if (comm === undefined) return undefined;
  const argv = (readProc(pid, 'cmdline') ?? '')
    .split('\0')
    .filter((a, i, all) => a !== '' || i < all.length - 1);
  return { pid, ino, comm, command: argv.length > 0 ? argv.join(' ') : `[${comm}]` };
}

/**
 * Every process (not this one) whose network namespace has one of the inodes `inodes`: one readlink per process
 * on the machine, whatever the number of namespaces (`ip netns pids` does the same per namespace).
 */
export function processesInNetns(inodes: ReadonlySet<number>): NetnsProcess[] {
  if (inodes.size === 0) return [];
  const out: NetnsProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue; // not a pid
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const ino = processNetnsIno(entry);
    if (ino === undefined || !inodes.has(ino)) continue;
    const p = describeProcess(pid, ino);
    if (p) out.push(p);
  }
  return out;
}
