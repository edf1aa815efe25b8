import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { NslabError } from '../../src/sys/errors.js';
import { TopologyError } from '../../src/topology/errors.js';
import { loadTopology, parseTopology } from '../../src/topology/load.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { SEED } from './fixtures.js';

const at = (line: number, col: number) => ({ file: 'seed.nslab.yml', line, col });

/** The problems of a file that must not load, as `line:col: message` strings. */
function problems(text: string): string[] {
  try {
    parseTopology(text, 'bad.yml');
  } catch (err) {
    assert.ok(err instanceof TopologyError, String(err));
    assert.equal(err.exitCode, 2);
    assert.equal(
      err.message,
      err.problems.map((p) => `bad.yml:${p.pos.line}:${p.pos.col}: ${p.message}`).join('\n'),
    );
    return err.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
  }
  assert.fail('the file loaded');
}

/**
 * A small valid lab (ns0 - ns1, one link) to break in one place: `top` goes before `topology:`, `ns0` is the body
 * of node ns0, `nodes` adds nodes, `links` replaces the links. Links start on line 8 when `top` and `nodes` are empty.
 */
function lab(parts: { top?: string; ns0?: string; nodes?: string; links?: string } = {}): string {
  return `name: t
${parts.top ?? ''}topology:
  nodes:
    ns0:
${parts.ns0 ?? '      {}'}
    ns1: {}
${parts.nodes ?? ''}  links:
${parts.links ?? '    - endpoints: ["ns0:e0", "ns1:e0"]\n      ipv4: [10.0.0.1/24, 10.0.0.2/24]\n'}`;
}

