/**
 * The sources of the nodes' views (`files:`, `private:` and the lab's /etc/hosts), written under the lab's
 * directory, and the fstab each view mounts from (see src/proc/view.ts). Only files of the state directory are
 * written: the host's files never change, and a view only hides paths the host has.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fstabLine, type MountView } from '../proc/view.js';
import { NslabError } from '../sys/errors.js';
import type { ResolvedLab, ResolvedNode } from '../topology/types.js';
import { ensureDir, nodeDir, viewFstab } from './labdir.js';
import { stateDir, writeStateFile } from './store.js';

/** True when the node has a view of its own (it, its kind or the defaults declare `files:` or `private:`). */
export function hasView(node: ResolvedNode): boolean {
  return node.files !== undefined || node.private !== undefined;
}

/**
 * The lab's /etc/hosts: localhost, then every address of every node on the lab's links, named by its node (IPv4
 * first, in interface order), so that `ping h2` works inside any node with a view.
 */
export function hostsFile(lab: ResolvedLab): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const n of lab.nodes) {
      const bridge = family === 'ipv4' ? n.bridgeIpv4 : n.bridgeIpv6;
      for (const cidr of [...(bridge ?? []), ...n.interfaces.flatMap((i) => i[family])])
        lines.push(`${cidr.slice(0, cidr.indexOf('/'))}\t${n.name}`);
    }
  }
  return `# written by nslab for lab ${lab.name}\n${lines.join('\n')}\n`;
}

/** What the host has at `path` (following symlinks, as a bind mount does), or undefined. */
function hostStat(path: string): { uid: number; gid: number; mode: number; dir: boolean } | undefined {
  try {
    const st = statSync(path);
    return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, dir: st.isDirectory() };
  } catch {
    return undefined;
  }
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** A directory of the view's sources with this owner and mode (`mkdir`, `chown`, `chmod`), never a symlink. */
function makeDir(path: string, like: { uid: number; gid: number; mode: number }): void {
  if (!existsSync(path)) mkdirSync(path);
  if (!lstatSync(path).isDirectory())
    throw new NslabError(`${path} is not a directory: nslab will not use it`);
  chownSync(path, like.uid, like.gid);
  chmodSync(path, like.mode);
}

/** Writes `content` at `path` (a temporary file renamed over it) unless it holds that already; then its owner. */
function writeFile(path: string, content: string, like: { uid: number; gid: number; mode: number }): void {
  let same = false;
  try {
    same = lstatSync(path).isFile() && readFileSync(path, 'utf8') === content;
  } catch {
    // not there yet
  }
  if (!same) writeStateFile(path, content, like.mode);
  chownSync(path, like.uid, like.gid);
  chmodSync(path, like.mode);
}

/**
 * Writes the sources of a node's view and its fstab, and returns the view. Private directories are made empty
 * (emptied again when `fresh`: the node's namespace is new, so is its state) with the owner and mode of the
 * directory each hides; a nested one is a directory inside its parent's source. A file inside a private directory
 * is written there; any other file is bound over the host's file of that path, which must exist, and gets its
 * owner and mode (a new file inside a private directory: the directory's owner, mode 0644). Refuses, with a
 * sentence, a private directory the host lacks and a file the host lacks outside any private directory.
 */
export function prepareView(
  lab: ResolvedLab,
  hostNetns: string | null,
  node: ResolvedNode,
  opts: { fresh?: boolean } = {},
): MountView {
  const dir = ensureDir(nodeDir(lab.name, hostNetns, node.name));
  const state = stateDir();
  const priv = node.private ?? [];
  const top = priv.filter((p) => !priv.some((q) => q !== p && within(p, q)));
  const source = (p: string) => join(dir, 'private', p);
  const lines: string[] = [];
  if (opts.fresh) rmSync(join(dir, 'private'), { recursive: true, force: true });
  for (const p of priv) {
    if (within(state, p))
      throw new NslabError(
        `private: ${p} of node ${node.name} would hide ${state}, where nslab keeps the node's view: choose a directory below it`,
        2,
      );
    const host = hostStat(p);
    const isTop = top.includes(p);
    if (isTop && !host?.dir)
      throw new NslabError(
        `private: ${p} of node ${node.name} is not a directory on this machine: a private directory hides one the host has (nslab creates nothing on the host), so make a directory above it private instead`,
        1,
      );
    if (isTop) ensureDir(dirname(source(p)));
    const parent = top.find((q) => q !== p && within(p, q));
    const like = host?.dir ? host : { ...statOf(source(parent!)), mode: 0o755 };
    if (!isTop && !existsSync(dirname(source(p)))) mkdirSync(dirname(source(p)), { recursive: true });
    makeDir(source(p), like);
    if (isTop) lines.push(fstabLine(source(p), p));
  }
  const files: Record<string, string> = { '/etc/hosts': hostsFile(lab), ...node.files };
  for (const [path, content] of Object.entries(files)) {
    const holder = top.find((d) => within(path, d));
    const host = hostStat(path);
    if (host?.dir)
      throw new NslabError(
        `files: ${path} of node ${node.name} is a directory on this machine, not a file`,
        1,
      );
    if (holder) {
      const target = source(path);
      if (!existsSync(dirname(target))) mkdirSync(dirname(target), { recursive: true });
      writeFile(target, content, host ?? { ...statOf(source(holder)), mode: 0o644 });
      continue;
    }
    if (!host)
      throw new NslabError(
        `files: ${path} of node ${node.name} does not exist on this machine, and no private: directory of the node holds it: a file is bound over one the host has (nslab creates nothing on the host), so give its directory as private:`,
        1,
      );
    const target = join(dir, 'files', path);
    ensureDir(dirname(target));
    writeFile(target, content, host);
    lines.push(fstabLine(target, path));
  }
  const fstab = viewFstab(lab.name, hostNetns, node.name);
  writeStateFile(fstab, `${lines.join('\n')}\n`);
  return { fstab };
}

function statOf(path: string): { uid: number; gid: number; mode: number } {
  const st = statSync(path);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

/**
 * Prepares the view of every node of the lab that has one (see prepareView); `fresh` names the nodes whose
 * namespace the run creates. Nodes without a view are left out: their processes run in the host's mount
 * namespace, as before.
 */
export function prepareViews(
  lab: ResolvedLab,
  hostNetns: string | null,
  fresh: ReadonlySet<string>,
): Map<string, MountView> {
  const out = new Map<string, MountView>();
  for (const n of lab.nodes)
    if (hasView(n) && n.kind !== 'host')
      out.set(n.name, prepareView(lab, hostNetns, n, { fresh: fresh.has(n.name) }));
  return out;
}

/**
 * The view of a node of a lab that is up, for a process started now (`nslab exec`, `lab.exec`): its fstab as the
 * last `up` wrote it, written now when missing. Undefined for a node without a view.
 */
export function viewOf(
  lab: ResolvedLab,
  hostNetns: string | null,
  node: ResolvedNode,
): MountView | undefined {
  if (!hasView(node) || node.kind === 'host') return undefined;
  const fstab = viewFstab(lab.name, hostNetns, node.name);
  if (existsSync(fstab)) return { fstab };
  return prepareView(lab, hostNetns, node);
}
