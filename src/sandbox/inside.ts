/**
 * Whether this process runs inside a private lab's sandbox, and the environment of the processes nslab starts in
 * one. Files only, no libc (the CLI asks before it loads anything heavy).
 */
import { readlinkSync } from 'node:fs';
import type { PrivateRecord } from './records.js';

/** Names the private lab a process was started inside. */
const ENV_LAB = 'NSLAB_PRIVATE_LAB';
/** The sandbox's mount namespace (`mnt:[INODE]`): the variable counts only in that mount namespace. */
const ENV_MNT = 'NSLAB_PRIVATE_MNT';

/** nslab's state directory inside every sandbox: a tmpfs of its own there, on /run/nslab. */
export const SANDBOX_STATE_DIR = '/run/nslab';

/**
 * The name of the private lab this process runs inside, or undefined. Told by the environment nslab gives the
 * processes it starts there, and believed only in the sandbox's own mount namespace: the variables inherited by
 * a process outside it mean nothing.
 */
export function insideSandbox(): string | undefined {
  const name = process.env[ENV_LAB];
  const mnt = process.env[ENV_MNT];
  if (!name || !mnt) return undefined;
  try {
    return readlinkSync('/proc/self/ns/mnt') === mnt ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The environment of a process started inside the sandbox of `r`: `base`, and what tells it where it runs. */
export function sandboxEnv(r: PrivateRecord, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, [ENV_LAB]: r.name, [ENV_MNT]: r.mnt, NSLAB_STATE_DIR: SANDBOX_STATE_DIR };
}

/**
 * nsenter's command line that runs what follows it inside the sandbox of `r`: in its user namespace (when it has
 * one), mount, pid and network namespaces (`nsenter -t INIT -U -m -p -n`), in the directory `cwd` (joining a
 * mount namespace moves to its root otherwise). With `netns`, inside that lab namespace of the sandbox too: a
 * second nsenter, run once the mount namespace that holds /run/netns/NETNS is joined.
 */
export function joinCommand(r: PrivateRecord, netns: string | null = null, cwd = process.cwd()): string[] {
  return [
    'nsenter',
    '-t',
    String(r.init.pid),
    // --preserve-credentials: stay who we are (the user namespace maps us to its root); without it nsenter
    // calls setgroups(2), which a user namespace made by an unprivileged user refuses.
    ...(r.userns ? ['-U', '--preserve-credentials'] : []),
    '-m',
    '-p',
    '-n',
    `--wd=${cwd}`,
    '--',
    ...(netns ? ['nsenter', `--net=/run/netns/${netns}`, '--'] : []),
  ];
}
