import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTopology } from '../../src/topology/load.js';
import { labText, problemsOf } from './fixtures.js';

describe('address plans that cannot work are refused with both places', () => {
  it('the two ends of a link in different subnets', () => {
    assert.deepEqual(
      problemsOf(labText({ nodes: ['a', 'b'], links: ['a:e0 b:e0 ipv4: [10.0.2.1/24, 10.0.3.1/24]'] })),
      [
        '8:27: the two ends of link 1 are in different subnets: 10.0.3.1/24 of b:e0 and 10.0.2.1/24 of a:e0 (line 8); neither can reach the other: give both addresses of one subnet',
      ],
    );
    // Prefix lengths count: 10.0.0.0/24 and 10.0.0.0/25 are two subnets.
    assert.equal(
      problemsOf(labText({ nodes: ['a', 'b'], links: ['a:e0 b:e0 ipv4: [10.0.0.1/24, 10.0.0.2/25]'] }))
        .length,
      1,
    );
  });

  it('an interface of a LAN alone in its subnet, but not one alone in its family or one with a second subnet', () => {
    const lan = (h3: string, extra = '') =>
      labText({
        nodes: ['h1', 'h2', 'h3', 'sw: { kind: bridge }'],
        links: [
          `h1:e0 sw:p1 ipv4: [10.0.0.1/24, null]${extra}`,
          'h2:e0 sw:p2 ipv4: [10.0.0.2/24, null]',
          `h3:e0 sw:p3 ipv4: [${h3}, null]`,
        ],
      });
    assert.deepEqual(problemsOf(lan('10.0.1.3/24')), [
      "14:14: 10.0.1.3/24 of h3:e0 shares its subnet with no other interface on the LAN of bridge 'sw', which uses 10.0.0.0/24 (h1:e0, line 10): it cannot reach them",
    ]);
    assert.doesNotThrow(() => parseTopology(lan('10.0.0.3/24')));
    // Two subnets on one LAN, each with two members (one the bridge itself), is multinetting: fine.
    assert.doesNotThrow(() =>
      parseTopology(
        labText({
          nodes: ['h1', 'h2', 'h3', 'sw: { kind: bridge, ipv4: [10.0.1.254/24] }'],
          links: [
            'h1:e0 sw:p1 ipv4: [10.0.0.1/24, null]',
            'h2:e0 sw:p2 ipv4: [10.0.0.2/24, null]',
            'h3:e0 sw:p3 ipv4: [10.0.1.1/24, null]',
          ],
        }),
      ),
    );
    // An end left unaddressed is not in another subnet.
    assert.doesNotThrow(() =>
      parseTopology(labText({ nodes: ['a', 'b'], links: ['a:e0 b:e0 ipv4: [10.0.2.1/24, null]'] })),
    );
  });

  it('overlapping subnets, and one subnet, on two links', () => {
    const two = (second: string) =>
      labText({
        nodes: ['a', 'b', 'c'],
        links: ['a:e0 b:e0 ipv4: [10.0.0.1/24, 10.0.0.2/24]', `a:e1 c:e0 ipv4: ${second}`],
      });
    assert.deepEqual(problemsOf(two('[10.0.0.129/25, 10.0.0.130/25]')), [
      '11:14: 10.0.0.129/25 of a:e1 (10.0.0.128/25) overlaps 10.0.0.0/24 of link 1 at line 9, on another segment: a subnet belongs to one link or LAN, or the kernel sends its packets out of one interface only',
    ]);
    assert.deepEqual(problemsOf(two('[10.0.0.5/24, 10.0.0.6/24]')), [
      '11:14: 10.0.0.5/24 of a:e1 is in 10.0.0.0/24 of link 1 at line 9, on another segment: a subnet belongs to one link or LAN, or the kernel sends its packets out of one interface only',
    ]);
    // The same address twice is said once, as a duplicate.
    assert.deepEqual(problemsOf(two('[10.0.1.1/24, 10.0.0.2/24]')), [
      '11:27: address 10.0.0.2 is already used by b:e0 (line 9)',
    ]);
    assert.doesNotThrow(() => parseTopology(two('[10.0.1.1/24, 10.0.1.2/24]')));
  });

  it('IPv6 the same way', () => {
    assert.equal(
      problemsOf(
        labText({
          nodes: ['a', 'b', 'c'],
          links: [
            'a:e0 b:e0 ipv6: ["fd00::1/64", "fd00::2/64"]',
            'a:e1 c:e0 ipv6: ["fd00::1:1/112", "fd00::1:2/112"]',
          ],
        }),
      )[0],
      '11:14: fd00::1:1/112 of a:e1 (fd00::1:0/112) overlaps fd00::/64 of link 1 at line 9, on another segment: a subnet belongs to one link or LAN, or the kernel sends its packets out of one interface only',
    );
  });
});
