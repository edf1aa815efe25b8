/**
 * Private labs against normal ones: the same lab of N namespaces (racks of 20 on a bridge each, a router per
 * rack, `routing: auto`) brought up and taken down with the built CLI (dist/cli/nslab.cjs, what users run), as
 *   - a normal lab, with a sandbox namespace playing the host (`up --host-netns`), as root;
 *   - a private lab as root (`up --private`: mount, pid and network namespaces, no user namespace);
 *   - a private lab as user nobody (a user namespace too: no SO_RCVBUFFORCE, smaller netlink batches).
 * Prints, median of 3 runs each, the wall time of `up` and `down` (Node start, the sandbox, the agent CLI inside)
 * and the time nslab itself reports for applying the plan (`--json` durationMs).
 *
 *   sudo npx tsx bench/private.ts [N]        (default: 100; build first: npm run build)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchEnv } from './env.js';
import { racksText } from './racks.js';

const N = Number(process.argv[2] ?? 100);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'dist', 'cli', 'nslab.cjs');
const tag = `nslab-b-prv-${process.pid}`;

function labText(n: number): string {
  return racksText(n, { name: 'benchprv', prefix: `${tag}-` });
}

const dir = mkdtempSync(join(tmpdir(), 'nslab-b-prv-'));
chmodSync(dir, 0o755);
const file = join(dir, 'bench.nslab.yml');
writeFileSync(file, labText(N), { mode: 0o644 });
const runtime = (uid: number) => {
  const d = join(dir, `run-${uid}`);
  execFileSync('mkdir', ['-m', '700', d]);
  chownSync(d, uid, uid);
  return d;
};
const runtimes = { 0: runtime(0), 65534: runtime(65534) };

/** `nslab ARGS` as `uid`: wall time in seconds and the parsed --json output. */
function nslab(uid: 0 | 65534, args: string[]): { s: number; json: { durationMs: number } } {
  const argv = [process.execPath, BIN, ...args, '--json'];
  const cmd = uid === 0 ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...argv];
  const t = performance.now();
  const r = spawnSync(cmd[0], cmd.slice(1), {
    cwd: ROOT,
    encoding: 'utf8',
    env: benchEnv({ XDG_RUNTIME_DIR: runtimes[uid] }),
  });
  const s = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`nslab ${args.join(' ')} failed: ${r.stderr}`);
  return { s, json: JSON.parse(r.stdout) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measure(label: string, uid: 0 | 65534, up: string[], down: string[]): void {
  const ups: number[] = [];
  const applies: number[] = [];
  const downs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const u = nslab(uid, up);
    ups.push(u.s);
    applies.push(u.json.durationMs / 1000);
    downs.push(nslab(uid, down).s);
  }
  console.log(
    `${label.padEnd(34)} up ${median(ups).toFixed(2)} s (plan applied in ${median(applies).toFixed(2)} s) | down ${median(downs).toFixed(2)} s`,
  );
}

execFileSync('ip', ['netns', 'add', tag]);
execFileSync('ip', ['-n', tag, 'link', 'set', 'lo', 'up']);
try {
  console.log(`lab of ${N} namespaces (${Math.ceil(N / 20)} racks), built CLI, median of 3:`);
  measure(
    'normal (--host-netns), root',
    0,
    ['up', file, '--host-netns', tag],
    ['down', 'benchprv', '--host-netns', tag],
  );
  measure('private, root', 0, ['up', file, '--private'], ['down', 'benchprv']);
  measure('private, nobody (user namespace)', 65534, ['up', file, '--private'], ['down', 'benchprv']);
} finally {
  spawnSync('ip', ['netns', 'del', tag]);
  rmSync(dir, { recursive: true, force: true });
}
