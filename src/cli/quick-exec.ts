/**
 * `nslab exec [--lab L] [--timeout S] [--host-netns NS] NODE -- CMD...` on its fast path: parsed here, run by
 * lab/quick-exec.ts, before commander and the library are loaded. Any other spelling, or a lab the ledgers alone
 * cannot settle, goes the usual way (undefined).
 */

import { execIn } from '../lab/exec.js';
import { quickExecTarget, quickSpawn } from '../lab/quick-exec.js';
import { warn } from './ui.js';

interface QuickArgs {
  node: string;
  command: string[];
  lab?: string;
  timeout?: number;
  hostNetns?: string;
}

const OPTIONS: Record<string, 'lab' | 'timeout' | 'hostNetns'> = {
  '--lab': 'lab',
  '--timeout': 'timeout',
  '--host-netns': 'hostNetns',
};

/** The exec command line in its plain form (options before or after NODE, then `--`), or undefined. */
export function parseQuickExec(argv: readonly string[]): QuickArgs | undefined {
  if (argv[0] !== 'exec') return undefined;
  const o: Partial<QuickArgs> = {};
  let node: string | undefined;
  let i = 1;
  for (; i < argv.length && argv[i] !== '--'; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      if (node !== undefined || a.startsWith('-')) return undefined;
      node = a;
      continue;
    }
    const eq = a.indexOf('=');
    const field = OPTIONS[eq > 0 ? a.slice(0, eq) : a];
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (!field || value === undefined || value === '') return undefined;
    if (field === 'timeout') {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) return undefined;
      o.timeout = n;
    } else if (field === 'lab') o.lab = value;
    else o.hostNetns = value;
  }
  if (node === undefined || argv[i] !== '--' || i + 1 >= argv.length) return undefined;
  return { ...o, node, command: argv.slice(i + 1) };
}

/** Runs `nslab exec` on its fast path and resolves with its exit code; undefined when it cannot. */
export async function quickExec(argv: readonly string[]): Promise<number | undefined> {
  const a = parseQuickExec(argv);
  if (!a) return undefined;
  const t = quickExecTarget(a.node, { lab: a.lab, hostNetns: a.hostNetns });
  if (!t) return undefined;
  const timeoutMs = a.timeout === undefined ? undefined : a.timeout * 1000;
  const r = await execIn((c, args, o) => quickSpawn(t, c, args, o), a.node, a.command, {
    stdio: 'inherit',
    timeoutMs,
  });
  if (r.timedOut) warn(`${a.command[0]} in ${a.node} was still running after ${a.timeout} s: killed`);
  return r.code;
}
