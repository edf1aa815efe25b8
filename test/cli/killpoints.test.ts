/**
 * `up` killed with SIGKILL at 20 random points (a lab of several namespaces, links, a host sysctl and exec:
 * entries, one starting a daemon), each followed by `up` or `down`: every run converges, exec: entries
 * included, and nothing is leaked. Witnesses: `ip -json` and /proc. KILL_SEED=N replays a sequence.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { makeSandbox, nslabAsync, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipJson, ipNetnsList, skipUnlessRoot, sysctlIn } from '../helpers/kernel.js';
import { netnsInode, pidsInNetns, pidsWithArg } from '../helpers/proc.js';
import { prng } from '../helpers/random-lab.js';

const STATE = process.env.NSLAB_STATE_DIR ?? '/run/nslab';
const POINTS = 20;

describe('up killed at random points converges on the next up or down', { skip: skipUnlessRoot }, () => {
  const pid = process.pid;
  const lab = `ownkp${pid}`;
  const prefix = `nslab-t-kp${pid}-`;
  const N = 6;
  const daemon = `9${pid}`;
  const nodes = Array.from({ length: N }, (_, i) => `r${i}`);
  const text = `name: ${lab}
prefix: ${prefix}
topology:
  nodes:
    host: { sysctls: { net.ipv4.conf.all.arp_ignore: 1 } }
${nodes
  .map(
    (n, i) =>
      `    ${n}:\n      exec:\n        - "ip addr replace 192.0.2.${i + 1}/32 dev lo"\n        - "sleep 0.02"\n${i % 2 === 0 ? `        - "sleep ${daemon} &"\n` : ''}`,
  )
  .join('')}  links:
${nodes.map((n, i) => (i < 3 ? `    - endpoints: ["host:h${i}", "${n}:eth0"]\n` : '')).join('')}${nodes
  .slice(1)
  .map((n, i) => `    - endpoints: ["r${i}:right", "${n}:left"]\n`)
  .join('')}`;
  const names = nodes.map((n) => `${prefix}${n}`);
  const ours = () => ipNetnsList().filter((n) => n.startsWith(prefix));
  const hostLinks = () => ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').map((l) => l.ifname);
  let sandbox = '';
  let file = '';
  let arpIgnore = '';
  before(() => {
    sandbox = makeSandbox('kp');
    file = topologyFile(text);
    arpIgnore = sysctlIn(sandbox, 'net.ipv4.conf.all.arp_ignore');
  });
  after(async () => {
    await Lab.remove(lab, { hostNetns: sandbox, graceMs: 0 });
    removeSandbox(sandbox, names);
  });

  /** The lab as the file says, exec: entries done and recorded, nothing left to do. */
  async function assertUp(): Promise<void> {
    assert.deepEqual(ours().sort(), [...names].sort());
    assert.deepEqual(hostLinks().sort(), ['h0', 'h1', 'h2', 'lo']);
    nodes.forEach((n, i) => {
      const lo = ipJson<{ addr_info: { local: string }[] }[]>(`${prefix}${n}`, 'addr', 'show', 'dev', 'lo');
      assert.ok(
        lo[0].addr_info.some((a) => a.local === `192.0.2.${i + 1}`),
        `exec: entry of ${n} ran`,
      );
      if (i % 2 === 0) {
        const inside = new Set(pidsInNetns([netnsInode(`${prefix}${n}`)]));
        assert.ok(
          pidsWithArg(daemon).some((p) => inside.has(p)),
          `the daemon of ${n} runs`,
        );
      }
    });
    assert.equal(sysctlIn(sandbox, 'net.ipv4.conf.all.arp_ignore'), '1');
    const lab_ = await Lab.load(file, { hostNetns: sandbox });
    assert.deepEqual(lab_.plan().ops, [], 'a second up would change nothing');
    lab_.close();
  }

  /** Nothing of the lab left: no namespace, no host device, no process, the sysctl back, no ledger. */
  function assertDown(): void {
    assert.deepEqual(ours(), []);
    assert.deepEqual(hostLinks(), ['lo']);
    assert.deepEqual(pidsWithArg(daemon), []);
    assert.equal(sysctlIn(sandbox, 'net.ipv4.conf.all.arp_ignore'), arpIgnore);
    assert.equal(existsSync(`${STATE}/${lab}@${sandbox}.json`), false);
  }

  /** Resolves once the run holds the lab's lock: from then on it may change the kernel. */
  async function working(p: ReturnType<typeof nslabAsync>): Promise<void> {
    const lock = `${STATE}/${lab}@${sandbox}.lock`;
    for (let t = 0; t < 10_000; t += 2) {
      try {
        if (readFileSync(lock, 'utf8').trim() === String(p.pid)) return;
      } catch {
        // not yet
      }
      if (p.exitCode !== null) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  it(`converges after ${POINTS} kill -9 points`, async (t) => {
    const seed = Number(process.env.KILL_SEED ?? Date.now() % 100000);
    const rand = prng(seed);
    t.diagnostic(`KILL_SEED=${seed}`);
    // How long the work of a whole `up` takes, once it holds the lock.
    const calib = nslabAsync(['up', file, '--host-netns', sandbox]);
    const ended = new Promise((r) => calib.on('close', r));
    await working(calib);
    const t0 = performance.now();
    await ended;
    const work = performance.now() - t0;
    await assertUp();
    await Lab.remove(lab, { hostNetns: sandbox, graceMs: 0 });
    assertDown();

    const seen = { namespacesPartly: 0, linksPartly: 0, execPartly: 0, finished: 0, ups: 0, downs: 0 };
    for (let k = 0; k < POINTS; k++) {
      // Over the work of a whole `up`, the exit of the process left out.
      const delay = rand() * work * 0.9;
      const then = k % 2 === 0 ? 'up' : 'down';
      const p = nslabAsync(['up', file, '--host-netns', sandbox]);
      const exited = new Promise((r) => p.on('close', r));
      await working(p);
      await new Promise((r) => setTimeout(r, delay));
      p.kill('SIGKILL');
      await exited;
      // Where the kill came, as the kernel shows it.
      const made = ours().length;
      const execs = nodes.filter((n, i) => {
        if (!ours().includes(`${prefix}${n}`)) return false;
        try {
          const lo = ipJson<{ addr_info: { local: string }[] }[]>(
            `${prefix}${n}`,
            'addr',
            'show',
            'dev',
            'lo',
          );
          return lo[0].addr_info.some((a) => a.local === `192.0.2.${i + 1}`);
        } catch {
          return false; // the file `ip netns add` makes before its mount: killed in between
        }
      }).length;
      const daemons = pidsWithArg(daemon).length;
      if (made < N) seen.namespacesPartly++;
      else if (hostLinks().length < 4) seen.linksPartly++;
      else if (execs < N || daemons < N / 2) seen.execPartly++;
      else seen.finished++;
      const context = `point ${k} (KILL_SEED=${seed}, ${Math.round(delay)} ms into ${Math.round(work)} ms, ${made} namespaces, ${execs} exec: done), then ${then}`;
      try {
        // The next run, in this process through the library (the CLI only parses and prints around it).
        if (then === 'up') {
          await (await Lab.load(file, { hostNetns: sandbox })).up();
          seen.ups++;
          await assertUp();
        } else seen.downs++;
        await Lab.remove(lab, { hostNetns: sandbox, graceMs: 0 });
        assertDown();
      } catch (e) {
        throw new Error(`${context}: ${(e as Error).message}`);
      }
    }
    t.diagnostic(`kill points: ${JSON.stringify(seen)}`);
  });
});
