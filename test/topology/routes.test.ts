import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTopology } from '../../src/topology/load.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { labText, problemsOf } from './fixtures.js';

function routesOf(lab: ResolvedLab, node: string): string[] {
  return lab.nodes
    .find((n) => n.name === node)!
    .routes.map(
      (r) =>
        `${r.dst}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.table ? ` table ${r.table}` : ''}`,
    );
}

/** h1 - r1 - r2 - h3, r1 and r2 with both families written on the middle link. */
const chain = (h1Routes: string, extraNodes: string[] = []) =>
  labText({
    nodes: [`h1: { routes: [${h1Routes}] }`, 'r1', 'r2', 'h3', ...extraNodes],
    links: [
      'h1:e0 r1:e0 ipv4: [10.0.1.2/24, 10.0.1.1/24]',
      'r1:e1 r2:e1 ipv4: [10.0.2.1/24, 10.0.2.2/24]',
      'r2:e0 h3:e0 ipv4: [10.0.3.1/24, 10.0.3.2/24]',
    ],
  });

describe('routes written with names', () => {
  it('via: a node is its address on the segment shared with the node; node:interface names the interface', () => {
    const lab = parseTopology(chain('{ dst: 10.0.3.0/24, via: r1 }, { dst: 10.0.2.0/24, via: "r1:e0" }'));
    assert.deepEqual(routesOf(lab, 'h1'), [
      '10.0.3.0/24 via 10.0.1.1 dev e0',
      '10.0.2.0/24 via 10.0.1.1 dev e0',
    ]);
  });

  it('dst: a node is one host route to each of its addresses not on a subnet of the node', () => {
    const lab = parseTopology(chain('{ dst: h3, via: r1 }, { dst: r2, via: r1 }'));
    // r2's address on 10.0.2.0/24 and on 10.0.3.0/24; h3's one address.
    assert.deepEqual(routesOf(lab, 'h1'), [
      '10.0.3.2/32 via 10.0.1.1 dev e0',
      '10.0.2.2/32 via 10.0.1.1 dev e0',
      '10.0.3.1/32 via 10.0.1.1 dev e0',
    ]);
    // r1's addresses: one is on h1's own subnet (reached directly), the other gets a host route.
    assert.deepEqual(routesOf(parseTopology(chain('{ dst: r1, dev: e0 }')), 'h1'), ['10.0.2.1/32 dev e0']);
  });

  it('default via a node gives a default route in each family its address there has', () => {
    const lab = parseTopology(
      labText({
        nodes: ['h: { routes: [{ dst: default, via: r }] }', 'r'],
        links: ['h:e0 r:e0 ipv4: [10.0.0.2/24, 10.0.0.1/24]'],
      }).replace(
        'ipv4: [10.0.0.2/24, 10.0.0.1/24]',
        'ipv4: [10.0.0.2/24, 10.0.0.1/24]\n      ipv6: ["fd00::2/64", "fd00::1/64"]',
      ),
    );
    assert.deepEqual(routesOf(lab, 'h'), ['0.0.0.0/0 via 10.0.0.1 dev e0', '::/0 via fd00::1 dev e0']);
  });

  it('names that do not fit say why, at the via or the dst', () => {
    assert.deepEqual(
      problemsOf(
        chain(
          '{ dst: 10.9.0.0/16, via: r2 }, { dst: 10.9.0.0/16, via: "r1:e9" }, { dst: h9, via: r1 }, { dst: 10.8.0.0/16, via: rr1 }, { dst: h1, dev: e0 }',
        ),
      ),
      [
        "4:45: route 1 of node 'h1' goes via 'r2', but node 'h1' shares no link or LAN with 'r2'",
        "4:76: route 2 of node 'h1' goes via 'r1:e9', but node 'r1' has no interface 'e9' (did you mean 'e0'?)",
        "4:94: route 3 of node 'h1' goes to 'h9', which is neither a network nor a node of the lab (did you mean 'h1'?)",
        "4:134: route 4 of node 'h1' goes via 'rr1', but 'rr1' is neither an address nor a node of the lab (did you mean 'r1'?)",
        "4:148: route 5 of node 'h1' goes to 'h1', the node itself",
      ],
    );
    // A node on two of the node's segments must be named with its interface.
    assert.deepEqual(
      problemsOf(
        labText({
          nodes: ['a: { routes: [{ dst: 10.9.0.0/16, via: b }] }', 'b'],
          links: ['a:e0 b:e0 ipv4: [10.0.0.1/24, 10.0.0.2/24]', 'a:e1 b:e1 ipv4: [10.0.1.1/24, 10.0.1.2/24]'],
        }),
      ),
      [
        "4:44: route 1 of node 'a' goes via 'b', but node 'a' shares 2 links or LANs with 'b': say which, 'b:e0' or 'b:e1'",
      ],
    );
  });

  it('a gateway on a bridge is its br0', () => {
    const lab = parseTopology(
      labText({
        nodes: ['h: { routes: [{ dst: default, via: sw }] }', 'sw: { kind: bridge, ipv4: [10.0.0.254/24] }'],
        links: ['h:e0 sw:p1 ipv4: [10.0.0.1/24, null]'],
      }),
    );
    assert.deepEqual(routesOf(lab, 'h'), ['0.0.0.0/0 via 10.0.0.254 dev e0']);
  });
});

describe('0.0.0.0/0 and ::/0 are default', () => {
  it('automatic addressing does not take them for a subnet of the file (it used to fill the pool)', () => {
    const lab = parseTopology(
      labText({
        nodes: ['h: { routes: [{ dst: 0.0.0.0/0, via: r }, { dst: "::/0", dev: e0 }] }', 'r'],
        links: ['h:e0 r:e0'],
      }),
    );
    assert.deepEqual(routesOf(lab, 'h'), ['0.0.0.0/0 via 10.200.0.2 dev e0', '::/0 dev e0']);
  });

  it('default and 0.0.0.0/0 in one table are one destination written twice', () => {
    assert.deepEqual(
      problemsOf(
        labText({
          nodes: [
            'h: { routes: [{ dst: default, dev: e0 }, { dst: 0.0.0.0/0, dev: e0, metric: 7 }, { dst: default, dev: e0, table: 9 }] }',
            'r',
          ],
          links: ['h:e0 r:e0'],
        }),
      ),
      [
        "4:53: route 2 of node 'h' goes to default (0.0.0.0/0) in the main table, as route 1 (line 4) does: the kernel keeps one route per destination and table",
      ],
    );
  });
});

describe('a route destination listed twice in one table', () => {
  it('is refused at the second, naming the line of the first', () => {
    assert.deepEqual(
      problemsOf(chain('{ dst: 10.0.3.0/24, via: r1 }, { dst: 10.0.3.7/24, via: 10.0.1.1, metric: 5 }')),
      [
        "4:58: route 2 of node 'h1' goes to 10.0.3.0/24 in the main table, as route 1 (line 4) does: the kernel keeps one route per destination and table",
      ],
    );
  });
});

describe('gw: and other names for via', () => {
  it('get a did-you-mean', () => {
    assert.deepEqual(problemsOf(chain('{ dst: 10.0.3.0/24, gw: 10.0.1.1 }')), [
      "4:40: unknown key 'gw' in route 1 of node 'h1' (did you mean 'via'?)",
    ]);
    assert.deepEqual(problemsOf(chain('{ destination: 10.0.3.0/24, via: 10.0.1.1 }')), [
      "4:20: missing required key 'dst' in route 1 of node 'h1'",
      "4:22: unknown key 'destination' in route 1 of node 'h1' (did you mean 'dst'?)",
    ]);
  });
});
