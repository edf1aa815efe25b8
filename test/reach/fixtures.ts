/** A lab of every kind of L3 node, and a live matrix of it built by hand, for the reach and render tests. */
import type { ReachMatrix, ReachResult } from '../../src/reach/types.js';
import { LabBuilder } from '../helpers/lab.js';

export function lab() {
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
  verdict: ReachResult['verdict'],
  extra = {},
): ReachResult => ({
  from,
  to,
  toNode,
  family: to.includes(':') ? 6 : 4,
  verdict,
  ...extra,
});

export function matrix(): ReachMatrix {
  return {
    source: 'observed',
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
