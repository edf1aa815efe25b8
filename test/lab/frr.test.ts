/**
 * FRR OSPF on three routers in a triangle, a host on each, `routing: external`: zebra and ospfd are the routers'
 * `processes:`, each router with its own /etc/frr and /var/run/frr (`files:`, `private:`). `check --wait` passes
 * once OSPF has converged; with one triangle link down it passes again, the reply's TTL showing the detour; `down`
 * leaves no FRR process. The test prints the convergence and reconvergence times it measures.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipJson, skipUnlessRoot } from '../helpers/kernel.js';
import { alive, netnsInode, pidsInNetns } from '../helpers/proc.js';
import { TRIANGLE_HOSTS_AND_LINKS } from '../helpers/triangle.js';

const skip = skipUnlessRoot || (!existsSync('/usr/lib/frr/ospfd') && 'needs FRR (/usr/lib/frr/zebra, ospfd)');

const id = process.pid;
const name = `ospf${id}`;
const prefix = `nslab-t-os${id}-`;
const ns = (n: string) => `${prefix}${n}`;
const ROUTERS = { r1: ['e12', 'e13'], r2: ['e21', 'e23'], r3: ['e31', 'e32'] } as const;

/** ospfd's configuration: point-to-point links, hellos every second, no throttling of LSAs and SPF runs. */
function frrConf(router: string, ifaces: readonly string[]): string {
  const lines = ['frr defaults traditional', `hostname ${router}`, 'log stdout', '!'];
  for (const i of ifaces)
    lines.push(
      `interface ${i}`,
      ' ip ospf network point-to-point',
      ' ip ospf hello-interval 1',
      ' ip ospf dead-interval 3',
      '!',
    );
  lines.push(
    'router ospf',
    ` ospf router-id 10.255.0.${router.slice(1)}`,
    ' timers throttle spf 0 50 500',
    ' timers throttle lsa all 0',
    ' timers lsa min-arrival 0',
    ' network 10.0.0.0/8 area 0',
    '!',
  );
  return lines.join('\n');
}

const indent = (text: string, n: number) => text.replace(/^/gm, ' '.repeat(n));

const text = `name: ${name}
prefix: ${prefix}
routing: external
expect:
  - { from: h1, to: h2, reach: true }
  - { from: h1, to: h3, reach: true }
  - { from: h2, to: h3, reach: true }
topology:
  kinds:
    linux:
      private: [/etc/frr, /var/run/frr]
      processes:
        - name: zebra
          command: /usr/lib/frr/zebra -f /etc/frr/frr.conf -u frr -g frr -i /var/run/frr/zebra.pid --log stdout
          ready: { exec: "test -S /var/run/frr/zserv.api" }
          timeout: 20s
        - name: ospfd
          command: /usr/lib/frr/ospfd -f /etc/frr/frr.conf -u frr -g frr -i /var/run/frr/ospfd.pid --log stdout
  nodes:
${Object.entries(ROUTERS)
  .map(
    ([r, ifs]) => `    ${r}:
      kind: linux
      files:
        /etc/frr/vtysh.conf: ""
        /etc/frr/frr.conf: |
${indent(frrConf(r, ifs), 10)}`,
  )
  .join('\n')}
${TRIANGLE_HOSTS_AND_LINKS}`;

interface Report {
  ok: boolean;
  attempts: number;
  elapsedMs: number;
  findings: unknown[];
  matrix: { results: { from: string; to: string; verdict: string; hops?: number; replyTtl?: number }[] };
}

function check(sandbox: string): Report {
  const r = nslab(['check', name, '--host-netns', sandbox, '--wait', '30s', '--json']);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(r.status, 0, `${JSON.stringify(report.findings, null, 1)}\n${r.stderr}`);
  return report;
}

const reply = (rep: Report, from: string, to: string) =>
  rep.matrix.results.find((x) => x.from === from && x.to === to);

/** Every host reaches every other, by the library's wait (a ping every 200 ms): the ms it took. */
async function allHostsReach(lab: Lab): Promise<number> {
  const t = performance.now();
  // One after the other: each wait closes the lab's handles when it ends.
  for (const [a, b] of [
    ['h1', 'h2'],
    ['h1', 'h3'],
    ['h2', 'h3'],
  ])
    await lab.waitForReach(a, b, { timeoutMs: 30_000 });
  return performance.now() - t;
}

