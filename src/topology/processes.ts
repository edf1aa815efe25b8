/**
 * The software keys of a node: `processes:` (long-running programs that are part of the lab, with a readiness
 * check), `files:` and `private:` (the node's own view of the filesystem: bind mounts in a mount namespace made
 * for its processes). Their schema and their resolution; src/apply/views.ts and src/apply/processes.ts carry
 * them out.
 */
import { z } from 'zod';
import type { SpecPath } from './resolve.js';
import type { TopologyFile, TopologyKindSpec, TopologyNodeSpec } from './schema.js';
import type { ResolvedNode } from './types.js';
import { type Parsed, parseDuration } from './units.js';

/** When the process counts as ready; without one, when it is still running a moment after it started. */
export type ReadyCheck =
  /** A shell command, run in the node (its view included), that exits 0 once the process is ready. */
  | { exec: string }
  /** A TCP port something accepts connections on inside the node (127.0.0.1, ::1 or the node's addresses). */
  | { tcp: number }
  /** Text that appears in the process's log (its stdout and stderr). */
  | { log: string };

/** A long-running process of a node (`processes:`), started by `up` after the network, in file order. */
export interface ResolvedProcess {
  /** Its name in the node (`zebra`): `nslab logs LAB r1/zebra`, `lab.process('r1', 'zebra')`. */
  name: string;
  /** Run by `sh -c` inside the node's namespace. */
  command: string;
  ready?: ReadyCheck;
  /** Seconds it has to become ready (default 30). */
  timeoutS?: number;
}

export { DEFAULT_READY_TIMEOUT_S } from './types.js';

/** Process names: one word, as `NODE/NAME` and a log file name take it. */
const PROCESS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Why `path` cannot be a path of `files:` or `private:`, or undefined when it can. */
export function viewPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `must be an absolute path (like /etc/frr), not '${path}'`;
  if (/[\x00-\x1f\x7f]/.test(path)) return `contains a control character: ${JSON.stringify(path)}`;
  if (path === '/') return "cannot be '/': the node's view hides single directories and files, not the root";
  if (path.endsWith('/') || path.includes('//') || /\/\.\.?(\/|$)/.test(path))
    return `must be written plainly, without '//', '.', '..' or a trailing '/': '${path}'`;
  if (Buffer.byteLength(path) > 4095) return 'is too long: Linux takes paths of at most 4095 bytes';
  return undefined;
}

/** Directories a node's view may not hide: the kernel's own (namespaces, devices) and where named namespaces live. */
const KERNEL_DIRS = ['/proc', '/sys', '/dev', '/run/netns'];

/** Why `path` cannot be a `private:` directory, or undefined when it can. */
export function privatePathProblem(path: string): string | undefined {
  const p = viewPathProblem(path);
  if (p) return p;
  const kernel = KERNEL_DIRS.find((d) => path === d || path.startsWith(`${d}/`));
  if (kernel) return `cannot be under ${kernel}: the kernel's own files stay visible in every node`;
  return undefined;
}

function checked(problem: (s: string) => string | undefined) {
  return z.string().refine((s) => problem(s) === undefined, { error: (iss) => problem(String(iss.input)) });
}

const readySchema = z
  .union([
    z.strictObject({
      exec: z.string().min(1).describe('Shell command run in the node until it exits 0.'),
    }),
    z.strictObject({
      tcp: z.int().min(1).max(65535).describe('Port accepting TCP connections inside the node.'),
    }),
    z.strictObject({ log: z.string().min(1).describe("Text that appears in the process's log.") }),
  ])
  .describe(
    'When the process is ready: { exec: CMD } exits 0, { tcp: PORT } accepts connections, or { log: TEXT } appears in its output.',
  );

const processSchema = z
  .strictObject({
    name: checked((s) =>
      PROCESS_NAME.test(s)
        ? undefined
        : `must be one word of letters, digits, '_', '.' and '-' (at most 64), not '${s}'`,
    ).describe('Name of the process in its node (nslab logs LAB NODE/NAME).'),
    command: z.string().min(1).describe('Shell command (run with sh -c); keep daemons in the foreground.'),
    ready: readySchema.optional(),
    timeout: z
      .union([z.number().positive().max(86400), z.string()])
      .optional()
      .describe('How long it has to become ready: 30s, 500ms, 2m, or a number of seconds (default 30).'),
  })
  .describe('A long-running process of the node: started after the network is up, stopped by down.');

export const processesSchema = z
  .array(processSchema)
  .describe(
    'Long-running processes, started in order after the network is up; up returns once each is ready. Output goes to a log per process (nslab logs).',
  );

