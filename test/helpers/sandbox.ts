/**
 * Witnesses for private labs, read from /proc as root: every process a test starts carries a mark in its
 * environment (inherited by the sandbox's holder, its process 1, the agents and every process of the lab), so
 * "nothing is left" means no process on the machine carries the mark; and the machine's named namespaces
 * (/run/netns, what `ip netns list` reads) are watched for names of the test's own.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

let marks = 0;

/** A mark unique to this test process: `NSLAB_TEST_MARK=prv-PID-N`. */
export function newMark(): { NSLAB_TEST_MARK: string } {
  marks += 1;
  return { NSLAB_TEST_MARK: `prv-${process.pid}-${marks}` };
}

/** The processes whose environment holds the mark (pid and command name). */
export function marked(mark: { NSLAB_TEST_MARK: string }): { pid: number; comm: string }[] {
  const needle = Buffer.from(`\0NSLAB_TEST_MARK=${mark.NSLAB_TEST_MARK}\0`);
  const out: { pid: number; comm: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${entry}/environ`), Buffer.from([0])]);
      if (env.includes(needle))
        out.push({ pid: Number(entry), comm: readFileSync(`/proc/${entry}/comm`, 'utf8').trim() });
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return out;
}

/** Waits until no process carries the mark; returns those still there after `ms`. */
export async function waitUnmarked(mark: { NSLAB_TEST_MARK: string }, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = marked(mark).filter((p) => !isZombie(p.pid));
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** SIGKILL to every process carrying the mark (cleanup of last resort: the test's own processes only). */
export function killMarked(mark: { NSLAB_TEST_MARK: string }): void {
  for (const p of marked(mark)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * A fresh state directory for private labs, owned by `uid` with mode 0700, to give as XDG_RUNTIME_DIR (so that
 * the test's records are its own).
 */
export function runtimeDir(uid = 0): string {
  const dir = mkdtempSync(join(tmpdir(), 'nslab-t-prv-run-'));
  chownSync(dir, uid, uid);
  chmodSync(dir, 0o700);
  return dir;
}

export function removeRuntimeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The record of private lab `name` in the runtime directory `dir`, as JSON, or undefined. */
export function recordIn(
  dir: string,
  name: string,
): { init: { pid: number }; holder: { pid: number } } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'nslab', 'private', `${name}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The lab namespaces inside a sandbox, by name, with their inode (as root: through /proc/INIT/root). */
export function sandboxNamespaces(init: number): Map<string, number> {
  const dir = `/proc/${init}/root/run/netns`;
  return new Map(readdirSync(dir).map((n) => [n, statSync(join(dir, n)).ino]));
}

/** Inode of the machine's named namespace `name` (/run/netns/NAME), or undefined. */
export function machineNamespace(name: string): number | undefined {
  try {
    return statSync(join('/run/netns', name)).ino;
  } catch {
    return undefined;
  }
}

/**
 * Watches the machine's named namespaces (`ip netns list` is a listing of /run/netns) every 10 ms for names that
 * `ours` picks out; `stop()` returns every such name seen.
 */
export function watchMachineNamespaces(ours: (name: string) => boolean): { stop(): string[] } {
  const seen = new Set<string>();
  const look = () => {
    for (const n of readdirSync('/run/netns')) if (ours(n)) seen.add(n);
  };
  look();
  const timer = setInterval(look, 10);
  return {
    stop() {
      clearInterval(timer);
      look();
      return [...seen];
    },
  };
}

/** True when user `uid` can read `path` (and every directory above it). */
export function readableBy(uid: number, path: string): boolean {
  try {
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'test', '-r', path]);
    return true;
  } catch {
    return false;
  }
}
