import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLayout } from '../../src/render/layout.js';
import { buildView } from '../../src/render/model.js';
import { bridgeLab, buildLab, largeLab, starLab, tutorialLab } from './fixtures.js';

describe('planLayout', () => {
  it('puts the host in the middle, its first neighbour left and the second right', () => {
    const plan = planLayout(buildView(tutorialLab()));
    assert.equal(plan.engine, 'dot');
    assert.equal(plan.root, 'host');
    assert.equal(plan.side.get('host'), 0);
    assert.equal(plan.side.get('ns0'), -1);
    assert.equal(plan.side.get('ns1'), 1);
    // Left links are written from the namespace, right links from the host, so ranks read ns0, host, ns1.
    assert.deepEqual(plan.edges.get(0), { tail: 'b', constraint: true });
    assert.deepEqual(plan.edges.get(1), { tail: 'a', constraint: true });
  });

  it('centres a lab without a host on its best-connected node', () => {
    const plan = planLayout(buildView(bridgeLab()));
    assert.equal(plan.root, 'sw');
    const sides = ['ns-a', 'ns-b', 'ns-c', 'ns-d'].map((n) => plan.side.get(n));
    assert.deepEqual(sides, [-1, 1, -1, 1]);
  });

  it('keeps a lone neighbour on the right and places further nodes on their parent’s side', () => {
    const chain = buildLab(
      'chain',
      [{ name: 'host', kind: 'host' }, { name: 'a' }, { name: 'b' }],
      [
        { a: ['host', 'h-a', '10.0.0.1/30'], b: ['a', 'up', '10.0.0.2/30'] },
        { a: ['a', 'down', '10.0.1.1/30'], b: ['b', 'up', '10.0.1.2/30'] },
      ],
    );
    const plan = planLayout(buildView(chain));
    assert.equal(plan.side.get('a'), 1);
    assert.equal(plan.side.get('b'), 1);
    assert.equal(plan.depth.get('b'), 2);
  });

  it('centres a lab without a host on the node with the fewest hops to the farthest one', () => {
    const names = ['h1', 'r1', 'r2', 'r3', 'h2'];
    const chain = buildLab(
      'chain',
      names.map((name) => ({ name })),
      names.slice(1).map((n, i) => ({
        a: [names[i], `to-${n}`, `10.0.${i}.1/30`],
        b: [n, `to-${names[i]}`, `10.0.${i}.2/30`],
      })),
    );
    const plan = planLayout(buildView(chain));
    assert.equal(plan.root, 'r2');
    assert.deepEqual(
      names.map((n) => plan.side.get(n)),
      [-1, -1, 0, 1, 1],
    );
  });

  it('does not let links between siblings or across sides pull ranks', () => {
    const tri = buildLab(
      'triangle',
      [{ name: 'host', kind: 'host' }, { name: 'a' }, { name: 'b' }],
      [
        { a: ['host', 'h-a', '10.0.0.1/30'], b: ['a', 'h', '10.0.0.2/30'] },
        { a: ['host', 'h-b', '10.0.1.1/30'], b: ['b', 'h', '10.0.1.2/30'] },
        { a: ['a', 'b', '10.0.2.1/30'], b: ['b', 'a', '10.0.2.2/30'] },
      ],
    );
    const plan = planLayout(buildView(tri));
    assert.equal(plan.edges.get(2)?.constraint, false);
  });

  it('switches large labs to a force layout', () => {
    assert.equal(planLayout(buildView(largeLab())).engine, 'neato');
    assert.equal(planLayout(buildView(starLab())).engine, 'neato');
    assert.equal(planLayout(buildView(starLab(10))).engine, 'dot');
    assert.equal(planLayout(buildView(largeLab()), 'sfdp').engine, 'sfdp');
  });

  it('places every node of a lab in several disconnected parts', () => {
    const lab = buildLab(
      'islands',
      [{ name: 'host', kind: 'host' }, { name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'lonely' }],
      [
        { a: ['host', 'h-a', '10.0.0.1/30'], b: ['a', 'h', '10.0.0.2/30'] },
        { a: ['b', 'c', '10.0.1.1/30'], b: ['c', 'b', '10.0.1.2/30'] },
      ],
    );
    const plan = planLayout(buildView(lab));
    assert.equal(plan.root, 'host');
    for (const n of lab.nodes) assert.ok(plan.side.has(n.name), n.name);
    assert.equal(plan.edges.get(1)?.constraint, true);
  });
});
