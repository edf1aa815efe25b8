/**
 * The few libc calls nslab needs that Node does not offer (netlink sockets, namespaces, mounts), bound through
 * koffi. Everything here is synchronous and runs on the calling thread, which matters: a network namespace is a
 * property of a thread, so `setns`/`unshare` here change only the main thread. This module is the one place to
 * swap for a native addon later.
 */
import { constants as osConstants } from 'node:os';
import koffi from 'koffi';
import { NslabError } from './errors.js';

/** The C library, loaded once for every binding. */
export const libc = koffi.load('libc.so.6');

const c = {
  socket: libc.func('int socket(int, int, int)'),
  bind: libc.func('int bind(int, void *, uint32_t)'),
  setsockopt: libc.func('int setsockopt(int, int, int, void *, uint32_t)'),
  getsockopt: libc.func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)'),
  send: libc.func('intptr_t send(int, void *, uintptr_t, int)'),
  sendto: libc.func('intptr_t sendto(int, void *, uintptr_t, int, void *, uint32_t)'),
  recv: libc.func('intptr_t recv(int, _Out_ void *, uintptr_t, int)'),
  recvfrom: libc.func(
    'intptr_t recvfrom(int, _Out_ void *, uintptr_t, int, _Out_ void *, _Inout_ uint32_t *)',
  ),
  poll: libc.func('int poll(_Inout_ void *, uint64_t, int)'),
  setns: libc.func('int setns(int, int)'),
  unshare: libc.func('int unshare(int)'),
  mount: libc.func('int mount(const char *, const char *, const char *, unsigned long, void *)'),
  umount2: libc.func('int umount2(const char *, int)'),
  open: libc.func('int open(const char *, int, uint32_t)'),
  close: libc.func('int close(int)'),
  gettid: libc.func('int gettid()'),
  flock: libc.func('int flock(int, int)'),
  syscall: libc.func('long syscall(long, ...)'),
};

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_RCVTIMEO = 20;
export const CLONE_NEWNET = 0x40000000;
export const MS_BIND = 4096;
export const MS_REC = 16384;
export const MS_SHARED = 1 << 20;
export const MNT_DETACH = 2;
export const O_RDONLY = 0;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
/** x86_64 and aarch64 share these numbers (the generic syscall table since 5.3). */
const SYS_pidfd_send_signal = 424;
const SYS_pidfd_open = 434;

const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, num]) => [num, name]),
);

/** Name of an errno value (`EEXIST`), or `errno N` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** A failed libc call: carries the errno number and name and the call that failed. */
export class SysError extends NslabError {
  readonly errno: number;
  readonly code: string;
  readonly call: string;
  constructor(call: string, errno: number, detail?: string) {
    const code = errnoName(errno);
    super(`${call}${detail ? ` ${detail}` : ''}: ${code}`);
    this.name = 'SysError';
    this.errno = errno;
    this.code = code;
    this.call = call;
  }
}

function check(ret: number | bigint, call: string, detail?: string): number {
  const n = Number(ret);
  if (n < 0) throw new SysError(call, koffi.errno(), detail);
  return n;
}

/** socket(2). */
export function socket(domain: number, type: number, protocol: number): number {
  return check(c.socket(domain, type | SOCK_CLOEXEC, protocol), 'socket');
}

/** bind(2) with a raw sockaddr. */
export function bind(fd: number, addr: Buffer): void {
  check(c.bind(fd, addr, addr.length), 'bind');
}

/** setsockopt(2) with an int value. */
export function setsockoptInt(fd: number, level: number, option: number, value: number): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  check(c.setsockopt(fd, level, option, b, 4), 'setsockopt', `(${level}, ${option})`);
}

/** getsockopt(2) of an int option (SO_RCVBUF reads back what the kernel granted: twice what was asked). */
export function getsockoptInt(fd: number, level: number, option: number): number {
  const b = Buffer.alloc(4);
  const len = [4];
  check(c.getsockopt(fd, level, option, b, len), 'getsockopt', `(${level}, ${option})`);
  return b.readInt32LE(0);
}

/** setsockopt(2) with a raw value. */
export function setsockopt(fd: number, level: number, option: number, value: Buffer): void {
  check(c.setsockopt(fd, level, option, value, value.length), 'setsockopt', `(${level}, ${option})`);
}

/** send(2): returns the number of bytes sent. */
export function send(fd: number, buf: Buffer, flags = 0): number {
  return check(c.send(fd, buf, buf.length, flags), 'send');
}

/** sendto(2) with a raw sockaddr. */
export function sendto(fd: number, buf: Buffer, addr: Buffer, flags = 0): number {
  return check(c.sendto(fd, buf, buf.length, flags, addr, addr.length), 'sendto');
}

/**
 * recv(2) into `buf`: returns the number of bytes received, or -1 when the call would block
 * (MSG_DONTWAIT or a receive timeout) and `wouldBlockOk` is set.
 */
