/** Schema problems and the problems of the lab itself, found in one run where the file parses. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labText, problemsOf } from './fixtures.js';

describe('every problem at once', () => {
  it('a misspelt key, an undeclared node and a gateway off-link, in one run', () => {
    assert.deepEqual(
      problemsOf(
        labText({
          nodes: ['a: { rotues: [], routes: [{ dst: 10.9.0.0/16, via: 10.5.5.5 }] }', 'b'],
          links: ['a:e0 b:e0 ipv4: [10.0.0.1/24, 10.0.0.2/24]', 'a:e1 zz:e0', 'a:e2 b:e2 mtu: x'],
        }),
      ),
      [
        "4:10: unknown key 'rotues' in node 'a' (did you mean 'routes'?)",
        "4:56: gateway 10.5.5.5 of the route to 10.9.0.0/16 is on no subnet connected to node 'a' (its subnets: 10.0.0.0/24, 10.200.0.0/30)",
        "9:27: endpoint 2 of link 2 names node 'zz', which is not declared under topology.nodes",
        "11:12: 'mtu' in link 3 must be a number, not 'x'",
      ],
    );
  });

  it('a node whose name is refused is still known: links to it are not reported again', () => {
    assert.deepEqual(
      problemsOf(
        labText({ nodes: ['"my node"', 'b'], links: ['b:e0 zz:e0'] }).replace(
          'b:e0", "zz:e0',
          'b:e0", "my node:e0',
        ),
      ),
      [
        "4:5: node 'my node' must use only letters, digits, '_', '.' and '-', not 'my node'",
        "7:27: endpoint 2 of link 1 must be 'node:interface' (like 'ns0:veth12'), not 'my node:e0'",
      ],
    );
    assert.deepEqual(
      problemsOf(
        labText({ nodes: ['"my node"', 'b'], links: [] }) +
          '  links:\n    - endpoints: ["b:e0", { node: "my node", interface: e0 }]\nexpect:\n  - { from: "my node", to: b, reach: true }\n',
      ),
      [
        "4:5: node 'my node' must use only letters, digits, '_', '.' and '-', not 'my node'",
        "7:35: 'node' in endpoint 2 of link 1 must use only letters, digits, '_', '.' and '-', not 'my node'",
        "9:13: 'from' in expectation 1 must use only letters, digits, '_', '.' and '-', not 'my node'",
      ],
    );
  });

  it('what was left out does not make problems of its own: a refused address leaves its gateways unchecked', () => {
    assert.deepEqual(
      problemsOf(
        labText({
          nodes: ['a: { routes: [{ dst: 10.9.0.0/16, via: 10.0.0.2 }] }', 'b'],
          links: ['a:e0 b:e0 ipv4: [10.0.0.1/24, 10.0.0.300/24]', 'a:e1 nowhere:e0'],
        }),
      ),
      [
        "8:27: IPv4 address 2 of link 1 must be an IPv4 address with a prefix length (like 10.0.0.1/24), not '10.0.0.300/24'",
        "9:27: endpoint 2 of link 2 names node 'nowhere', which is not declared under topology.nodes",
      ],
    );
  });

  it('an unknown key takes out only itself: its link stays, and the gateway on it is fine', () => {
    assert.deepEqual(
      problemsOf(
        labText({
          nodes: ['a: { routes: [{ dst: 10.9.0.0/16, via: 10.0.0.2 }] }', 'b'],
          links: ['a:e0 b:e0 ipv4: [10.0.0.1/24, 10.0.0.2/24]'],
        }).replace('ipv4: [10.0.0.1/24, 10.0.0.2/24]', 'ipv4: [10.0.0.1/24, 10.0.0.2/24]\n      mut: 1400'),
      ),
      ["9:7: unknown key 'mut' in link 1 (did you mean 'mtu'?)"],
    );
    // A misspelt ipv4 held the addresses the gateway is on: the gateway is not checked without them.
    assert.deepEqual(
      problemsOf(
        labText({
          nodes: ['a: { routes: [{ dst: 10.9.0.0/16, via: 10.0.0.2 }] }', 'b'],
          links: ['a:e0 b:e0 ipvv4: [10.0.0.1/24, 10.0.0.2/24]'],
        }),
      ),
      ["8:7: unknown key 'ipvv4' in link 1 (did you mean 'ipv4'?)"],
    );
  });

  it('YAML that cannot be read stops there: its problems alone', () => {
    assert.deepEqual(problemsOf('name: t\ntopology:\n  nodes: [a\n'), [
      '4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });
});
