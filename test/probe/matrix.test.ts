/**
 * Unit: which nodes and addresses a matrix covers, how cells summarise results, how expectations are judged and
 * how matrices print, on results built by hand (no root, no kernel).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatExpectations, formatMatrix } from '../../src/probe/format.js';
import {
  checkExpectations,
  l3Nodes,
  nodeAddresses,
  summarizeMatrix,
  worstStatus,
} from '../../src/probe/matrix.js';
import type { PingMatrix, ProbeResult } from '../../src/probe/types.js';
import { LabBuilder } from '../helpers/lab.js';

function lab() {
  return new LabBuilder('probe-test')
    .node('host', 'host')
    .node('r')
    .node('sw', 'bridge')
    .node('mgmt', 'bridge')
    .bridgeAddr('mgmt', '10.9.0.1/24')
    .node('a')
    .node('b')
    .link('host:v0', ['10.0.0.1/24'], 'r:e0', ['10.0.0.2/24'])
    .link('r:e1', ['10.0.1.1/24', 'fd00:1::1/64', '10.0.1.254/24'], 'sw:p0')
    .link('a:eth0', ['10.0.1.10/24', 'fd00:1::10/64'], 'sw:p1')
    .link('b:eth0', [], 'sw:p2')
    .link('b:eth1', ['10.9.0.2/24'], 'mgmt:p0')
    .expect('a', 'host', true, { hops: 1 })
    .expect('a', 'r', true, { family: 6 })
    .expect('a', '10.0.0.1', true)
    .expect('host', 'a', false)
    .expect('a', 'b', true)
    .expect('a', 'ghost', true)
    .expect('sw', 'a', true)
    .build();
}

const R = (
  from: string,
  to: string,
  toNode: string,
  status: ProbeResult['status'],
  extra = {},
): ProbeResult => ({
  from,
  to,
  toNode,
  family: to.includes(':') ? 6 : 4,
  status,
  ...extra,
});

function matrix(): PingMatrix {
  return {
    nodes: ['host', 'r', 'mgmt', 'a', 'b'],
    results: [
      R('host', '10.0.0.2', 'r', 'reached', { replyTtl: 64, hops: 0, rttMs: 0.1 }),
      R('host', '10.0.1.10', 'a', 'reached', { replyTtl: 63, hops: 1 }),
      R('host', 'fd00:1::10', 'a', 'unreachable', { reason: 'Network is unreachable' }),
      R('host', '10.9.0.2', 'b', 'lost'),
      R('a', '10.0.0.1', 'host', 'reached', { replyTtl: 63, hops: 1 }),
      R('a', '10.0.1.1', 'r', 'reached', { replyTtl: 64, hops: 0 }),
      R('a', 'fd00:1::1', 'r', 'reached', { replyTtl: 64, hops: 0 }),
      R('a', '10.9.0.2', 'b', 'unreachable', { reason: 'Destination Net Unreachable', reporter: '10.0.1.1' }),
      R('a', '10.9.0.1', 'mgmt', 'lost'),
      R('r', '10.0.1.10', 'a', 'reached', { replyTtl: 64, hops: 0 }),
    ],
  };
}

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
    assert.equal(cell('host', 'a')?.status, 'unreachable');
    assert.equal(cell('host', 'a')?.hops, 1);
    assert.equal(cell('host', 'a')?.results.length, 2);
    assert.equal(cell('host', 'b')?.status, 'lost');
    assert.equal(cell('a', 'r')?.status, 'reached');
    assert.equal(cell('a', 'r')?.hops, 0);
    assert.equal(cell('r', 'host'), undefined);
    assert.deepEqual(
      cells.map((c) => `${c.from}>${c.toNode}`),
      ['host>r', 'host>a', 'host>b', 'r>a', 'a>host', 'a>r', 'a>mgmt', 'a>b'],
    );
  });

  it('ranks lost over unreachable over reached', () => {
    assert.equal(worstStatus('reached', 'unreachable'), 'unreachable');
    assert.equal(worstStatus('lost', 'unreachable'), 'lost');
    assert.equal(worstStatus('reached', 'reached'), 'reached');
  });
});

describe('checkExpectations', () => {
  const checks = checkExpectations(lab(), matrix());
  const by = (i: number) => checks[i];

  it('holds when every address of the node answers across the expected routers', () => {
    assert.equal(by(0).holds, true);
    assert.equal(by(0).message, 'a reaches host (10.0.0.1) across 1 router');
    assert.deepEqual(
      by(0).observed.map((r) => r.to),
      ['10.0.0.1'],
    );
  });

  it('filters by family, and takes a literal address as is', () => {
    assert.equal(by(1).holds, true);
    assert.deepEqual(
      by(1).observed.map((r) => r.to),
      ['fd00:1::1'],
    );
    assert.equal(by(2).holds, true);
    assert.equal(by(2).message, 'a reaches 10.0.0.1');
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
    const [c] = checkExpectations(l, matrix());
    assert.equal(c.holds, false);
    assert.equal(c.message, 'a reaches 10.0.0.1 across 1 router, not across 2 routers');
  });

  it('holds reach: false when every address is lost or unreachable', () => {
    const l = new LabBuilder().node('host', 'host').node('b').expect('host', 'b', false).build();
    const [c] = checkExpectations(l, matrix());
    assert.equal(c.holds, true);
    assert.equal(c.message, 'host cannot reach b: 10.9.0.2: no reply');
  });
});

describe('formatting', () => {
  it('prints a table with rows from, columns to, ok Nh / lost / unr cells, and a legend', () => {
    const text = formatMatrix(matrix());
    const lines = text.split('\n');
    const row = (name: string) =>
      lines
        .find((l) => l.startsWith(`│ ${name} `))!
        .split('│')
        .slice(2, -1)
        .map((c) => c.trim());
    assert.deepEqual(
      lines
        .find((l) => l.includes('from'))!
        .split('│')
        .slice(2, -1)
        .map((c) => c.trim()),
      ['host', 'r', 'mgmt', 'a', 'b'],
    );
    assert.deepEqual(row('host'), ['-', 'ok 0h', '', 'unr*', 'lost']);
    assert.deepEqual(row('a'), ['ok 1h', 'ok 0h', 'lost', '-', 'unr']);
    assert.deepEqual(row('r'), ['', '-', '', 'ok 0h', '']);
    assert.match(text, /ok Nh reached across N routers/);
    assert.match(text, /4 of 8 pairs reach each other \(10 addresses pinged\)/);
  });

  it('colours cells through the given function', () => {
    const text = formatMatrix(matrix(), { color: (s, t) => `<${s}:${t}>` });
    assert.match(text, /<reached:ok 1h>/);
    assert.match(text, /<unreachable:unr\*>/);
    assert.match(text, /<lost:lost>/);
  });

  it('prints one line per expectation and a count', () => {
    const text = formatExpectations(checkExpectations(lab(), matrix()));
    const lines = text.split('\n');
    assert.equal(lines.length, 8);
    assert.equal(lines[0], '✔ a -> host reach, 1 hop: a reaches host (10.0.0.1) across 1 router');
    assert.equal(
      lines[3],
      '✘ host -> a no reach: host reaches 10.0.1.10, but the file expects a to be unreachable',
    );
    assert.equal(lines[7], '3 of 7 expectations hold');
  });
});
