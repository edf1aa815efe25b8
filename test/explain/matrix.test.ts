import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { predictMatrix } from '../../src/explain/index.js';
import { judgeExpectations } from '../../src/reach/matrix.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { LabBuilder } from '../helpers/lab.js';
import { campus, tutorial } from './fixtures.js';

const cell = (m: ReturnType<typeof predictMatrix>, from: string, address: string) =>
  m.results.find((p) => p.from === from && p.to === address);

describe('predictMatrix', () => {
  it('tutorial, working: every address of every other node, all reachable', () => {
    const m = predictMatrix(tutorial('working'));
    assert.deepEqual(m.nodes, ['host', 'ns0', 'ns1']);
    // host has 2 addresses, ns0 and ns1 one each: 1+1 + 2+1 + 2+1.
    assert.equal(m.results.length, 8);
    assert.ok(m.results.every((p) => p.verdict === 'reached'));
    assert.deepEqual([cell(m, 'ns0', '10.1.20.2')?.hops, cell(m, 'ns0', '10.1.20.2')?.replyTtl], [1, 63]);
    assert.deepEqual([cell(m, 'host', '10.1.10.2')?.hops, cell(m, 'host', '10.1.10.2')?.replyTtl], [0, 64]);
  });

  it('tutorial, bare: only pairs through the host fail, with the failure attached', () => {
    const m = predictMatrix(tutorial('bare'));
    const failing = m.results.filter((p) => p.verdict !== 'reached').map((p) => `${p.from}>${p.to}`);
    assert.deepEqual(failing.sort(), ['ns0>10.1.20.1', 'ns0>10.1.20.2', 'ns1>10.1.10.1', 'ns1>10.1.10.2']);
    assert.equal(cell(m, 'ns0', '10.1.20.2')?.failure?.reason, 'Network is unreachable');
  });

  it('family option limits the matrix; bridges without address are not sources or targets', () => {
    const lab = new LabBuilder()
      .node('sw', 'bridge')
      .link('a:eth0', ['10.0.0.1/24', '2001:db8::1/64'], 'sw:p1')
      .link('b:eth0', ['10.0.0.2/24', '2001:db8::2/64'], 'sw:p2')
      .build();
    const m = predictMatrix(lab, { family: 6 });
    assert.deepEqual(m.nodes, ['a', 'b']);
    assert.deepEqual(
      m.results.map((p) => p.to),
      ['2001:db8::2', '2001:db8::1'],
    );
  });

  it('100 nodes x 99 targets, by hand: hops 0 on a bridge or to the core, 1 across it; well under a second', () => {
    const lab = campus();
    const cpu = process.cpuUsage();
    const m = predictMatrix(lab, { family: 4 });
    const { user, system } = process.cpuUsage(cpu);
    assert.equal(m.nodes.length, 100);
    // host->host same bridge 9*11*10, host->core 99*9 addresses, core->host 99, host->host across 99*88.
    assert.equal(m.results.length, 990 + 891 + 99 + 8712);
    assert.ok(m.results.every((p) => p.verdict === 'reached'));
    assert.equal(m.results.filter((p) => p.hops === 1).length, 8712);
    assert.equal(m.results.filter((p) => p.hops === 1 && p.replyTtl === 63).length, 8712);
    assert.ok((user + system) / 1000 < 1000, `took ${(user + system) / 1000} ms of CPU`);
    assert.equal(predictMatrix(lab).results.length, 2 * m.results.length);
  });

  it('a broken campus: hosts of one bridge lack their default route; the matrix says who and why', () => {
    const lab = campus();
    for (const n of lab.nodes) if (n.name.startsWith('h3x')) n.routes = [];
    const m = predictMatrix(lab, { family: 4 });
    const from3 = cell(m, 'h3x1', '10.0.5.11');
    assert.equal(from3?.verdict, 'unreachable');
    assert.equal(from3?.failure?.fix, 'Add to h3x1: `dst: 10.0.5.0/24, via: 10.0.3.1`');
    const to3 = cell(m, 'h5x1', '10.0.3.11');
    assert.equal(to3?.verdict, 'lost');
    assert.equal(to3?.failure?.direction, 'back');
    assert.equal(to3?.requestHops, 1);
    assert.equal(to3?.hops, undefined);
    assert.equal(cell(m, 'core', '10.0.3.11')?.verdict, 'reached');
  });
});

describe('judgeExpectations on a prediction', () => {
  const withExpect = (lab: ResolvedLab) => {
    lab.expect = [
      { from: 'ns0', to: 'ns1', reach: true, hops: 1 },
      { from: 'ns0', to: 'ns1', reach: true, hops: 2 },
      { from: 'ns0', to: '10.1.20.2', reach: true },
      { from: 'ns1', to: 'host', reach: true },
      { from: 'ns0', to: 'ns1', reach: false },
      { from: 'ns0', to: 'nope', reach: true },
      { from: 'ns0', to: 'ns1', reach: true, family: 6 },
      { from: 'ns0', to: '10.1.99.1', reach: false },
    ];
    return lab;
  };

  it('judges each expectation on the working tutorial', () => {
    const lab = withExpect(tutorial('working'));
    const r = judgeExpectations(lab, predictMatrix(lab));
    assert.deepEqual(
      r.map((x) => x.holds),
      [true, false, true, true, false, false, false, true],
    );
    assert.equal(r[0].message, 'ns0 reaches ns1 (10.1.20.2) across 1 router');
    assert.equal(r[1].message, 'ns0 reaches 10.1.20.2 across 1 router, not across 2 routers');
    assert.equal(r[3].results.length, 2);
    assert.equal(r[4].message, 'ns0 reaches 10.1.20.2, but the file expects ns1 to be unreachable');
    assert.match(r[5].message, /nope is neither an address nor a node/);
    assert.match(r[6].message, /ns1 has no IPv6 address/);
    assert.match(r[7].message, /ns0 cannot reach 10\.1\.99\.1: ns0 has no route to 10\.1\.99\.1/);
  });

  it('before routes, the reach expectations fail with the reason and fix', () => {
    const lab = withExpect(tutorial('bare'));
    const r = judgeExpectations(lab, predictMatrix(lab));
    assert.equal(r[0].holds, false);
    assert.equal(
      r[0].message,
      "ns0 cannot reach ns1: 10.1.20.2: ns0 has no route to 10.1.20.2 (10.1.20.0/24): the kernel answers 'Network is unreachable'.",
    );
    assert.equal(r[0].results[0].failure?.fix, 'Add to ns0: `dst: 10.1.20.0/24, via: 10.1.10.1`');
    assert.equal(r[3].holds, false, 'ns1 reaches 10.1.20.1 but not 10.1.10.1');
    assert.equal(r[4].holds, true);
  });
});
