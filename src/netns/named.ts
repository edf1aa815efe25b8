/**
 * Named network namespaces exactly as iproute2 makes them: the namespace is kept alive by a bind mount of
 * /proc/thread-self/ns/net on /run/netns/NAME, and /run/netns is a shared mount point, so that `ip netns list`,
 * `ip netns exec NAME` and `ip -n NAME` see and use what nslab makes, and the other way round.
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { NslabError } from '../sys/errors.js';
import * as sys from '../sys/libc.js';
import { inNewNetns } from './thread.js';

export const NETNS_RUN_DIR = '/run/netns';

/** A namespace operation failed (exists already, missing, not permitted). */
export class NetnsError extends NslabError {
  readonly netns: string;
  readonly code?: string;
  constructor(netns: string, message: string, code?: string, cause?: unknown) {
    super(message, 1, { cause });
    this.name = 'NetnsError';
    this.netns = netns;
    this.code = code;
  }
}

const NAME_RE = /^[A-Za-z0-9_.:@+-]{1,255}$/;

export function netnsPath(name: string): string {
  if (!NAME_RE.test(name) || name === '.' || name === '..') {
    throw new NetnsError(name, `'${name}' is not a usable namespace name`, 'EINVAL');
  }
  return `${NETNS_RUN_DIR}/${name}`;
}

let runDirReady = false;

/**
 * Makes /run/netns exist and be a shared mount point, as `ip netns add` does: make it shared, and if it is not a
 * mount point yet (EINVAL), bind-mount it on itself first.
 */
function prepareRunDir(): void {
  if (runDirReady) return;
  mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
  try {
    sys.mount('', NETNS_RUN_DIR, 'none', sys.MS_SHARED | sys.MS_REC);
  } catch (e) {
    if (!(e instanceof sys.SysError) || e.code !== 'EINVAL') throw e;
    sys.mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', sys.MS_BIND | sys.MS_REC);
    sys.mount('', NETNS_RUN_DIR, 'none', sys.MS_SHARED | sys.MS_REC);
  }
  runDirReady = true;
}

/**
 * Throws when this process does not share the mount namespace of PID 1 (for example under `ip netns exec`):
 * the /run/netns bind mounts it made would be invisible to `ip` and to every other program.
 */
export function assertHostMountNamespace(): void {
  let own: string;
  let init: string;
  try {
    own = readlinkSync('/proc/self/ns/mnt');
    init = readlinkSync('/proc/1/ns/mnt');
  } catch {
    return; // cannot tell (no access to /proc/1): let the kernel decide
  }
  if (own !== init) {
    throw new NetnsError(
      '',
      'nslab is running in a private mount namespace (for example under `ip netns exec`): namespaces it makes ' +
        'would be invisible to `ip`. Run it from the host, and use --host-netns NAME to let a namespace play the host.',
      'EPERM',
    );
  }
}

/**
 * Creates the named namespace NAME: `ip netns add NAME`. `inside`, if given, runs synchronously inside the new
 * namespace before the main thread returns home (to open a netlink socket there, for instance); its result is
 * returned.
 */
export function addNamedNetns<T>(name: string, inside?: () => T): T | undefined {
  const path = netnsPath(name);
  prepareRunDir();
  try {
    sys.close(sys.open(path, sys.O_RDONLY | sys.O_CREAT | sys.O_EXCL, 0));
  } catch (e) {
    if (e instanceof sys.SysError && e.code === 'EEXIST') {
      throw new NetnsError(name, `namespace ${name} already exists`, 'EEXIST');
    }
    throw asNetnsError(name, 'create namespace', e);
  }
  try {
    return inNewNetns(() => {
      sys.mount('/proc/thread-self/ns/net', path, 'none', sys.MS_BIND);
      return inside?.();
    });
  } catch (e) {
    try {
      sys.umount2(path, sys.MNT_DETACH);
    } catch {
      // not mounted: nothing to undo
    }
    unlinkSync(path);
    throw asNetnsError(name, 'create namespace', e);
  }
}

/**
 * Deletes the named namespace NAME: `ip netns del NAME` (lazy unmount, then unlink). The kernel destroys the
 * namespace, and with it every device inside (veth peers included), once nothing else holds it: close handles
 * on it first.
 */
export function deleteNamedNetns(name: string): void {
  const path = netnsPath(name);
  try {
    sys.umount2(path, sys.MNT_DETACH);
  } catch (e) {
    if (e instanceof sys.SysError && e.code === 'ENOENT') {
      throw new NetnsError(name, `namespace ${name} does not exist`, 'ENOENT');
    }
    if (!(e instanceof sys.SysError && e.code === 'EINVAL')) throw asNetnsError(name, 'delete namespace', e);
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw asNetnsError(name, 'delete namespace', e);
  }
}

/** Names of the named namespaces: `ip netns list`. */
export function listNamedNetns(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR).sort();
  } catch {
    return [];
  }
}

/** True when /run/netns/NAME exists. */
export function namedNetnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** Opens an fd on the named namespace (O_RDONLY), for setns(2) or IFLA_NET_NS_FD. */
export function openNamedNetns(name: string): number {
  try {
    return sys.open(netnsPath(name), sys.O_RDONLY);
  } catch (e) {
    if (e instanceof sys.SysError && e.code === 'ENOENT') {
      throw new NetnsError(name, `namespace ${name} does not exist`, 'ENOENT');
    }
    throw asNetnsError(name, 'open namespace', e);
  }
}

function asNetnsError(name: string, what: string, e: unknown): Error {
  if (e instanceof NslabError) return e;
  const code = (e as { code?: string }).code;
  if (code === 'EPERM' || code === 'EACCES') {
    return new NetnsError(
      name,
      `${what} ${name}: permission denied (nslab needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN)`,
      code,
      e,
    );
  }
  return new NetnsError(name, `${what} ${name}: ${(e as Error).message}`, code, e);
}
