/**
 * Named network namespaces exactly as iproute2 makes them: the namespace is kept alive by a bind mount of
 * /proc/thread-self/ns/net on /run/netns/NAME, and /run/netns is a shared mount point, so that `ip netns list`,
 * `ip netns exec NAME` and `ip -n NAME` see and use what nslab makes, and the other way round.
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import * as sys from '../sys/libc.js';
import {
  asNetnsError,
  NETNS_RUN_DIR,
  NetnsError,
  type NetnsId,
  namedNetnsId,
  netnsPath,
  sameNetnsId,
  threadNetnsId,
} from './identity.js';
import { inNewNetns } from './thread.js';

export {
  NETNS_RUN_DIR,
  NetnsError,
  type NetnsId,
  namedNetnsId,
  netnsPath,
  processNetnsIno,
  sameNetnsId,
  threadNetnsId,
} from './identity.js';

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
 *
 * Inside a private lab's sandbox, /proc is the sandbox's own (its pid namespace): PID 1 is the sandbox's first
 * process, in the sandbox's mount namespace, so nslab run there passes, and `ip` there sees what it makes.
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
        'would be invisible to `ip`. Run it from the host, and use --host-netns NAME to let a namespace play the host ' +
        '(or --private, for a lab in a sandbox of its own).',
      'EPERM',
    );
  }
}

/**
 * Creates the named namespace NAME: `ip netns add NAME`. `inside`, if given, runs synchronously inside the new
 * namespace (to open a netlink socket there, set lo up, write sysctls) before it gets its name; its result is
 * returned. `record` is then given the namespace's identity, still before the bind mount: whatever a caller
 * records, a namespace never carries the name without its maker having recorded it (a process killed before
 * the mount takes its unnamed namespace with it).
 */
export function addNamedNetns<T>(
  name: string,
  inside?: () => T,
  record?: (id: NetnsId) => void,
): T | undefined {
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
      const out = inside?.();
      record?.(threadNetnsId());
      sys.mount('/proc/thread-self/ns/net', path, 'none', sys.MS_BIND);
      return out;
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
 * on it first. With `expect`, the name is left alone (and false returned) unless it is still that namespace.
 */
export function deleteNamedNetns(name: string, expect?: NetnsId): boolean {
  const path = netnsPath(name);
  if (expect) {
    const now = namedNetnsId(name);
    if (typeof now !== 'object' || !sameNetnsId(now.id, expect)) return false;
  }
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
  return true;
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