describe('FRR OSPF on a triangle, routing: external', { skip }, () => {
  let sandbox = '';
  let file = '';
  const pids: number[] = [];
  before(() => {
    sandbox = makeSandbox('os');
    file = topologyFile(text);
  });
  after(async () => {
    await Lab.remove(name, { hostNetns: sandbox, graceMs: 0 });
    removeSandbox(sandbox, ['r1', 'r2', 'r3', 'h1', 'h2', 'h3'].map(ns));
  });

  it('the file predicts every host reaching every other through the routers, with no route of nslab on them', () => {
    const r = nslab(['check', file, '--predict', '--json']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const m = JSON.parse(r.stdout) as { predicted: Report['matrix'] };
    assert.deepEqual(
      m.predicted.results.filter((x) => x.verdict !== 'reached').map((x) => `${x.from} -> ${x.to}`),
      [],
    );
    assert.equal(reply({ matrix: m.predicted } as Report, 'h1', '10.1.2.2')?.hops, 2);
  });

  it('up starts zebra then ospfd in each router; check --wait passes once OSPF has converged', async () => {
    const t0 = performance.now();
    const r = nslab(['up', file, '--host-netns', sandbox, '-q']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const upMs = performance.now() - t0;
    const lab = Lab.attach(name, { hostNetns: sandbox });
    const converged = await allHostsReach(lab);
    lab.close();
    const rep = check(sandbox);
    console.log(
      `# OSPF convergence: up took ${Math.round(upMs)} ms (6 daemons started and ready), every host reached every other ${Math.round(converged)} ms after it returned; check passed at attempt ${rep.attempts}`,
    );
    assert.equal(reply(rep, 'h1', '10.1.2.2')?.replyTtl, 62);
    // The routes are OSPF's (proto ospf), in the routers' kernel; nslab installed none there.
    const routes = ipJson<{ dst: string; protocol: string }[]>(ns('r1'), 'route', 'show');
    assert.deepEqual(
      routes
        .filter((x) => x.protocol === 'ospf')
        .map((x) => x.dst)
        .sort(),
      ['10.0.23.0/30', '10.1.2.0/24', '10.1.3.0/24'],
    );
    // vtysh inside the router's view talks to its own daemons.
    const v = nslab([
      'exec',
      '--lab',
      name,
      '--host-netns',
      sandbox,
      'r1',
      '--',
      'vtysh',
      '-c',
      'show ip ospf neighbor',
    ]);
    assert.equal((v.stdout.match(/Full/g) ?? []).length, 2, v.stdout + v.stderr);
    const st = JSON.parse(nslab(['status', name, '--host-netns', sandbox, '--json']).stdout) as {
      nodes: { named: { name: string; state: string; pid: number }[] }[];
    };
    for (const n of st.nodes) for (const p of n.named) pids.push(p.pid);
    assert.equal(pids.length, 6);
  });

  it('with a triangle link down, OSPF goes around it: check --wait passes again, the reply one router longer', async () => {
    const lab = Lab.attach(name, { hostNetns: sandbox });
    const t0 = performance.now();
    const d = nslab(['link', 'down', name, 'r1:e12', '--host-netns', sandbox, '-q']);
    assert.equal(d.status, 0, d.stderr);
    const t1 = performance.now();
    await lab.waitForReach('h1', 'h2', { timeoutMs: 30_000 });
    const t2 = performance.now();
    const rep = check(sandbox);
    console.log(
      `# OSPF reconvergence after r1:e12 down: h1 reached h2 again ${Math.round(t2 - t1)} ms after nslab link down returned (${Math.round(t2 - t0)} ms after it started); check passed at attempt ${rep.attempts}`,
    );
    assert.equal(reply(rep, 'h1', '10.1.2.2')?.replyTtl, 61);
    assert.equal(reply(rep, 'h1', '10.1.2.2')?.hops, 3);
    await lab.linkUp('r1:e12');
    const t3 = performance.now();
    let hops: number | undefined;
    while (hops !== 2 && performance.now() - t3 < 30_000) {
      hops = (await lab.waitForReach('h1', 'h2', { timeoutMs: 30_000 }))[0].hops;
      if (hops !== 2) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(hops, 2);
    console.log(
      `# OSPF after r1:e12 up again: h1 -> h2 back on the direct path ${Math.round(performance.now() - t3)} ms later`,
    );
    assert.equal(check(sandbox).ok, true);
    // The same through the library, timed from the kernel's change itself: r2-r3 down, h2 reaches h3 by r1.
    await lab.linkDown('r2:e23');
    const t4 = performance.now();
    const [detour] = await lab.waitForReach('h2', 'h3', { timeoutMs: 30_000 });
    console.log(
      `# OSPF reconvergence after r2:e23 down (lab.linkDown): h2 reached h3 again ${Math.round(performance.now() - t4)} ms later, across ${detour.hops} routers`,
    );
    assert.equal(detour.hops, 3);
    await lab.linkUp('r2:e23');
    lab.close();
  });

  it('down leaves no FRR process', () => {
    const inodes = ['r1', 'r2', 'r3'].map((r) => netnsInode(ns(r)));
    const r = nslab(['down', name, '--host-netns', sandbox]);
    assert.equal(r.status, 0, r.stderr);
    for (const p of ['zebra (r1)', 'ospfd (r1)', 'zebra (r3)', 'ospfd (r3)'])
      assert.ok(r.stdout.includes(p), r.stdout);
    assert.deepEqual(pidsInNetns(inodes), []);
    assert.deepEqual(
      pids.filter((p) => alive(p)),
      [],
    );
  });
});
