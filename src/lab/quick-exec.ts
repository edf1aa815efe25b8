/**
 * `nslab exec` without the library: the node's namespace found in the ledgers (JSON files), proven the lab's by
 * its identity (one `lstat` of /run/netns/NAME against the identity recorded when nslab made it, as
 * netns/identity.ts reads it), its view from the fstab that `up` wrote, and the command started through
 * `nsenter --net` (which execs: the command keeps the pid). No kernel bindings, parser or schema are loaded, so a call costs little more than starting Node.
 *
 * Anything out of the ordinary (not root, no ledger or several that fit, a lab named by its file, an identity that
 * does not match, a view not written yet) gives undefined: the full path (`Lab.forNode(...).exec`) then runs and
 * says what is wrong in its own words.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { viewFstab } from '../apply/labdir.js';
import { listRecorded, type RecordedLab } from '../apply/store.js';
import { NETNS_RUN_DIR, namedNetnsId, netnsPath, sameNetnsId } from '../netns/identity.js';
import type { Ledger } from '../plan/types.js';
import { inView, type MountView } from '../proc/view.js';
import { childProcess } from '../sys/lazy.js';

/** Where a command for a node runs: the namespace file to join (null: this process's own) and the node's view. */
export interface QuickTarget {
  lab: string;
  node: string;
  netnsPath: string | null;
  view?: MountView;
}

/** The path of namespace `name` when it is the one the ledger recorded making (same nsfs device and inode). */
function proven(ledger: Ledger, name: string): string | undefined {
  try {
    const now = namedNetnsId(name);
    const rec = ledger.identities.find((x) => x.name === name);
    return typeof now === 'object' && sameNetnsId(rec, now.id) ? netnsPath(name) : undefined;
  } catch {
    return undefined; // a name ip netns would not take, or /run/netns unreadable: the full path says why
  }
}

/** The one recorded lab the command means, or undefined when that takes more than the ledgers to decide. */
function recordedFor(
  node: string,
  lab: string | undefined,
  hostNetns: string | undefined,
): RecordedLab | undefined {
  const fits = (r: RecordedLab) =>
    r.ledger !== undefined &&
    (hostNetns === undefined || r.hostNetns === hostNetns) &&
    r.ledger.applied.nodes.some((n) => n.name === node);
  const found = listRecorded(lab).filter(fits);
  return found.length === 1 ? found[0] : undefined;
}

/** Where `nslab exec NODE` runs, when the ledgers alone say so for certain; else undefined (see above). */
export function quickExecTarget(
  node: string,
  opts: { lab?: string; hostNetns?: string } = {},
): QuickTarget | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (opts.lab !== undefined && (/\.ya?ml$/.test(opts.lab) || opts.lab.includes('/'))) return undefined;
  let r: RecordedLab | undefined;
  try {
    r = recordedFor(node, opts.lab, opts.hostNetns);
  } catch {
    return undefined;
  }
  const ledger = r?.ledger;
  if (!r || !ledger) return undefined;
  const n = ledger.applied.nodes.find((x) => x.name === node)!;
  if (n.netns === null) {
    // The host: the namespace playing it (not the lab's: nothing to prove), or this process's own.
    if (r.hostNetns === null) return { lab: r.lab, node, netnsPath: null };
    const path = join(NETNS_RUN_DIR, r.hostNetns);
    return existsSync(path) ? { lab: r.lab, node, netnsPath: path } : undefined;
  }
  const path = proven(ledger, n.netns);
  if (!path) return undefined;
  if (n.kind === 'host' || (n.files === undefined && n.private === undefined))
    return { lab: r.lab, node, netnsPath: path };
  const fstab = viewFstab(r.lab, r.hostNetns, node);
  return existsSync(fstab) ? { lab: r.lab, node, netnsPath: path, view: { fstab } } : undefined;
}

/** Starts `command` where `t` says (its namespace, in its view), as `spawn` would. */
export function quickSpawn(
  t: QuickTarget,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildProcess {
  const argv = inView(t.view, [command, ...args]);
  const { spawn } = childProcess();
  if (t.netnsPath === null) return spawn(argv[0], argv.slice(1), options);
  return spawn('nsenter', [`--net=${t.netnsPath}`, '--', ...argv], options);
}
