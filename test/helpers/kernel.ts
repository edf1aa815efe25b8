/**
 * Helpers for integration tests: unique sandbox names (prefix nslab-t-), iproute2's JSON output as the
 * independent witness of what the kernel holds, and a skip reason when not root.
 */
import { execFileSync, spawnSync } from 'node:child_process';

let counter = 0;

/** A namespace name unique to this test process: `nslab-t-<tag>-<pid>-<n>`. */
export function uniqueName(tag: string): string {
  counter += 1;
  return `nslab-t-${tag}-${process.pid}-${counter}`;
}

/** Why kernel tests cannot run here, or false when they can. */
export const skipUnlessRoot: string | false =
  process.getuid?.() === 0 ? false : 'needs root (network namespaces): run the tests with sudo';

/** `ip -json [-n NS] ARGS...`, parsed. */
export function ipJson<T = Record<string, unknown>[]>(ns: string | null, ...args: string[]): T {
  const out = execFileSync('ip', ['-json', ...(ns ? ['-n', ns] : []), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (out.trim() ? JSON.parse(out) : []) as T;
}

/** `ip netns list` names. */
export function ipNetnsList(): string[] {
  return ipJson<{ name: string }[]>(null, 'netns', 'list').map((n) => n.name);
}

/** Deletes a namespace by exact name with iproute2 if it still exists (cleanup of last resort in `after` hooks). */
export function ipNetnsDelete(name: string): void {
  if (ipNetnsList().includes(name)) spawnSync('ip', ['netns', 'del', name]);
}

/** Runs `ip netns exec NS CMD...` and returns status and output. */
export function netnsExec(
  ns: string,
  cmd: string[],
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A sysctl as seen inside NS (`ip netns exec NS sysctl -n KEY`). */
export function sysctlIn(ns: string | null, key: string): string {
  const cmd = ['sysctl', '-n', key];
  const r = ns ? netnsExec(ns, cmd) : spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
  return r.stdout.trim();
}
