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
import { Placeholders } from './placeholders.js';
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
 * Starts making the mount-point files of these namespaces ahead, on another thread (see placeholders.ts); pass
 * the result to addNamedNetns, and `finish()` it when done. Undefined when no thread could be started.
 */
export function placeholdersAhead(names: string[]): Placeholders | undefined {
  prepareRunDir();
  return Placeholders.start(names);
}

/**
 * Creates the named namespace NAME: `ip netns add NAME`. `inside`, if given, runs synchronously inside the new
 * namespace (to open a netlink socket there, set lo up, write sysctls) before it gets its name; its result is
 * returned. `record` is then given the namespace's identity, still before the bind mount: whatever a caller
 * records, a namespace never carries the name without its maker having recorded it (a process killed before
 * the mount takes its unnamed namespace with it). With `ahead`, the mount-point file is the one made there for NAME.
 */
export function addNamedNetns<T>(
  name: string,
  inside?: () => T,
  record?: (id: NetnsId) => void,
  ahead?: Placeholders,
): T | undefined {
  const path = netnsPath(name);
  prepareRunDir();
  try {
    if (!ahead?.take(name)) sys.close(sys.open(path, sys.O_RDONLY | sys.O_CREAT | sys.O_EXCL, 0));
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
  if (!isExpected(name, expect)) return false;
  try {
    sys.umount2(path, sys.MNT_DETACH);
  } catch (e) {
    if (e instanceof sys.SysError && e.code === 'ENOENT') {
      throw new NetnsError(name, `namespace ${name} does not exist`, 'ENOENT');
    }
    if (!(e instanceof sys.SysError && e.code === 'EINVAL')) throw asNetnsError(name, 'delete namespace', e);
  }
  unlinkMountPoint(name, path);
  return true;
}

/** True when there is no `expect`, or NAME is still that namespace. */
function isExpected(name: string, expect: NetnsId | undefined): boolean {
  if (!expect) return true;
  const now = namedNetnsId(name);
  return typeof now === 'object' && sameNetnsId(now.id, expect);
}

/** Removes the file a namespace was mounted on (gone already is fine). */
function unlinkMountPoint(name: string, path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw asNetnsError(name, 'delete namespace', e);
  }
}

/** How many namespaces deleteNamedNetnsMany unmounts at once (the size of libuv's pool, by default). */
const DELETE_PARALLEL = 4;

/**
 * Deletes many named namespaces as deleteNamedNetns does, several unmounts at a time on libuv's pool: each
 * unmount waits for an RCU grace period, longer while the kernel is busy destroying the namespaces deleted just
 * before, and waiting together they share them. `before` is called with each name just before its unmount.
 * Resolves with the names left alone (not the namespace `expect` says).
 */
export async function deleteNamedNetnsMany(
  items: { name: string; expect?: NetnsId }[],
  before?: (name: string) => void,
): Promise<string[]> {
  const skipped: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const { name, expect } = items[next++];
      const path = netnsPath(name);
      if (!isExpected(name, expect)) {
        skipped.push(name);
        continue;
      }
      before?.(name);
      // A failed unmount is done again here, to tell why (not mounted: only the file is left; gone: an error).
      if (!(await sys.umount2InPool(path, sys.MNT_DETACH))) deleteNamedNetns(name);
      else unlinkMountPoint(name, path);
    }
  };
  // Every worker ends before this returns (the caller's journal stays open until then); the first error wins.
  const ends = await Promise.allSettled(
    Array.from({ length: Math.min(DELETE_PARALLEL, items.length) }, worker),
  );
  const failed = ends.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return skipped;
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
