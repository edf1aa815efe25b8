/**
 * The main thread's own network namespace, and entering another one for a synchronous section.
 *
 * A network namespace belongs to a thread. libuv's pool threads keep the namespace they were started in, and a
 * thread started while the main thread is inside another namespace would be born there. So this module starts the
 * pool as soon as it is loaded (while the main thread is still at home), and `inNetns` only accepts synchronous
 * work: nothing asynchronous can start or finish while the main thread is away.
 */
import { stat } from 'node:fs';
import { NslabError } from '../sys/errors.js';
import * as sys from '../sys/libc.js';

// Start libuv's thread pool now: its threads are created together on first use, in the caller's namespace.
stat('/', () => {});

/** fd of the namespace the main thread started in (kept open for the process's life). */
export const homeNetnsFd: number = sys.open('/proc/thread-self/ns/net', sys.O_RDONLY);

let away = false;

/**
 * Runs `fn` with the main thread inside the network namespace `fd` (setns(2), like `ip netns exec` does for a
 * process), then returns home. `fn` must be synchronous; sockets it opens stay bound to that namespace.
 */
export function inNetns<T>(fd: number, fn: () => T): T {
  if (fd === homeNetnsFd && !away) return fn();
  if (away) throw new NslabError('nested namespace switch: inNetns may not be called from inside inNetns');
  sys.setns(fd, sys.CLONE_NEWNET);
  away = true;
  try {
    const out = fn();
    if (out instanceof Promise) throw new NslabError('inNetns needs a synchronous function');
    return out;
  } finally {
    sys.setns(homeNetnsFd, sys.CLONE_NEWNET);
    away = false;
  }
}

/**
 * Runs `fn` inside a brand-new network namespace (unshare(2) with CLONE_NEWNET), then returns the main thread
 * home. The new namespace lives on only through what `fn` keeps: a bind mount, an open fd or a socket.
 */
export function inNewNetns<T>(fn: () => T): T {
  if (away) throw new NslabError('nested namespace switch: inNewNetns may not be called from inside inNetns');
  sys.unshare(sys.CLONE_NEWNET);
  away = true;
  try {
    return fn();
  } finally {
    sys.setns(homeNetnsFd, sys.CLONE_NEWNET);
    away = false;
  }
}
