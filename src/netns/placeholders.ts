/**
 * The mount-point files of many new named namespaces, made ahead on another thread.
 *
 * `ip netns add NAME` first creates /run/netns/NAME (open with O_CREAT|O_EXCL), then unshares a namespace and
 * bind-mounts it there. Creating that file costs kernel CPU that grows with the namespaces mounted in the
 * directory: on the development machine (ext4) 0.2 ms with none, 0.9 ms with 1000, more than the unshare, where a
 * file in a plain directory of the same file system takes 0.04 ms. The files do not depend on the network
 * namespace of the thread that makes them, so a worker thread makes them in plan order while the main thread
 * unshares and mounts: the two costs overlap on two cores instead of adding up.
 *
 * A file made here and never taken (a failed or interrupted run) is removed by `finish()`; one left by a
 * process killed outright is a plain file under one of the lab's recorded names, which `up` and `down` remove.
 */
import { unlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { errnoName } from '../sys/libc.js';
import { asNetnsError, NETNS_RUN_DIR, NetnsError, netnsPath } from './identity.js';

/** Fewer namespaces than this are made the usual way: a worker thread costs about as much as 20 files. */
export const PLACEHOLDERS_MIN = 32;

const PENDING = 0;
const MADE = 1;
const CLAIMED = 2;
const MAIN = 3;
/** A slot's end when the worker could not tell why it failed, or died making it: -EIO. */
const FAILED = -5;
/** Slot 0: the main thread asks the worker to stop. Slot 1: the worker has stopped. Then one slot per name. */
const STOP = 0;
const STOPPED = 1;
const FIRST = 2;

// Plain JavaScript run by the worker: it needs only node:fs. A slot is claimed (PENDING -> CLAIMED) by the worker
// before it makes that file, or by the main thread (PENDING -> MAIN), which then makes the file itself: so the
// main thread never waits for a worker still starting. A claimed slot ends MADE, or the negated errno.
const WORKER = `
const { openSync, closeSync, constants: c } = require('node:fs');
const { workerData } = require('node:worker_threads');
const { dir, names, shared } = workerData;
const s = new Int32Array(shared);
for (let i = 0; i < names.length && Atomics.load(s, ${STOP}) === 0; i++) {
  if (Atomics.compareExchange(s, ${FIRST} + i, ${PENDING}, ${CLAIMED}) !== ${PENDING}) continue;
  let r = ${MADE};
  try { closeSync(openSync(dir + '/' + names[i], c.O_RDONLY | c.O_CREAT | c.O_EXCL, 0)); }
  catch (e) { r = typeof e.errno === 'number' && e.errno < 0 ? e.errno : ${FAILED}; }
  Atomics.store(s, ${FIRST} + i, r);
  Atomics.notify(s, ${FIRST} + i);
}
Atomics.store(s, ${STOPPED}, 1);
Atomics.notify(s, ${STOPPED});
`;

/** Waits at most this long for one file (the worker is making them back to back). */
const WAIT_MS = 30_000;

export class Placeholders {
  private readonly slots: Int32Array;
  private readonly index = new Map<string, number>();
  private readonly taken = new Set<number>();
  private readonly worker: Worker;
  private finished = false;

  private constructor(private readonly names: string[]) {
    for (const [i, n] of names.entries()) this.index.set(n, i);
    const shared = new SharedArrayBuffer(4 * (FIRST + names.length));
    this.slots = new Int32Array(shared);
    this.worker = new Worker(WORKER, { eval: true, workerData: { dir: NETNS_RUN_DIR, names, shared } });
    this.worker.unref();
    this.worker.on('error', () => {
      // The worker died (seen when the main thread next yields): the main thread makes every file the worker
      // had not claimed, and one it was making counts as failed.
      for (let i = 0; i < names.length; i++) {
        if (Atomics.compareExchange(this.slots, FIRST + i, CLAIMED, FAILED) === CLAIMED)
          Atomics.notify(this.slots, FIRST + i);
      }
      Atomics.store(this.slots, STOPPED, 1);
    });
  }

  /**
   * Starts making /run/netns/NAME for each name, in this order (the directory must exist); undefined when no
   * thread can be started (the caller makes the files itself).
   */
  static start(names: string[]): Placeholders | undefined {
    for (const n of names) netnsPath(n); // refuse unusable names before any file is made
    try {
      return new Placeholders(names);
    } catch {
      return undefined;
    }
  }

  /**
   * Hands over NAME's file: true when it was made for this caller (who now owns it, and mounts on it or removes
   * it), after waiting for it if the worker is making it; false when the caller is to make it itself (NAME is
   * not one of the names, or the worker has not reached it yet). Throws as `ip netns add` would when the name
   * is taken (EEXIST) or the file could not be made.
   */
  take(name: string): boolean {
    const i = this.index.get(name);
    if (i === undefined || this.taken.has(i) || this.finished) return false;
    this.taken.add(i);
    const slot = FIRST + i;
    let r = Atomics.compareExchange(this.slots, slot, PENDING, MAIN);
    if (r === PENDING) return false;
    if (r === CLAIMED) {
      Atomics.wait(this.slots, slot, CLAIMED, WAIT_MS);
      r = Atomics.load(this.slots, slot);
    }
    if (r === MADE) return true;
    if (r === CLAIMED) {
      // Not made in time: left to finish(), which removes it if the worker makes it still.
      this.taken.delete(i);
      throw new NetnsError(
        name,
        `create namespace ${name}: making ${netnsPath(name)} timed out`,
        'ETIMEDOUT',
      );
    }
    const code = errnoName(-r);
    if (code === 'EEXIST') throw new NetnsError(name, `namespace ${name} already exists`, 'EEXIST');
    // As the main thread's own open would have failed (permission errors with their hint).
    throw asNetnsError(
      name,
      'create namespace',
      Object.assign(new Error(`${netnsPath(name)}: ${code}`), { code }),
    );
  }

  /** Stops the worker and removes every file it made that was not taken. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    Atomics.store(this.slots, STOP, 1);
    if (Atomics.load(this.slots, STOPPED) === 0) Atomics.wait(this.slots, STOPPED, 0, WAIT_MS);
    for (let i = 0; i < this.names.length; i++) {
      if (this.taken.has(i) || Atomics.load(this.slots, FIRST + i) !== MADE) continue;
      try {
        unlinkSync(netnsPath(this.names[i]));
      } catch {
        // gone already
      }
    }
  }
}
