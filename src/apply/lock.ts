/**
 * The lock of each lab, so that two `up`/`down` of the same lab never interleave: flock(2) on
 * /run/nslab/<key>.lock, which the kernel releases when its holder dies.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NslabError } from '../sys/errors.js';
import * as sys from '../sys/libc.js';
import { ensureStateDir, ledgerExists, readStateFileText, stateDir } from './store.js';

const O_NOFOLLOW = constants.O_NOFOLLOW;

function lockFile(key: string): string {
  return join(stateDir(), `${key}.lock`);
}

/** Opens (creating it, mode 0600) a lock file without following links. */
function openLock(file: string): number {
  ensureStateDir();
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | O_NOFOLLOW, 0o600);
  fchmodSync(fd, 0o600);
  return fd;
}

/** True when the fd still is the file at `file` (a lock file removed and made again is another file). */
function stillThere(fd: number, file: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = lstatSync(file);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/**
 * A held lab lock: `release()` lets the next run in; `remove()` also deletes the lock file (the lab is gone);
 * `finish()` does the one that fits: the lock file stays only while the lab has a ledger.
 */
export interface LabLock {
  release(): void;
  remove(): void;
  finish(): void;
}

/**
 * Takes the lab's lock: flock(2) on `<key>.lock`, waiting while another run holds it. The kernel releases the
 * lock when its holder dies, so a run killed with SIGKILL never leaves the lab locked (nothing to clean up, no
 * pid to check). The holder's pid is written in the file for the message of a waiter that gives up.
 */
export async function lockLab(key: string, timeoutMs = 60_000): Promise<LabLock> {
  const file = lockFile(key);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fd = openLock(file);
    if (sys.tryFlock(fd, sys.LOCK_EX)) {
      if (stillThere(fd, file)) {
        ftruncateSync(fd, 0);
        writeSync(fd, `${process.pid}\n`, 0);
        const remove = () => {
          rmSync(file, { force: true });
          closeSync(fd);
        };
        const release = () => closeSync(fd);
        return {
          release,
          remove,
          finish: () => (ledgerExists(key) ? release() : remove()),
        };
      }
      closeSync(fd); // removed by the holder we waited for: lock the new file
      continue;
    }
    const holder = readStateFileText(file)?.trim();
    closeSync(fd);
    if (Date.now() > deadline) {
      throw new NslabError(
        `lab ${key} is being changed by ${holder ? `process ${holder}` : 'another nslab'}; try again when it has finished`,
      );
    }
    await sleep(20);
  }
}

/** True when a run holds the lab's lock now (an `up` or `down` in progress). */
export function labLocked(key: string): boolean {
  const file = lockFile(key);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    return !sys.tryFlock(fd, sys.LOCK_EX);
  } finally {
    closeSync(fd);
  }
}

/** Keys of the labs whose lock a run holds now. */
export function heldLocks(): string[] {
  let files: string[];
  try {
    files = readdirSync(stateDir());
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.lock') && !f.startsWith('+'))
    .map((f) => f.slice(0, -'.lock'.length))
    .filter((k) => labLocked(k));
}
