import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTopology } from '../../src/topology/load.js';
import {
  interfaceNameProblem,
  labNameProblem,
  netnsNameProblem,
  nodeNameProblem,
  sysctlKeyProblem,
} from '../../src/topology/names.js';
import { labText, problemsOf } from './fixtures.js';

describe('interface names', () => {
  it('refuses what the kernel refuses or reads otherwise: NUL, %, :, /, whitespace, all, default, ., .., > 15 bytes', () => {
    for (const bad of [
      '',
      'e\u0000',
      'e\n0',
      'e%d',
      'e0:1',
      'e/0',
      'e 0',
      'e\t0',
      'all',
      'default',
      '.',
      '..',
      'a'.repeat(16),
    ])
      assert.ok(interfaceNameProblem(bad), JSON.stringify(bad));
    for (const ok of ['eth0', 'veth12', 'eth0.100', 'e1-1', 'a'.repeat(15), 'défault'])
      assert.equal(interfaceNameProblem(ok), undefined, ok);
  });

  it('says why, at the endpoint, in both endpoint forms', () => {
    assert.deepEqual(problemsOf(labText({ nodes: ['a', 'b'], links: ['a:e%d b:default'] })), [
      "7:19: endpoint 1 of link 1 has an interface name that contains '%', which makes it a template the kernel fills in (eth%d): 'e%d'",
      "7:28: endpoint 2 of link 1 has an interface name that cannot be 'default': /proc/sys/net/ipv4/conf/default holds the settings of every interface",
    ]);
    const text =
      'name: t\ntopology:\n  nodes: { a: {}, b: {} }\n  links:\n    - endpoints: [{ node: a, interface: "e\\0" }, "b:e0"]\n';
    assert.deepEqual(problemsOf(text), [
      `5:41: 'interface' in endpoint 1 of link 1 contains a control character: "e\\u0000"`,
    ]);
  });
});

describe('node, lab and namespace names', () => {
  it('node names: the pattern, . and .., and 255 bytes', () => {
    assert.match(nodeNameProblem('.')!, /cannot be '\.'/);
    assert.match(nodeNameProblem('..')!, /cannot be '\.\.'/);
    assert.match(nodeNameProblem('a/b')!, /must use only letters/);
    assert.match(nodeNameProblem('n'.repeat(256))!, /at most 255/);
    assert.equal(nodeNameProblem('n'.repeat(255)), undefined);
    assert.equal(nodeNameProblem('...'), undefined);
  });

  it('a namespace name is the prefix and the node name: both together fit in 255 bytes', () => {
    assert.match(netnsNameProblem('p'.repeat(256))!, /256 bytes long/);
    assert.match(netnsNameProblem('..')!, /the directory \/run\/netns itself/);
    const text = `name: t\nprefix: ${'p'.repeat(250)}\ntopology:\n  nodes:\n    abcdef: {}\n    abc: {}\n`;
    assert.deepEqual(problemsOf(text), [
      "5:5: the namespace name of node 'abcdef' (prefix + name) would be 256 bytes long ('pppppppppppppppppppppppp...'), and a namespace name (/run/netns/NAME) has at most 255",
    ]);
  });

  it('lab names: . and .., and 64 bytes, since they name the ledger file NAME@HOSTNS.json', () => {
    assert.match(labNameProblem('..')!, /cannot be/);
    assert.match(labNameProblem('l'.repeat(65))!, /at most 64/);
    assert.equal(labNameProblem('l'.repeat(64)), undefined);
    assert.deepEqual(problemsOf('name: ".."\ntopology:\n  nodes: {}\n'), ["1:7: 'name' cannot be '..'"]);
  });

  it('names of Object.prototype are names like any other: declared they work, undeclared they are reported', () => {
    const lab = parseTopology(
      labText({
        nodes: ['constructor', 'toString', 'valueOf'],
        links: ['constructor:e0 toString:e0', 'toString:e1 valueOf:e0'],
      }) + 'expect:\n  - { from: constructor, to: valueOf, reach: true }\n',
    );
    assert.deepEqual(
      lab.nodes.map((n) => [n.name, n.interfaces.length]),
      [
        ['constructor', 1],
        ['toString', 2],
        ['valueOf', 1],
      ],
    );
    assert.deepEqual(
      problemsOf(
        labText({ nodes: ['a'], links: ['a:e0 hasOwnProperty:e0', 'a:e1 __proto__:e0'] }) +
          'expect:\n  - { from: constructor, to: a, reach: true }\n',
      ),
      [
        "6:27: endpoint 2 of link 1 names node 'hasOwnProperty', which is not declared under topology.nodes",
        "7:27: endpoint 2 of link 2 names node '__proto__', which is not declared under topology.nodes",
        "9:13: expectation 1 starts from 'constructor', which is not a node of the lab",
      ],
    );
  });

  it("'__proto__' is refused as a key anywhere, at its place", () => {
    assert.deepEqual(
      problemsOf(labText({ nodes: ['__proto__', 'b: { sysctls: { __proto__: 1 } }'], links: [] })),
      [
        "4:5: '__proto__' cannot be a key: it would change how every object behaves",
        "5:21: '__proto__' cannot be a key: it would change how every object behaves",
      ],
    );
  });
});

describe('sysctl keys', () => {
  it('have no empty, . or .. part, and no whitespace', () => {
    for (const bad of [
      'net..x',
      'net.ipv4.',
      'net.',
      'net/ipv4//x',
      'net/ipv4/../x',
      'net.ipv4.x y',
      'net.ipv4/x',
      'kernel.x',
    ])
      assert.ok(sysctlKeyProblem(bad), bad);
    for (const ok of [
      'net.ipv4.ip_forward',
      'net/ipv4/conf/eth0.1/rp_filter',
      'net.ipv6.conf.all.forwarding',
    ])
      assert.equal(sysctlKeyProblem(ok), undefined, ok);
    assert.deepEqual(problemsOf(labText({ nodes: ['a: { sysctls: { "net.ipv4.": 1 } }'], links: [] })), [
      "4:21: sysctl 'net.ipv4.' of node 'a' has an empty part: a sysctl is written net.a.b, each part a name ('net.ipv4.')",
    ]);
  });
});
