/**
 * /proc as the witness of processes inside namespaces, read by the tests themselves (not through nslab): the
 * inode of a named namespace, the processes whose network namespace is one of some inodes, processes by a word
 * of their command line.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/** Inode of the named namespace NAME (`stat -L /run/netns/NAME`). */
export function netnsInode(name: string): number {
  return statSync(`/run/netns/${name}`).ino;
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((p) => p !== process.pid);
}

/** True while process `pid` runs (exists and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Running processes whose network namespace has one of these inodes (`readlink /proc/PID/ns/net`). */
export function pidsInNetns(inodes: Iterable<number>): number[] {
  const want = new Set([...inodes].map((i) => `net:[${i}]`));
  return pids().filter((p) => {
    try {
      return want.has(readlinkSync(`/proc/${p}/ns/net`));
    } catch {
      return false;
    }
  });
}

/** Running processes with `word` as one of their arguments. */
export function pidsWithArg(word: string): number[] {
  return pids().filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(word) && alive(p);
    } catch {
      return false;
    }
  });
}
