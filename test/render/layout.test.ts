import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLayout } from '../../src/render/layout.js';
import { buildView } from '../../src/render/model.js';
import { LabBuilder } from '../helpers/lab.js';
import { bridgeLab, largeLab, starLab, tutorialLab } from './fixtures.js';

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
    const chain = new LabBuilder('chain', '')
      .node('host', 'host')
      .node('a')
      .node('b')
      .link('host:h-a', ['10.0.0.1/30'], 'a:up', ['10.0.0.2/30'])
      .link('a:down', ['10.0.1.1/30'], 'b:up', ['10.0.1.2/30'])
      .build();
    const plan = planLayout(buildView(chain));
    assert.equal(plan.side.get('a'), 1);
    assert.equal(plan.side.get('b'), 1);
    assert.equal(plan.depth.get('b'), 2);
  });

  it('centres a lab without a host on the node with the fewest hops to the farthest one', () => {
    const names = ['h1', 'r1', 'r2', 'r3', 'h2'];
    const b = new LabBuilder('chain', '');
    for (const name of names) b.node(name);
    names.slice(1).forEach((n, i) => {
      b.link(`${names[i]}:to-${n}`, [`10.0.${i}.1/30`], `${n}:to-${names[i]}`, [`10.0.${i}.2/30`]);
    });
    const chain = b.build();
    const plan = planLayout(buildView(chain));
    assert.equal(plan.root, 'r2');
    assert.deepEqual(
      names.map((n) => plan.side.get(n)),
      [-1, -1, 0, 1, 1],
    );
  });

  it('does not let links between siblings or across sides pull ranks', () => {
    const tri = new LabBuilder('triangle', '')
      .node('host', 'host')
      .node('a')
      .node('b')
      .link('host:h-a', ['10.0.0.1/30'], 'a:h', ['10.0.0.2/30'])
      .link('host:h-b', ['10.0.1.1/30'], 'b:h', ['10.0.1.2/30'])
      .link('a:b', ['10.0.2.1/30'], 'b:a', ['10.0.2.2/30'])
      .build();
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
    const lab = new LabBuilder('islands', '')
      .node('host', 'host')
      .node('a')
      .node('b')
      .node('c')
      .node('lonely')
      .link('host:h-a', ['10.0.0.1/30'], 'a:h', ['10.0.0.2/30'])
      .link('b:c', ['10.0.1.1/30'], 'c:b', ['10.0.1.2/30'])
      .build();
    const plan = planLayout(buildView(lab));
    assert.equal(plan.root, 'host');
    for (const n of lab.nodes) assert.ok(plan.side.has(n.name), n.name);
    assert.equal(plan.edges.get(1)?.constraint, true);
  });
});