describe('parseTopology', () => {
  it('resolves the seed file to exactly the tutorial lab', () => {
    const expected: ResolvedLab = {
      name: 'seed',
      prefix: '',
      file: 'seed.nslab.yml',
      nodes: [
        {
          name: 'host',
          kind: 'host',
          netns: null,
          sysctls: { 'net.ipv4.ip_forward': '1' },
          routes: [],
          exec: [],
          interfaces: [
            {
              node: 'host',
              name: 'veth11',
              ipv4: ['10.1.10.1/24'],
              ipv6: [],
              link: 0,
              peer: { node: 'ns0', name: 'veth12' },
              pos: at(16, 19),
            },
            {
              node: 'host',
              name: 'veth21',
              ipv4: ['10.1.20.1/24'],
              ipv6: [],
              link: 1,
              peer: { node: 'ns1', name: 'veth22' },
              pos: at(18, 19),
            },
          ],
          pos: at(4, 5),
        },
        {
          name: 'ns0',
          kind: 'netns',
          netns: 'ns0',
          sysctls: {},
          routes: [{ dst: '10.1.20.0/24', family: 4, via: '10.1.10.1', dev: 'veth12', pos: at(9, 11) }],
          exec: [],
          interfaces: [
            {
              node: 'ns0',
              name: 'veth12',
              ipv4: ['10.1.10.2/24'],
              ipv6: [],
              link: 0,
              peer: { node: 'host', name: 'veth11' },
              pos: at(16, 34),
            },
          ],
          pos: at(7, 5),
        },
        {
          name: 'ns1',
          kind: 'netns',
          netns: 'ns1',
          sysctls: {},
          routes: [{ dst: '10.1.10.0/24', family: 4, via: '10.1.20.1', dev: 'veth22', pos: at(13, 11) }],
          exec: [],
          interfaces: [
            {
              node: 'ns1',
              name: 'veth22',
              ipv4: ['10.1.20.2/24'],
              ipv6: [],
              link: 1,
              peer: { node: 'host', name: 'veth21' },
              pos: at(18, 34),
            },
          ],
          pos: at(11, 5),
        },
      ],
      links: [
        {
          index: 0,
          endpoints: [
            { node: 'host', interface: 'veth11' },
            { node: 'ns0', interface: 'veth12' },
          ],
          pos: at(16, 7),
        },
        {
          index: 1,
          endpoints: [
            { node: 'host', interface: 'veth21' },
            { node: 'ns1', interface: 'veth22' },
          ],
          pos: at(18, 7),
        },
      ],
      expect: [],
    };
    assert.deepEqual(parseTopology(SEED, 'seed.nslab.yml'), expected);
  });

  it('leaves file out for inline text', () => {
    assert.equal(parseTopology(SEED).file, undefined);
    assert.equal(parseTopology(SEED).nodes[0].pos?.file, '<inline>');
  });

  it('applies prefix, defaults and node overrides, and converts sysctl values to strings', () => {
    const l = parseTopology(`name: t
prefix: lab1-
topology:
  defaults:
    sysctls: { net.ipv4.ip_forward: true, net.ipv4.conf.all.rp_filter: 2 }
    exec: ["echo default"]
    mtu: 9000
  nodes:
    host: {}
    a:
      sysctls: { net.ipv4.ip_forward: false, net.ipv6.conf.all.disable_ipv6: "1", net/ipv4/conf/eth0.1/rp_filter: 0 }
    b:
      exec: ["ip link show"]
  links:
    - endpoints: ["host:h-a", "a:eth0"]
      ipv4: [10.0.0.1/24, null]
    - endpoints: [{ node: a, interface: eth1, mac: "02:AA:00:00:00:01", mtu: 1400 }, "b:eth0"]
      mtu: 1500
`);
    const [host, a, b] = l.nodes;
    assert.equal(l.prefix, 'lab1-');
    assert.deepEqual([host.netns, a.netns, b.netns], [null, 'lab1-a', 'lab1-b']);
    assert.deepEqual(host.sysctls, {});
    assert.deepEqual(host.exec, []);
    assert.deepEqual(a.sysctls, {
      'net.ipv4.ip_forward': '0',
      'net.ipv4.conf.all.rp_filter': '2',
      'net.ipv6.conf.all.disable_ipv6': '1',
      'net/ipv4/conf/eth0.1/rp_filter': '0',
    });
    assert.deepEqual(b.sysctls, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '2' });
    assert.deepEqual([a.exec, b.exec], [['echo default'], ['ip link show']]);
    assert.deepEqual(
      l.links.map((k) => k.mtu),
      [9000, 1500],
    );
    assert.deepEqual(
      a.interfaces.map((i) => [i.name, i.mtu, i.mac, i.ipv4]),
      [
        ['eth0', 9000, undefined, []],
        ['eth1', 1400, '02:aa:00:00:00:01', ['10.200.0.1/30']],
      ],
    );
    // The link with a written ipv4 list (one end null) is not auto-addressed; the other one is.
    assert.deepEqual(host.interfaces[0].ipv4, ['10.0.0.1/24']);
    assert.deepEqual(b.interfaces[0].ipv4, ['10.200.0.2/30']);
  });

  it('declares the host node when a link uses it, and accepts a node written with no body', () => {
    const l = parseTopology(
      'name: t\ntopology:\n  nodes:\n    ns0:\n  links:\n    - endpoints: ["host:v0", "ns0:v1"]\n',
    );
    assert.deepEqual(
      l.nodes.map((n) => [n.name, n.kind, n.netns]),
      [
        ['ns0', 'netns', 'ns0'],
        ['host', 'host', null],
      ],
    );
    assert.deepEqual(l.nodes[1].pos, { file: '<inline>', line: 6, col: 19 });
  });

  it('makes bridge nodes hold br0, with the endpoints as its ports and its own addresses', () => {
    const l = parseTopology(`name: t
topology:
  nodes:
    sw: { kind: bridge, ipv4: [192.168.1.254/24], ipv6: ["FD00::FE/64"] }
    a: {}
  links:
    - endpoints: ["a:eth0", "sw:p1"]
      ipv4: [192.168.1.1/24, null]
`);
    const sw = l.nodes[0];
    assert.deepEqual([sw.bridgeIpv4, sw.bridgeIpv6], [['192.168.1.254/24'], ['fd00::fe/64']]);
    assert.deepEqual(sw.interfaces[0].master, 'br0');
    assert.deepEqual(sw.interfaces[0].ipv4, []);
    assert.equal(l.nodes[1].interfaces[0].master, undefined);
  });

  it('resolves routes: default family from the gateway, dev from the connected subnet, dev-only routes', () => {
    const l = parseTopology(
      lab({
        ns0: `      routes:
        - { dst: default, via: "fd00::2" }
        - { dst: default, via: 10.0.0.2, metric: 10, table: 100 }
        - { dst: 10.9.1.7/16, dev: e0 }`,
        links:
          '    - endpoints: ["ns0:e0", "ns1:e0"]\n      ipv4: [10.0.0.1/24, 10.0.0.2/24]\n      ipv6: ["fd00::1/64", "fd00::2/64"]\n',
      }),
    );
    assert.deepEqual(
      l.nodes[0].routes.map(({ pos, ...r }) => r),
      [
        { dst: '::/0', family: 6, via: 'fd00::2', dev: 'e0' },
        { dst: '0.0.0.0/0', family: 4, via: '10.0.0.2', dev: 'e0', metric: 10, table: 100 },
        { dst: '10.9.0.0/16', family: 4, dev: 'e0' },
      ],
    );
  });

  it('copies expectations with their positions', () => {
    const l = parseTopology(
      lab() +
        'expect:\n  - { from: ns0, to: ns1, reach: true, hops: 1 }\n  - { from: ns1, to: "FD00::9", reach: false, family: 6 }\n',
    );
    assert.deepEqual(l.expect, [
      { from: 'ns0', to: 'ns1', reach: true, hops: 1, pos: { file: '<inline>', line: 11, col: 5 } },
      { from: 'ns1', to: 'fd00::9', reach: false, family: 6, pos: { file: '<inline>', line: 12, col: 5 } },
    ]);
  });
});

