/**
 * `routing: auto` beside static routers: routes through the ones that forward, never defaults that point at each
 * other, a warning for every subnet it cannot route; and, on random labs from seeds, never a forwarding loop in
 * the simulator. No root: the forwarding simulator is the witness here (test/lab/routing.test.ts deploys some).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import { predictMatrix } from '../../src/explain/matrix.js';
import { LabModel } from '../../src/explain/model.js';
import { simulate } from '../../src/explain/simulate.js';
import { TopologyError } from '../../src/topology/errors.js';
import { parseTopology } from '../../src/topology/load.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { randomLab } from '../helpers/random-lab.js';
import { TRIANGLE } from '../helpers/reach-labs.js';

const node = (lab: ResolvedLab, name: string) => lab.nodes.find((n) => n.name === name)!;
const routes = (lab: ResolvedLab, name: string) =>
  node(lab, name).routes.map((r) => `${r.dst === '0.0.0.0/0' ? 'default' : r.dst} via ${r.via}`);
const TTL = /Time to live exceeded|Time exceeded: Hop limit/;
const OUTSIDE = [
  [4, '192.0.2.1'],
  [6, '2001:db8:ffff::1'],
] as const;

describe('routing: auto beside a static router', () => {
  it('routes through the static router that forwards, to its own subnets, and loops nowhere', () => {
    const lab = parseTopology(TRIANGLE);
    assert.deepEqual(routes(lab, 'r1'), [
      '10.0.2.0/24 via 10.0.12.2',
      '10.0.23.0/24 via 10.0.12.2',
      '10.0.3.0/24 via 10.0.13.3',
    ]);
    assert.deepEqual(routes(lab, 'r2'), [
      '10.0.1.0/24 via 10.0.12.1',
      '10.0.13.0/24 via 10.0.12.1',
      '10.0.3.0/24 via 10.0.23.3',
    ]);
    assert.deepEqual(
      node(lab, 'r3').routes.filter((r) => r.auto),
      [],
      'nothing is installed on a static node',
    );
    assert.deepEqual(node(lab, 'r3').sysctls, { 'net.ipv4.ip_forward': '1' });
    const e = explain(lab, 'h1', 'h3');
    assert.equal(e.verdict, 'reached');
    assert.deepEqual(
      e.forward.map((h) => h.node),
      ['h1', 'r1', 'r3', 'h3'],
    );
    assert.equal(lab.warnings, undefined);
    const hosts = predictMatrix(lab).results.filter((r) => /^h/.test(r.from) && /^h/.test(r.toNode ?? ''));
    assert.equal(hosts.length, 6);
    assert.ok(hosts.every((r) => r.verdict === 'reached'));
  });

  it('a static router without forwarding leads nowhere: the nodes behind it are warned about', () => {
    const lab = parseTopology(TRIANGLE.replace('sysctls: { net.ipv4.ip_forward: 1 }', 'sysctls: {}'));
    assert.ok(!routes(lab, 'r1').some((r) => r.startsWith('10.0.3.0/24')));
    const w = lab.warnings ?? [];
    assert.equal(w.length, 1);
    assert.match(
      w[0].message,
      /^routing: auto gives r1 no IPv4 route to 10\.0\.3\.0\/24 \(between h3 and r3\): no path leads there/,
    );
    assert.deepEqual(w[0].pos, { file: '<inline>', line: 2, col: 10 });
    assert.equal(explain(lab, 'h1', 'h3').failure?.reason, 'Destination Net Unreachable');
  });

  it('never gives two nodes default routes that point at each other', () => {
    // r1 and r2 each reach the other's two stubs only through the other: both would collapse to a default.
    const lab = parseTopology(`name: leaves
routing: auto
topology:
  nodes:
    r1: {}
    r2: {}
    a: { routing: static }
    b: { routing: static }
    c: { routing: static }
    d: { routing: static }
  links:
    - endpoints: ["r1:e0", "r2:e0"]
    - endpoints: ["r1:a", "a:e0"]
    - endpoints: ["r1:b", "b:e0"]
    - endpoints: ["r2:c", "c:e0"]
    - endpoints: ["r2:d", "d:e0"]
`);
    const defaults = ['r1', 'r2'].filter((n) => routes(lab, n).some((r) => r.startsWith('default')));
    assert.deepEqual(defaults, ['r2'], 'the first in file order keeps its specific routes');
    assert.equal(routes(lab, 'r1').length, 2);
    for (const from of ['r1', 'r2']) {
      const e = explain(lab, from, '192.0.2.1');
      assert.equal(e.verdict, 'unreachable', `${from}: ${e.failure?.sentence}`);
      assert.doesNotMatch(e.failure?.reason ?? '', TTL);
    }
  });

  it('never points an auto default at a static router whose default points back', () => {
    const lab = parseTopology(`name: back
routing: auto
topology:
  nodes:
    r1: {}
    s: { routing: static, sysctls: { net.ipv4.ip_forward: 1 }, routes: [{ dst: default, via: 10.0.0.1 }] }
    x: { routing: static }
    y: { routing: static }
  links:
    - { endpoints: ["r1:e0", "s:e0"], ipv4: [10.0.0.1/24, 10.0.0.2/24] }
    - { endpoints: ["s:x", "x:e0"], ipv4: [10.0.1.1/24, 10.0.1.2/24] }
    - { endpoints: ["s:y", "y:e0"], ipv4: [10.0.2.1/24, 10.0.2.2/24] }
`);
    assert.deepEqual(routes(lab, 'r1'), ['10.0.1.0/24 via 10.0.0.2', '10.0.2.0/24 via 10.0.0.2']);
    assert.doesNotMatch(explain(lab, 'r1', '192.0.2.1').failure?.reason ?? '', TTL);
  });
});

describe('routing: auto on random labs (property, from seeds)', () => {
  it('every lab the planner accepts has no forwarding loop, to any address of the lab or outside it', (t) => {
    let accepted = 0;
    let pings = 0;
    let routers = 0;
    const structures = new Set<string>();
    for (let seed = 1; seed <= 120; seed++) {
      const ipv6 = seed % 3 === 0;
      const r = randomLab(seed, { ipv6 });
      let lab: ResolvedLab;
      try {
        lab = parseTopology(r.text, `random${seed}.nslab.yml`);
      } catch (e) {
        if (e instanceof TopologyError) continue;
        throw e;
      }
      accepted += 1;
      structures.add(r.structure);
      routers += Object.values(r.routers).filter((k) => k !== 'auto').length;
      const m = predictMatrix(lab, { expectTargets: false });
      pings += m.results.length;
      for (const x of m.results)
        assert.doesNotMatch(
          x.failure?.reason ?? '',
          TTL,
          `seed ${seed}: ${x.from} -> ${x.to}: ${x.failure?.sentence}`,
        );
      const model = new LabModel(lab);
      for (const from of m.nodes) {
        for (const [family, dst] of ipv6 ? OUTSIDE : OUTSIDE.slice(0, 1)) {
          const w = simulate(model, from, family, dst);
          assert.ok(
            !['loop', 'ttl'].includes(w.stop.kind),
            `seed ${seed}: ${from} -> ${dst}: ${w.stop.kind}`,
          );
        }
      }
    }
    t.diagnostic(`${accepted} labs accepted, ${pings} pings predicted, ${routers} static routers`);
    assert.ok(accepted >= 100, `only ${accepted} labs accepted`);
    assert.deepEqual([...structures].sort(), ['mesh', 'ring', 'tree']);
  });
});