export function recv(fd: number, buf: Buffer, flags = 0, wouldBlockOk = false): number {
  const n = Number(c.recv(fd, buf, buf.length, flags));
  if (n < 0) {
    const e = koffi.errno();
    if (wouldBlockOk && (e === osConstants.errno.EAGAIN || e === osConstants.errno.EWOULDBLOCK)) return -1;
    throw new SysError('recv', e);
  }
  return n;
}

/** recvfrom(2): like recv, also returning the raw source sockaddr. */
export function recvfrom(fd: number, buf: Buffer, flags = 0): { n: number; from: Buffer } | undefined {
  const from = Buffer.alloc(128);
  const len = [128];
  const n = Number(c.recvfrom(fd, buf, buf.length, flags, from, len));
  if (n < 0) {
    const e = koffi.errno();
    if (e === osConstants.errno.EAGAIN || e === osConstants.errno.EWOULDBLOCK) return undefined;
    throw new SysError('recvfrom', e);
  }
  return { n, from: from.subarray(0, len[0]) };
}

/** poll(2) on some fds for POLLIN; returns the fds that are readable. Blocks the thread up to `timeoutMs`. */
export function pollIn(fds: number[], timeoutMs: number): number[] {
  const arr = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    arr.writeInt32LE(fd, i * 8);
    arr.writeInt16LE(POLLIN, i * 8 + 4);
  });
  const n = Number(c.poll(arr, fds.length, timeoutMs));
  if (n < 0) {
    const e = koffi.errno();
    if (e === osConstants.errno.EINTR) return [];
    throw new SysError('poll', e);
  }
  return fds.filter((_, i) => (arr.readInt16LE(i * 8 + 6) & POLLIN) !== 0);
}

/** setns(2): move the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number): void {
  check(c.setns(fd, nstype), 'setns');
}

/** unshare(2): give the calling thread new namespaces of the kinds in `flags`. */
export function unshare(flags: number): void {
  check(c.unshare(flags), 'unshare');
}

/** mount(2). */
export function mount(source: string, target: string, fstype: string | null, flags: number): void {
  check(c.mount(source, target, fstype, flags, null), 'mount', target);
}

/** umount2(2). */
export function umount2(target: string, flags: number): void {
  check(c.umount2(target, flags), 'umount2', target);
}

/**
 * umount2(2) on a thread of libuv's pool: resolves true when done, false when it failed (errno stays on that
 * thread: call `umount2` again to learn why). Paths and mount namespaces are the same on every thread of the
 * process, so several unmounts can wait for their RCU grace periods at once, each sharing the others'.
 */
export function umount2InPool(target: string, flags: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    c.umount2.async(target, flags, (err: unknown, r: number) => (err ? reject(err) : resolve(r === 0)));
  });
}

/** open(2), returning the fd (always O_CLOEXEC). */
export function open(path: string, flags: number, mode = 0): number {
  return check(c.open(path, flags | O_CLOEXEC, mode), 'open', path);
}

/** close(2). */
export function close(fd: number): void {
  check(c.close(fd), 'close');
}

/** gettid(2): the kernel id of the calling thread. */
export function gettid(): number {
  return c.gettid();
}

/**
 * flock(2) with LOCK_NB: takes the lock `op` (LOCK_EX) on the open file `fd`, or returns false when another open
 * file holds it. The kernel drops the lock when the last fd of the open file is closed, so a holder killed with
 * SIGKILL never leaves it behind.
 */
export function tryFlock(fd: number, op: number): boolean {
  const r = c.flock(fd, op | LOCK_NB);
  if (r === 0) return true;
  const e = koffi.errno();
  if (e === osConstants.errno.EWOULDBLOCK || e === osConstants.errno.EINTR) return false;
  throw new SysError('flock', e);
}

/**
 * pidfd_open(2): an fd that refers to process `pid` for as long as it is open, whatever number the pid gets
 * later; it becomes readable (POLLIN) when the process exits. Returns undefined when the process is gone (ESRCH).
 */
export function pidfdOpen(pid: number): number | undefined {
  // pidfds are always close-on-exec: no flag needed.
  const fd = Number(c.syscall(SYS_pidfd_open, 'int', pid, 'uint', 0));
  if (fd >= 0) return fd;
  const e = koffi.errno();
  if (e === osConstants.errno.ESRCH) return undefined;
  throw new SysError('pidfd_open', e, String(pid));
}

/** pidfd_send_signal(2): sends `signal` to the process behind `pidfd`; false when it has exited already. */
export function pidfdSendSignal(pidfd: number, signal: number): boolean {
  const r = Number(c.syscall(SYS_pidfd_send_signal, 'int', pidfd, 'int', signal, 'void *', null, 'uint', 0));
  if (r === 0) return true;
  const e = koffi.errno();
  if (e === osConstants.errno.ESRCH) return false;
  throw new SysError('pidfd_send_signal', e);
}
