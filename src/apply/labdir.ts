/**
 * A lab's own directory in the state directory, `/run/nslab/LAB.d` (`LAB@HOSTNS.d` for a `--host-netns` lab):
 * the logs of its processes (`logs/NODE/NAME.log`) and the sources of its nodes' views (`nodes/NODE/`). Made by
 * `up` when the lab has processes or views, removed by `down`.
 */
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NslabError } from '../sys/errors.js';
import { ensureStateDir, labKey, stateDir } from './store.js';

/** The lab's directory (not made). */
export function labDir(lab: string, hostNetns: string | null, root = stateDir()): string {
  return join(root, `${labKey(lab, hostNetns)}.d`);
}

/**
 * Makes `dir` (and its parents up to the state directory) exist, root's, with `mode` whatever the umask; refuses
 * a symlink where a directory should be.
 */
export function ensureDir(dir: string, mode = 0o755): string {
  const root = ensureStateDir();
  if (!dir.startsWith(`${root}/`)) throw new Error(`${dir} is not under the state directory ${root}`);
  const parts = dir.slice(root.length + 1).split('/');
  let cur = root;
  for (const p of parts) {
    cur = join(cur, p);
    try {
      mkdirSync(cur, { mode });
      chmodSync(cur, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!lstatSync(cur).isDirectory())
        throw new NslabError(`${cur} is not a directory (a symlink?): nslab will not write through it`);
    }
  }
  return dir;
}

/** The log file of a named process: `LAB.d/logs/NODE/NAME.log`. */
export function logPath(lab: string, hostNetns: string | null, node: string, name: string): string {
  return join(labDir(lab, hostNetns), 'logs', node, `${name}.log`);
}

/** Where a node's view keeps its sources: `LAB.d/nodes/NODE`. */
export function nodeDir(lab: string, hostNetns: string | null, node: string, root = stateDir()): string {
  return join(labDir(lab, hostNetns, root), 'nodes', node);
}

/**
 * The fstab of a node's view (`LAB.d/nodes/NODE/fstab`, written by `up`); `root` is the state directory it is
 * under (a private lab's is /run/nslab inside its sandbox).
 */
export function viewFstab(lab: string, hostNetns: string | null, node: string, root = stateDir()): string {
  return join(nodeDir(lab, hostNetns, node, root), 'fstab');
}

/** Removes the lab's directory, logs and view sources included. */
export function removeLabDir(lab: string, hostNetns: string | null): void {
  rmSync(labDir(lab, hostNetns), { recursive: true, force: true });
}
