/**
 * End to end: `routing: auto` labs deployed in a sandbox host namespace, the kernel as witness. The triangle of
 * auto and static routers, a ring whose request and reply paths differ (hops are counted on the reply's way,
 * as its TTL tells), and random labs from seeds: every pair the simulator says reaches, reaches live.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/topology/load.js';
import { makeSandbox, removeSandbox } from '../helpers/cli.js';
import { ipJson, ipNetnsList, netnsExec, skipUnlessRoot } from '../helpers/kernel.js';
import { randomLab } from '../helpers/random-lab.js';
import { ringText, TRIANGLE } from '../helpers/reach-labs.js';

const ttlOf = (ns: string, address: string) => {
  const r = netnsExec(ns, ['ping', '-c', '1', '-W', '1', address]);
  return Number(/ttl=(\d+)/.exec(r.stdout)?.[1]);
};

describe('routing: auto, live', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  const prefix = `nslab-t-rt${process.pid}-`;

  before(() => {
    sandbox = makeSandbox('reach-rt');
  });
  after(() =>
    removeSandbox(
      sandbox,
      ipNetnsList().filter((n) => n.startsWith(prefix)),
    ),
  );

  it('the triangle: auto routers beside a static router reach every host through it, 0 findings', async () => {
    const lab = new Lab(
      parseTopology(TRIANGLE.replace('routing: auto\n', `routing: auto\nprefix: ${prefix}\n`)),
      {
        hostNetns: sandbox,
      },
    );
    await lab.up();
    try {
      const report = await lab.check({ timeoutMs: 500 });
      for (const e of report.expectations) assert.ok(e.holds, e.message);
      const hosts = report.matrix.results.filter((r) => /^h/.test(r.from) && /^h/.test(r.toNode ?? ''));
      assert.ok(hosts.length === 6 && hosts.every((r) => r.verdict === 'reached'));
      assert.deepEqual(
        report.findings.map((f) => f.message),
        [],
      );
      const r1 = ipJson<{ dst: string; gateway?: string }[]>(`${prefix}r1`, 'route');
      assert.deepEqual(
        r1
          .filter((r) => r.gateway)
          .map((r) => `${r.dst} via ${r.gateway}`)
          .sort(),
        ['10.0.2.0/24 via 10.0.12.2', '10.0.23.0/24 via 10.0.12.2', '10.0.3.0/24 via 10.0.13.3'].sort(),
      );
      assert.equal(ttlOf(`${prefix}h1`, '10.0.3.10'), 62);
    } finally {
      await lab.down();
    }
  });

  it('a ring with stub hosts and the host upstream of r1: 0 findings, though requests and replies part ways', async () => {
    const lab = new Lab(parseTopology(ringText(3, prefix)), { hostNetns: sandbox });
    const predicted = lab.predict();
    const parted = predicted.results.filter((r) => r.verdict === 'reached' && r.hops !== r.requestHops);
    assert.ok(parted.length > 0, 'some request and its reply cross different numbers of routers');
    await lab.up();
    try {
      const report = await lab.check({ timeoutMs: 500 });
      assert.deepEqual(
        report.findings.map((f) => f.message),
        [],
      );
      assert.ok(report.matrix.results.every((r) => r.verdict === 'reached'));
      // The witness: ping's ttl= counts the reply's routers, which the prediction's `hops` are.
      const p = parted.find((r) => r.from !== 'host')!;
      assert.equal(ttlOf(`${prefix}${p.from}`, p.to), 64 - p.hops!);
      assert.notEqual(ttlOf(`${prefix}${p.from}`, p.to), 64 - p.requestHops!);
    } finally {
      await lab.down();
    }
  });

  it('random labs from seeds: every pair the simulator says reaches, reaches live, across as many routers', async (t) => {
    // Small labs with at least one static router; one dual-stack.
    const sample = Array.from({ length: 40 }, (_, i) => i + 1)
      .map((seed) => randomLab(seed, { prefix, ipv6: seed % 2 === 0 }))
      .filter((r) => r.nodes <= 24 && Object.values(r.routers).some((k) => k !== 'auto'))
      .slice(0, 3);
    assert.equal(sample.length, 3);
    for (const r of sample) {
      const lab = new Lab(parseTopology(r.text), { hostNetns: sandbox });
      await lab.up();
      try {
        // Two echo requests a pair, 200 ms apart: one reply lost under load (the kernel still freeing the
        // namespaces of earlier tests) is not a finding.
        const report = await lab.check({ timeoutMs: 600, count: 2, intervalMs: 200 });
        const live = new Map(report.matrix.results.map((x) => [`${x.from} ${x.to}`, x]));
        const reach = report.predicted!.results.filter((x) => x.verdict === 'reached');
        assert.ok(reach.length > 0);
        for (const p of reach) {
          const o = live.get(`${p.from} ${p.to}`);
          assert.equal(o?.verdict, 'reached', `seed ${r.seed}: ${p.from} -> ${p.to}`);
          assert.equal(o?.hops, p.hops, `seed ${r.seed}: ${p.from} -> ${p.to} hops`);
        }
        assert.deepEqual(
          report.findings.map((f) => f.message),
          [],
          `seed ${r.seed}`,
        );
        t.diagnostic(
          `seed ${r.seed} (${r.nodes} nodes, ${r.structure}): ${reach.length} of ${report.matrix.results.length} pings reach, ${report.findings.length} findings`,
        );
      } finally {
        await lab.down();
      }
    }
  });
});