export const filesSchema = z
  .record(checked(viewPathProblem), z.string())
  .describe(
    "Files this node's processes see with this content instead of the host's (a bind mount in the node's mount namespace); the host's files never change.",
  );

export const privateSchema = z
  .array(checked(privatePathProblem))
  .describe(
    "Directories each process of this node sees as the node's own: empty at first, writable, with the owner and mode of the directory they hide.",
  );

type Fail = (path: SpecPath, message: string, key?: boolean) => void;

/** Seconds of a `timeout:` (a number of seconds, or a duration such as `30s`). */
function timeoutSeconds(value: number | string): Parsed<number> {
  if (typeof value === 'number') return { value };
  const d = parseDuration(value, 86400e6);
  if ('problem' in d) return d;
  if (d.value === 0) return { problem: 'must be longer than 0' };
  return { value: d.value / 1e6 };
}

/** The spec of a node's own level, of its kind and of the lab's defaults, from nearest to farthest. */
interface Levels {
  node: TopologyNodeSpec;
  kind: TopologyKindSpec;
  defaults: NonNullable<TopologyFile['topology']['defaults']>;
  /** Where each level is written, for messages. */
  paths: { node: SpecPath; kind: SpecPath; defaults: SpecPath };
}

/**
 * Fills in a node's `processes`, `files` and `private` from its own keys, its kind's and the defaults: processes
 * are the nearest list (like `exec:`), files are merged path by path (the nearest wins), private directories
 * are joined. The host node takes none of them: its processes would run in the namespace nslab runs from,
 * where `down` stops nothing.
 */
export function resolveSoftware(node: ResolvedNode, levels: Levels, fail: Fail): void {
  const { node: n, kind: k, defaults: d, paths } = levels;
  if (node.kind === 'host') {
    for (const key of ['processes', 'files', 'private'] as const) {
      if (n[key] === undefined) continue;
      fail(
        [...paths.node, key],
        `the host node takes no '${key}': the host is the namespace nslab runs from, and a lab's processes run in its own namespaces, where down stops them`,
        true,
      );
    }
    return;
  }
  const [list, listPath] =
    n.processes !== undefined
      ? [n.processes, paths.node]
      : k.processes !== undefined
        ? [k.processes, paths.kind]
        : [undefined, paths.node];
  if (list && list.length > 0) {
    const seen = new Map<string, number>();
    node.processes = list.flatMap((p, i) => {
      const path = [...listPath, 'processes', i];
      const before = seen.get(p.name);
      if (before !== undefined) {
        fail(
          [...path, 'name'],
          `node '${node.name}' has two processes named '${p.name}' (processes ${before + 1} and ${i + 1}): give each its own name`,
        );
        return [];
      }
      seen.set(p.name, i);
      const out: ResolvedProcess = { name: p.name, command: p.command };
      if (p.ready) out.ready = p.ready;
      if (p.timeout !== undefined) {
        const t = timeoutSeconds(p.timeout);
        if ('problem' in t) {
          fail([...path, 'timeout'], `'timeout' of process '${p.name}' ${t.problem}`);
          return [];
        }
        out.timeoutS = t.value;
      }
      return [out];
    });
  }
  const files: Record<string, string> = { ...d.files, ...k.files, ...n.files };
  const privateDirs = [...new Set([...(d.private ?? []), ...(k.private ?? []), ...(n.private ?? [])])];
  const declared = [d, k, n].some((x) => x.files !== undefined || x.private !== undefined);
  if (!declared) return;
  const where = (key: 'files' | 'private', value: string): SpecPath => {
    for (const [spec, path] of [
      [n, paths.node],
      [k, paths.kind],
      [d, paths.defaults],
    ] as const) {
      const v = spec[key];
      if (key === 'files' && v && value in (v as Record<string, string>)) return [...path, key, value];
      if (key === 'private' && Array.isArray(v) && v.includes(value)) return [...path, key];
    }
    return [...paths.node, key];
  };
  let ok = true;
  for (const f of Object.keys(files)) {
    if (privateDirs.includes(f)) {
      fail(where('files', f), `${f} is both a file and a private directory of node '${node.name}'`, true);
      ok = false;
    }
    const parent = Object.keys(files).find((g) => f.startsWith(`${g}/`));
    if (parent) {
      fail(where('files', f), `${f} is inside ${parent}, which node '${node.name}' gives as a file`, true);
      ok = false;
    }
  }
  if (!ok) return;
  node.files = Object.fromEntries(
    Object.keys(files)
      .sort()
      .map((f) => [f, files[f]]),
  );
  node.private = privateDirs.sort();
}
