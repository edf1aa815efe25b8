/**
 * Unit: which nodes and addresses a matrix covers, how cells summarise results and how expectations are judged,
 * on results built by hand (no root, no kernel).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  judgeExpectations,
  l3Nodes,
  nodeAddresses,
  summarizeMatrix,
  worstVerdict,
} from '../../src/reach/matrix.js';
import { LabBuilder } from '../helpers/lab.js';
import { lab, matrix } from './fixtures.js';

describe('matrix coverage', () => {
  it('takes host and netns nodes, and bridges only when their bridge device has addresses', () => {
    assert.deepEqual(
      l3Nodes(lab()).map((n) => n.name),
      ['host', 'r', 'mgmt', 'a', 'b'],
    );
  });

  it('lists a node’s addresses IPv4 first, in interface order, without prefix length or duplicates', () => {
    const l = lab();
    const r = l.nodes.find((n) => n.name === 'r')!;
    assert.deepEqual(nodeAddresses(r), [
      { address: '10.0.0.2', family: 4 },
      { address: '10.0.1.1', family: 4 },
      { address: '10.0.1.254', family: 4 },
      { address: 'fd00:1::1', family: 6 },
    ]);
    assert.deepEqual(
      nodeAddresses(r, 6).map((a) => a.address),
      ['fd00:1::1'],
    );
    const mgmt = l.nodes.find((n) => n.name === 'mgmt')!;
    assert.deepEqual(nodeAddresses(mgmt), [{ address: '10.9.0.1', family: 4 }]);
  });
});

describe('summarizeMatrix', () => {
  it('gives each pair the worst status of its addresses and the largest hop count', () => {
    const cells = summarizeMatrix(matrix());
    const cell = (from: string, to: string) => cells.find((c) => c.from === from && c.toNode === to);
    assert.equal(cell('host', 'a')?.verdict, 'unreachable');
    assert.equal(cell('host', 'a')?.hops, 1);
    assert.equal(cell('host', 'a')?.results.length, 2);
    assert.equal(cell('host', 'b')?.verdict, 'lost');
    assert.equal(cell('a', 'r')?.verdict, 'reached');
    assert.equal(cell('a', 'r')?.hops, 0);
    assert.equal(cell('r', 'host'), undefined);
    assert.deepEqual(
      cells.map((c) => `${c.from}>${c.toNode}`),
      ['host>r', 'host>a', 'host>b', 'r>a', 'a>host', 'a>r', 'a>mgmt', 'a>b'],
    );
  });

  it('ranks lost over unreachable over reached', () => {
    assert.equal(worstVerdict('reached', 'unreachable'), 'unreachable');
    assert.equal(worstVerdict('lost', 'unreachable'), 'lost');
    assert.equal(worstVerdict('reached', 'reached'), 'reached');
  });
});

describe('judgeExpectations', () => {
  const checks = judgeExpectations(lab(), matrix());
  const by = (i: number) => checks[i];

  it('holds when every address of the node answers across the expected routers', () => {
    assert.equal(by(0).holds, true);
    assert.equal(by(0).message, 'a reaches host (10.0.0.1) across 1 router');
    assert.deepEqual(
      by(0).results.map((r) => r.to),
      ['10.0.0.1'],
    );
  });

  it('filters by family, and takes a literal address as is', () => {
    assert.equal(by(1).holds, true);
    assert.deepEqual(
      by(1).results.map((r) => r.to),
      ['fd00:1::1'],
    );
    assert.equal(by(2).holds, true);
    assert.equal(by(2).message, 'a reaches 10.0.0.1 across 1 router');
  });

  it('fails reach: false when any address answers, naming it', () => {
    assert.equal(by(3).holds, false);
    assert.equal(by(3).message, 'host reaches 10.0.1.10, but the file expects a to be unreachable');
  });

  it('fails reach: true with what came back instead', () => {
    assert.equal(by(4).holds, false);
    assert.equal(by(4).message, 'a cannot reach b: 10.9.0.2: Destination Net Unreachable (from 10.0.1.1)');
  });

  it('does not hold when nothing could be observed, and says why', () => {
    assert.equal(by(5).holds, false);
    assert.equal(by(5).message, 'ghost is neither an address nor a node of the lab');
    assert.equal(by(6).holds, false);
    assert.equal(by(6).message, 'sw is not a node of the lab that can ping');
  });

  it('fails on a different hop count', () => {
    const l = new LabBuilder().node('a').node('host', 'host').expect('a', 'host', true, { hops: 2 }).build();
    const [c] = judgeExpectations(l, matrix());
    assert.equal(c.holds, false);
    assert.equal(c.message, 'a reaches 10.0.0.1 across 1 router, not across 2 routers');
  });

  it('holds reach: false when every address is lost or unreachable', () => {
    const l = new LabBuilder().node('host', 'host').node('b').expect('host', 'b', false).build();
    const [c] = judgeExpectations(l, matrix());
    assert.equal(c.holds, true);
    assert.equal(c.message, 'host cannot reach b: 10.9.0.2: no reply');
  });
});