describe('parseTopology rejects bad files with every problem at its place', () => {
  it('YAML syntax errors', () => {
    assert.deepEqual(problems('name: t\ntopology:\n  nodes: {a: 1\n'), [
      '4:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
    // A key written twice is named with both lines, along with what else is wrong.
    assert.deepEqual(problems('name: t\nname: u\n'), [
      "1:1: missing required key 'topology' at the top level",
      "2:1: key 'name' is written twice in this mapping (first on line 1); the last one would win",
    ]);
  });

  it('a missing name or topology, and a file that is not a mapping', () => {
    assert.deepEqual(problems('topology:\n  nodes: {}\n'), [
      "1:1: missing required key 'name' at the top level",
    ]);
    assert.deepEqual(problems('name: t\n'), ["1:1: missing required key 'topology' at the top level"]);
    assert.deepEqual(problems('name: t\ntopology:\n  links: []\n'), [
      "3:3: missing required key 'nodes' in topology",
    ]);
    assert.deepEqual(problems('- a\n'), ['1:1: the file must be a mapping, not a list']);
  });

  it('unknown keys, with a suggestion', () => {
    assert.deepEqual(problems(lab({ ns0: '      rotues: []' })), [
      "5:7: unknown key 'rotues' in node 'ns0' (did you mean 'routes'?)",
    ]);
    assert.deepEqual(problems(lab({ top: 'routng: auto\n' })), [
      "2:1: unknown key 'routng' at the top level (did you mean 'routing'?)",
    ]);
    assert.deepEqual(
      problems(
        lab({
          links: '    - endpoints: [{ node: ns0, interface: e0, mtuu: 1400 }, "ns1:e0"]\n      ipvv4: []\n',
        }),
      ),
      [
        "8:47: unknown key 'mtuu' in endpoint 1 of link 1 (did you mean 'mtu'?)",
        "9:7: unknown key 'ipvv4' in link 1 (did you mean 'ipv4'?)",
      ],
    );
    assert.deepEqual(problems(lab({ top: 'zzz: 1\n' })), ["2:1: unknown key 'zzz' at the top level"]);
  });

  it('wrong types and values', () => {
    assert.deepEqual(problems(lab({ ns0: '      kind: swtich\n      exec: echo' })), [
      "5:13: 'kind' in node 'ns0' must be one of 'netns', 'linux', 'bridge', 'host', not 'swtich'",
      "6:13: 'exec' in node 'ns0' must be a list, not 'echo'",
    ]);
    assert.deepEqual(problems(lab({ top: 'name: my lab\n' })), [
      "2:1: key 'name' is written twice in this mapping (first on line 1); the last one would win",
      "2:7: 'name' must use only letters, digits, '_', '.' and '-', not 'my lab'",
    ]);
    assert.deepEqual(problems('name: my lab\ntopology:\n  nodes: {}\n'), [
      "1:7: 'name' must use only letters, digits, '_', '.' and '-', not 'my lab'",
    ]);
    assert.deepEqual(problems(lab({ ns0: '      sysctls: { kernel.panic: 1, net.ipv4.ip_forward: [1] }' })), [
      "5:18: sysctl 'kernel.panic' of node 'ns0' is not a network sysctl: only net.* keys belong to a namespace, others would change the whole machine",
      "5:56: sysctl 'net.ipv4.ip_forward' of node 'ns0' must be a string, a number or a boolean, not a list",
    ]);
    assert.deepEqual(problems(lab({ links: '    - endpoints: ["ns0:e0", "ns1:e0"]\n      mtu: 20\n' })), [
      "9:12: 'mtu' in link 1 must be at least 68, not 20",
    ]);
  });

  it('bad CIDRs and pools', () => {
    assert.deepEqual(
      problems(
        lab({ links: '    - endpoints: ["ns0:e0", "ns1:e0"]\n      ipv4: [10.0.0.300/24, 10.0.0.2]\n' }),
      ),
      [
        "9:14: IPv4 address 1 of link 1 must be an IPv4 address with a prefix length (like 10.0.0.1/24), not '10.0.0.300/24'",
        "9:29: IPv4 address 2 of link 1 must be an IPv4 address with a prefix length (like 10.0.0.1/24), not '10.0.0.2'",
      ],
    );
    assert.deepEqual(
      problems(lab({ links: '    - endpoints: ["ns0:e0", "ns1:e0"]\n      ipv6: [10.0.0.1/24, null]\n' })),
      [
        "9:14: IPv6 address 1 of link 1 must be an IPv6 address with a prefix length (like 2001:db8::1/64), not '10.0.0.1/24'",
      ],
    );
    assert.deepEqual(problems(lab({ ns0: '      routes: [{ dst: 10.1.0.0/33, via: 10.0.0.2 }]' })), [
      "5:23: 'dst' in route 1 of node 'ns0' must be a network like 10.1.20.0/24, 'default' or a node name, not '10.1.0.0/33'",
    ]);
    assert.deepEqual(
      problems(
        lab({ top: '' }).replace('topology:\n', 'topology:\n  defaults: { ipv4-pool: 10.0.0.1/16 }\n'),
      ),
      [
        "3:26: 'topology.defaults.ipv4-pool' must be an IPv4 network of at most /30 (like 10.200.0.0/16) or 'none', not '10.0.0.1/16'",
      ],
    );
  });

  it('an address list that is not one per endpoint', () => {
    assert.deepEqual(
      problems(lab({ links: '    - endpoints: ["ns0:e0", "ns1:e0"]\n      ipv4: [10.0.0.1/24]\n' })),
      [
        "9:13: 'ipv4' in link 1 must give one address per endpoint (2 items, null for an end left unaddressed) or be [] for none, not 1 items",
      ],
    );
    assert.deepEqual(
      problems(
        lab({
          links:
            '    - endpoints: [{ node: ns0, interface: e0, ipv4: 10.0.0.1/24 }, "ns1:e0"]\n      ipv4: [10.0.0.3/24, null]\n',
        }),
      ),
      ["8:47: endpoint 1 of link 1 has its ipv4 addresses twice: in the link's 'ipv4' and in the endpoint"],
    );
  });

  it('duplicate addresses', () => {
    assert.deepEqual(
      problems(
        lab({
          nodes: '    ns2: {}\n',
          links:
            '    - endpoints: ["ns0:e0", "ns1:e0"]\n      ipv4: [10.0.0.1/24, 10.0.0.2/24]\n    - endpoints: ["ns0:e1", "ns2:e0"]\n      ipv4: [10.0.1.1/24, 10.0.0.2/16]\n',
        }),
      ),
      ['12:27: address 10.0.0.2 is already used by ns1:e0 (line 10)'],
    );
  });

  it('duplicate, reserved and impossible interface names', () => {
    assert.deepEqual(
      problems(
        lab({ links: '    - endpoints: ["ns0:e0", "ns1:e0"]\n    - endpoints: ["ns0:e0", "ns1:e1"]\n' }),
      ),
      ["9:19: node 'ns0' already has an interface named 'e0' (line 8)"],
    );
    assert.deepEqual(
      problems(
        lab({
          links:
            '    - endpoints: ["ns0:averyveryverylong", { node: ns1, interface: "a/b" }]\n    - endpoints: ["ns0:..", "ns1:lo"]\n',
        }),
      ),
      [
        "8:19: endpoint 1 of link 1 has an interface name that is too long: 'averyveryverylong' has 17 bytes, Linux allows at most 15",
        "8:68: 'interface' in endpoint 2 of link 1 contains '/' or whitespace: 'a/b'",
        "9:19: endpoint 1 of link 2 has an interface name that cannot be '..'",
      ],
    );
    assert.deepEqual(problems(lab({ links: '    - endpoints: ["ns0:e0", "ns1:lo"]\n' })), [
      "8:29: interface name 'lo' is taken by the loopback device of every namespace",
    ]);
    // 15 bytes is fine, but 16 bytes in multi-byte characters is not.
    assert.doesNotThrow(() =>
      parseTopology(lab({ links: '    - endpoints: ["ns0:abcdefghijklmno", "ns1:e0"]\n' })),
    );
    assert.deepEqual(problems(lab({ links: '    - endpoints: ["ns0:ééééééééa", "ns1:e0"]\n' })), [
      "8:19: endpoint 1 of link 1 has an interface name that is too long: 'ééééééééa' has 17 bytes, Linux allows at most 15",
    ]);
  });

  it('a gateway on no connected subnet, a gateway of the wrong family, an unknown dev, a route with neither', () => {
    assert.deepEqual(
      problems(
        lab({
          ns0: `      routes:
        - { dst: 10.9.0.0/16, via: 10.0.9.1 }
        - { dst: 10.9.0.0/16, via: "fd00::1" }
        - { dst: 10.8.0.0/16, dev: e9 }
        - { dst: 10.7.0.0/16 }`,
        }),
      ),
      [
        "6:36: gateway 10.0.9.1 of the route to 10.9.0.0/16 is on no subnet connected to node 'ns0' (its subnets: 10.0.0.0/24)",
        "7:36: gateway fd00::1 of the route to 10.9.0.0/16 in node 'ns0' is IPv6 but the destination is IPv4",
        "8:36: route 3 of node 'ns0' goes out of 'e9', which is not an interface of node 'ns0' (did you mean 'e0'?)",
        "9:11: route 4 of node 'ns0' needs 'via' (a gateway) or 'dev' (an interface)",
      ],
    );
  });

  it('an endpoint naming an undeclared node, and a link from a node to itself', () => {
    assert.deepEqual(problems(lab({ links: '    - endpoints: ["ns0:e0", "ns11:e0"]\n' })), [
      "8:29: endpoint 2 of link 1 names node 'ns11', which is not declared under topology.nodes (did you mean 'ns1'?)",
    ]);
    assert.deepEqual(
      problems(lab({ links: '    - endpoints: ["ns0:e0", { node: ns0, interface: e1 }]\n' })),
      ["8:37: link 1 connects node 'ns0' to itself; a link joins two different nodes"],
    );
    assert.deepEqual(problems(lab({ links: '    - endpoints: ["ns0:e0"]\n' })), [
      "8:18: 'endpoints' in link 1 must list exactly two endpoints",
    ]);
    assert.deepEqual(problems(lab({ links: '    - endpoints: ["ns0", "ns1:e0"]\n' })), [
      "8:19: endpoint 1 of link 1 must be 'node:interface' (like 'ns0:veth12'), not 'ns0'",
    ]);
  });

  it('addresses on bridge ports, addresses on a non-bridge node, and misuse of the host kind', () => {
    assert.deepEqual(
      problems(
        lab({
          ns0: '      kind: bridge',
          nodes: '    host: { kind: netns }\n    ns2: { kind: host, ipv4: [10.1.1.1/24] }\n',
        }),
      ),
      [
        "7:19: the node name 'host' is reserved for the host namespace; it cannot be kind netns",
        "8:18: only the node named 'host' can be kind host (the namespace nslab runs from)",
        "8:24: only bridge nodes take 'ipv4' (addresses of the bridge device); node 'ns2' gets addresses on its links",
        "11:14: endpoint 1 of link 1 is a port of bridge 'ns0' and cannot have an address; give the bridge node its own 'ipv4' (for br0) or address the other end",
      ],
    );
  });

  it('bad MAC addresses', () => {
    const text = (mac: string) =>
      lab({ links: `    - endpoints: [{ node: ns0, interface: e0, mac: "${mac}" }, "ns1:e0"]\n` });
    assert.deepEqual(problems(text('02:00:00:00:00')), [
      "8:52: 'mac' in endpoint 1 of link 1 must be a MAC address like 02:00:00:00:00:01, not '02:00:00:00:00'",
    ]);
    assert.deepEqual(problems(text('01:00:5e:00:00:01')), [
      "8:52: 'mac' in endpoint 1 of link 1 must be a unicast MAC address (lowest bit of the first byte clear), not the multicast '01:00:5e:00:00:01'",
    ]);
  });

  it('expectations that name no node or address', () => {
    assert.deepEqual(
      problems(
        `${lab()}expect:\n  - { from: nsO, to: ns1, reach: true }\n  - { from: ns0, to: 10.0.0.300, reach: true }\n  - { from: ns0, to: 10.0.0.2, reach: true, family: 6 }\n`,
      ),
      [
        "11:13: expectation 1 starts from 'nsO', which is not a node of the lab (did you mean 'ns0'?)",
        "12:22: expectation 2 goes to '10.0.0.300', which is neither a node of the lab nor an address",
        '13:53: expectation 3 asks for IPv6 but 10.0.0.2 is an IPv4 address',
      ],
    );
  });

  it('reports every problem of a file at once, in file order', () => {
    // Schema problems, with what else is wrong in the rest of the file (here nothing)...
    assert.deepEqual(
      problems(
        lab({ ns0: '      rotues: []', links: '    - endpoints: ["ns0:e0", "ns1:e0"]\n      mtu: x\n' }),
      ),
      [
        "5:7: unknown key 'rotues' in node 'ns0' (did you mean 'routes'?)",
        "9:12: 'mtu' in link 1 must be a number, not 'x'",
      ],
    );
    // ...and on a well-formed file, every problem of the lab itself.
    assert.deepEqual(
      problems(
        lab({
          ns0: '      routes: [{ dst: default, via: 10.9.9.9 }]',
          links:
            '    - endpoints: ["ns0:e0", "nsx:e0"]\n    - endpoints: ["ns0:e1", "ns1:e1"]\n      ipv4: [10.0.0.1/24, 10.0.0.1/24]\n',
        }),
      ),
      [
        "5:37: gateway 10.9.9.9 of the route to 0.0.0.0/0 is on no subnet connected to node 'ns0' (its subnets: 10.0.0.0/24)",
        "8:29: endpoint 2 of link 1 names node 'nsx', which is not declared under topology.nodes (did you mean 'ns0'?)",
        '10:27: address 10.0.0.1 is already used by ns0:e1 (line 10)',
      ],
    );
  });
});

describe('loadTopology', () => {
  it('reads a file and names it in positions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nslab-topology-'));
    try {
      const path = join(dir, 'seed.nslab.yml');
      await writeFile(path, SEED);
      const l = await loadTopology(path);
      assert.equal(l.file, path);
      assert.equal(l.links[0].pos?.file, path);
      await writeFile(path, 'name: [\n');
      await assert.rejects(loadTopology(path), (err: TopologyError) =>
        err.message.startsWith(`${path}:2:1: `),
      );
      await assert.rejects(loadTopology(join(dir, 'missing.yml')), (err: NslabError) => err.exitCode === 2);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
