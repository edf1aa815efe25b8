/**
 * Lab benchmark: the whole `up` path (load, observe, plan, apply, ledger) for a generated lab of N namespaces
 * (racks of 20 namespaces on a bridge each, racks joined to the host by a router namespace, `routing: auto`, no
 * address written), inside a sandbox namespace playing the host. Prints, per N: the first `up`, a second `up`
 * that finds nothing to do, an edit (one namespace more) applied as a difference, `down`; and, for the smaller
 * sizes, the same lab built by the shell script `nslab export --format sh` writes (ip and sysctl commands),
 * measured in the same run.
 *
 *   sudo npx tsx bench/lab-up.ts [N ...]        (default: 100 1000)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Lab } from '../src/lab/lab.js';
import { NetnsHandle } from '../src/netns/handle.js';
import { deleteNamedNetns, listNamedNetns } from '../src/netns/named.js';
import { parseTopology } from '../src/topology/load.js';
import { racksText } from './racks.js';

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const tag = `nslab-b-${process.pid}`;
const prefix = `${tag}-`;

function labText(n: number, extra = false): string {
  return racksText(n, { name: 'bench', prefix, extra });
}

async function time<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t = performance.now();
  const out = await fn();
  return [(performance.now() - t) / 1000, out];
}

function cleanup(): void {
  for (const name of listNamedNetns()) if (name.startsWith(prefix)) deleteNamedNetns(name);
}

const sandbox = NetnsHandle.create(tag);
sandbox.setLink('lo', { up: true });
sandbox.close();
try {
  for (const n of sizes.length ? sizes : [100, 1000]) {
    const lab = new Lab(parseTopology(labText(n)), { hostNetns: tag });
    const namespaces = lab.topology.nodes.filter((x) => x.kind !== 'host').length;
    const [up, r] = await time(() => lab.up());
    const [again, r2] = await time(() => lab.up());
    if (r2.changed) throw new Error('second up changed something');
    const edited = new Lab(parseTopology(labText(n, true)), { hostNetns: tag });
    const [edit, r3] = await time(() => edited.up());
    const [down] = await time(() => edited.down());
    let line =
      `N=${String(namespaces).padEnd(5)} up ${up.toFixed(3)} s (${r.plan.ops.length} ops) | second up ${again.toFixed(3)} s` +
      ` | edit +1 node ${edit.toFixed(3)} s (${r3.plan.ops.length} ops) | down ${down.toFixed(3)} s`;
    if (n <= 100) {
      const script = lab.exportScript();
      const [sh, res] = await time(() => spawnSync('sh', ['-s'], { input: script, encoding: 'utf8' }));
      if (res.status !== 0) throw new Error(`export script failed: ${res.error ?? res.stderr}`);
      cleanup();
      execFileSync('ip', ['-n', tag, 'link', 'show']); // the sandbox survives
      line += ` | export script (ip commands) ${sh.toFixed(3)} s, ratio ${(sh / up).toFixed(1)}x`;
    }
    console.log(line);
    cleanup();
  }
} finally {
  cleanup();
  NetnsHandle.open(tag).destroy();
}
