/**
 * Names and identities of named network namespaces, from the filesystem alone (no libc): where `ip netns` keeps
 * them, which names it takes, and the nsfs device and inode that tell one namespace from another. named.ts makes
 * and deletes them; this part is what callers that only look (`nslab exec`'s fast path) need.
 */
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { NslabError } from '../sys/errors.js';

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

/**
 * Identity of a network namespace: the device and inode of its nsfs file, as `stat -L /proc/PID/ns/net` or
 * `stat /run/netns/NAME` gives them. Two paths name the same namespace exactly when their identities are equal;
 * a namespace deleted and made again under the same name gets another inode.
 */
export interface NetnsId {
  dev: number;
  ino: number;
}

export function sameNetnsId(a: NetnsId | undefined, b: NetnsId | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/** Device of nsfs, the filesystem of every namespace file (the same for all of them). */
let nsfsDev: number | undefined;
function nsfs(): number {
  nsfsDev ??= statSync('/proc/self/ns/net').dev;
  return nsfsDev;
}

/** Identity of the namespace of the calling thread (`stat -L /proc/thread-self/ns/net`). */
export function threadNetnsId(): NetnsId {
  const st = statSync('/proc/thread-self/ns/net');
  return { dev: st.dev, ino: st.ino };
}

/**
 * What is at /run/netns/NAME: a namespace (with its identity), a plain `file` (the placeholder `ip netns add`
 * creates before its bind mount: a run killed in between leaves it), or nothing. Never follows a symlink.
 */
export function namedNetnsId(name: string): { id: NetnsId } | 'file' | undefined {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(netnsPath(name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw asNetnsError(name, 'stat namespace', e);
  }
  if (!st || st.dev !== nsfs()) return 'file';
  return { id: { dev: st.dev, ino: st.ino } };
}

/**
 * Inode of the network namespace of process `pid` (`readlink /proc/PID/ns/net` reads `net:[INODE]`), or undefined
 * when it has exited or is a zombie (an exited process holds no namespace). Every namespace lives on nsfs, so the
 * inode alone tells namespaces apart.
 */
export function processNetnsIno(pid: number | string): number | undefined {
  try {
    const link = readlinkSync(`/proc/${pid}/ns/net`);
    return Number(link.slice(5, -1));
  } catch {
    return undefined;
  }
}

/** A NetnsError (or the NslabError it is) for a failed operation `what` on namespace `name`. */
export function asNetnsError(name: string, what: string, e: unknown): Error {
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
