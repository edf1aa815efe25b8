import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TopologyError } from '../../src/topology/errors.js';
import { loadTopology, parseTopology } from '../../src/topology/load.js';
import { problemsOf } from './fixtures.js';

const CLAB = join(import.meta.dirname, 'clab');

async function problemsOfFile(name: string): Promise<string[]> {
  try {
    await loadTopology(join(CLAB, name));
  } catch (e) {
    assert.ok(e instanceof TopologyError, String(e));
    return e.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
  }
  assert.fail(`${name} loaded`);
}

describe('containerlab files', () => {
  it("a .clab.yml of containerlab's documentation without images loads: its nodes are namespaces", async () => {
    const lab = await loadTopology(join(CLAB, 'srlceos01-links.clab.yml'));
    assert.equal(lab.name, 'srlceos01');
    assert.deepEqual(
      lab.nodes.map((n) => [
        n.name,
        n.kind,
        n.netns,
        n.interfaces.map((i) => `${i.name} ${i.ipv4.join(',')}`),
      ]),
      [
        ['srl', 'netns', 'srl', ['e1-1 10.200.0.1/30', 'e1-2 10.200.0.5/30']],
        ['ceos', 'netns', 'ceos', ['eth1 10.200.0.2/30', 'eth2 10.200.0.6/30']],
      ],
    );
  });

  it('refuses image and the other container settings at their places, one sentence each', async () => {
    assert.deepEqual(await problemsOfFile('demo-linux.clab.yml'), [
      "9:7: 'image' in node 'n1' is a container setting of containerlab: nslab runs no containers (a node is a network namespace), remove it",
      "12:7: 'image' in node 'n2' is a container setting of containerlab: nslab runs no containers (a node is a network namespace), remove it",
    ]);
    assert.deepEqual(await problemsOfFile('br01.clab.yml'), [
      "7:5: kind 'srl' of topology.kinds is not a kind nslab has: 'netns' and 'linux' (a namespace) and 'bridge'; containerlab's other kinds are container images, and nslab runs no containers",
      "8:7: 'type' in kind 'srl' of topology.kinds is a container setting of containerlab: nslab runs no containers (a node is a network namespace), remove it",
      "9:7: 'image' in kind 'srl' of topology.kinds is a container setting of containerlab: nslab runs no containers (a node is a network namespace), remove it",
      "12:13: 'kind' in node 'srl1' must be one of 'netns', 'linux', 'bridge', 'host', not 'srl': 'srl' is a containerlab kind that runs a container image, and nslab runs no containers",
      "14:13: 'kind' in node 'srl2' must be one of 'netns', 'linux', 'bridge', 'host', not 'srl': 'srl' is a containerlab kind that runs a container image, and nslab runs no containers",
      "16:13: 'kind' in node 'srl3' must be one of 'netns', 'linux', 'bridge', 'host', not 'srl': 'srl' is a containerlab kind that runs a container image, and nslab runs no containers",
    ]);
    assert.deepEqual(
      problemsOf('name: t\nmgmt:\n  network: custom\ntopology:\n  nodes: { a: { binds: [/x:/x] } }\n'),
      [
        "2:1: 'mgmt' at the top level is a container setting of containerlab: nslab runs no containers (a node is a network namespace), remove it",
        "5:17: 'binds' in node 'a' is a container setting of containerlab: nslab runs no containers (a node is a network namespace), remove it",
      ],
    );
  });

  it('kinds give defaults to the nodes of a kind: the node wins over its kind, which wins over defaults', () => {
    const lab = parseTopology(`name: t
topology:
  defaults:
    exec: ["echo default"]
    sysctls: { net.ipv4.ip_forward: 0, net.ipv4.conf.all.rp_filter: 2 }
  kinds:
    linux:
      exec: ["echo linux"]
      sysctls: { net.ipv4.ip_forward: 1 }
      routing: auto
  nodes:
    a: { kind: linux }
    r: { kind: linux }
    b: { kind: linux, exec: ["echo b"], routing: static }
    c: {}
  links:
    - type: veth
      endpoints: ["a:eth1", "r:eth1"]
    - endpoints: ["r:eth2", "b:eth1"]
    - endpoints: ["r:eth3", "c:eth1"]
`);
    const [a, , b, c] = lab.nodes;
    assert.deepEqual(
      [a, b, c].map((n) => [n.kind, n.exec, n.sysctls, n.autoRouting ?? false]),
      [
        ['netns', ['echo linux'], { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '2' }, true],
        ['netns', ['echo b'], { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '2' }, false],
        [
          'netns',
          ['echo default'],
          { 'net.ipv4.ip_forward': '0', 'net.ipv4.conf.all.rp_filter': '2' },
          false,
        ],
      ],
    );
    // a's computed route says where its routing: auto is written: in its kind.
    assert.deepEqual(
      a.routes.map((r) => [r.dst, r.via, r.pos]),
      [['0.0.0.0/0', '10.200.0.2', { file: '<inline>', line: 10, col: 16 }]],
    );
  });

  it('only link type veth is a link nslab makes', () => {
    assert.deepEqual(
      problemsOf(
        'name: t\ntopology:\n  nodes: { a: {}, b: {} }\n  links:\n    - { type: vxlan, endpoints: ["a:e0", "b:e0"] }\n',
      ),
      ["5:15: 'type' in link 1 must be 'veth', not 'vxlan'"],
    );
  });
});
