/**
 * The software keys of a node (`processes:`, `files:`, `private:`) and `routing: external`, from the file to the
 * resolved lab, and what the explain model predicts of an OSPF triangle: shortest paths through the routers,
 * equal-cost paths left open, a link down gone around. No root: the resolver and the simulator are the witnesses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import { predictMatrix } from '../../src/explain/matrix.js';
import { compareMatrices } from '../../src/lab/reach.js';
import { protocolRoutes } from '../../src/topology/external.js';
import { parseTopology, specTopology } from '../../src/topology/load.js';
import { segmentsOf } from '../../src/topology/segments.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { TRIANGLE_HOSTS_AND_LINKS } from '../helpers/triangle.js';
import { problemsOf } from './fixtures.js';

const node = (lab: ResolvedLab, name: string) => lab.nodes.find((n) => n.name === name)!;

/** Three routers in a triangle (routing: external), a host with routing: auto on each. */
const TRIANGLE = `name: tri
routing: external
topology:
  nodes:
    r1: {}
    r2: {}
    r3: {}
${TRIANGLE_HOSTS_AND_LINKS}`;

describe('processes, files and private', () => {
  it('resolves processes with their ready check and timeout, files merged by path, private joined', () => {
    const lab = parseTopology(`name: sw
topology:
  defaults:
    files: { /etc/motd: "lab\\n", /etc/issue: "all\\n" }
  kinds:
    linux:
      private: [/var/run/frr]
      processes:
        - { name: zebra, command: /usr/lib/frr/zebra, ready: { exec: "test -S /var/run/frr/zserv.api" }, timeout: 1.5s }
        - { name: ospfd, command: /usr/lib/frr/ospfd, timeout: 20 }
  nodes:
    r1:
      kind: linux
      private: [/etc/frr]
      files: { /etc/issue: "r1\\n" }
    r2:
      processes: [{ name: redis, command: redis-server, ready: { tcp: 6379 } }]
    r3: {}
`);
    const r1 = node(lab, 'r1');
    assert.deepEqual(r1.processes, [
      {
        name: 'zebra',
        command: '/usr/lib/frr/zebra',
        ready: { exec: 'test -S /var/run/frr/zserv.api' },
        timeoutS: 1.5,
      },
      { name: 'ospfd', command: '/usr/lib/frr/ospfd', timeoutS: 20 },
    ]);
    assert.deepEqual(r1.files, { '/etc/issue': 'r1\n', '/etc/motd': 'lab\n' });
    assert.deepEqual(r1.private, ['/etc/frr', '/var/run/frr']);
    assert.deepEqual(node(lab, 'r2').processes, [
      { name: 'redis', command: 'redis-server', ready: { tcp: 6379 } },
    ]);
    // defaults.files gives every namespace node a view (/etc/hosts included); without it, r3 would have none.
    assert.deepEqual(node(lab, 'r3').private, []);
  });

  it('a node that declares neither files nor private has no view, and keeps the fast path', () => {
    const lab = parseTopology(`name: sw
topology:
  nodes:
    a: { processes: [{ name: s, command: sleep 9 }] }
`);
    assert.equal(node(lab, 'a').files, undefined);
    assert.equal(node(lab, 'a').private, undefined);
  });

  it('refuses what cannot work, each at its place', () => {
    assert.deepEqual(
      problemsOf(`name: sw
topology:
  nodes:
    host: { processes: [{ name: x, command: sleep 1 }] }
    a:
      processes:
        - { name: srv, command: sleep 1 }
        - { name: "bad/name", command: sleep 3 }
      private: [/proc/net, relative/dir, /etc/frr/]
      files: { /etc/x: a, /etc/x/y: b }
`),
      [
        "4:13: the host node takes no 'processes': the host is the namespace nslab runs from, and a lab's processes run in its own namespaces, where down stops them",
        "8:19: 'name' in item 2 of 'processes' in node 'a' must be one word of letters, digits, '_', '.' and '-' (at most 64), not 'bad/name'",
        "9:17: item 1 of 'private' in node 'a' cannot be under /proc: the kernel's own files stay visible in every node",
        "9:28: item 2 of 'private' in node 'a' must be an absolute path (like /etc/frr), not 'relative/dir'",
        "9:42: item 3 of 'private' in node 'a' must be written plainly, without '//', '.', '..' or a trailing '/': '/etc/frr/'",
        "10:27: /etc/x/y is inside /etc/x, which node 'a' gives as a file",
      ],
    );
    assert.deepEqual(
      problemsOf(`name: sw
topology:
  nodes:
    a:
      processes:
        - { name: srv, command: sleep 1 }
        - { name: srv, command: sleep 2 }
        - { name: t, command: sleep 4, timeout: 5 parsecs }
`),
      [
        "7:19: node 'a' has two processes named 'srv' (processes 1 and 2): give each its own name",
        "8:49: 'timeout' of process 't' must be a duration like 20ms, 1.5s or 800us, not '5 parsecs'",
      ],
    );
  });

  it('a spec object is checked and resolved as its YAML form would be', () => {
    const lab = specTopology({
      name: 'spec',
      topology: {
        nodes: { a: { processes: [{ name: 'srv', command: 'sleep 1', ready: { log: 'up' } }] }, b: {} },
        links: [{ endpoints: ['a:e0', 'b:e0'] }],
      },
    });
    assert.equal(lab.file, undefined);
    assert.deepEqual(node(lab, 'a').processes, [{ name: 'srv', command: 'sleep 1', ready: { log: 'up' } }]);
    assert.throws(
      () => specTopology({ name: 'spec', topology: { nodes: { a: { rotues: [] } as never } } }),
      /<spec>:\d+:\d+: unknown key 'rotues' in node 'a' \(did you mean 'routes'\?\)/,
    );
  });
});

describe('routing: external', () => {
  it('installs no route on the routers, turns their forwarding on, and routes the auto hosts through them', () => {
    const lab = parseTopology(TRIANGLE);
    for (const r of ['r1', 'r2', 'r3']) {
      assert.deepEqual(node(lab, r).routes, []);
      assert.equal(node(lab, r).externalRouting, true);
      assert.equal(node(lab, r).sysctls['net.ipv4.ip_forward'], '1');
    }
    assert.deepEqual(
      node(lab, 'h1').routes.map((r) => `${r.dst} via ${r.via}`),
      ['0.0.0.0/0 via 10.1.1.1'],
    );
  });

  it('refuses routes written on a node whose daemon installs them', () => {
    assert.deepEqual(
      problemsOf(`name: ext
topology:
  nodes:
    r1: { routing: external, routes: [{ dst: default, via: 10.0.0.2 }] }
    r2: {}
  links:
    - endpoints: ["r1:e0", "r2:e0"]
      ipv4: [10.0.0.1/24, 10.0.0.2/24]
`),
      [
        "4:30: node 'r1' has routing: external (a routing daemon installs its routes), so nslab installs none of its 'routes': remove them, or give the node routing: static",
      ],
    );
  });

  it('predicts the shortest paths a protocol converges to, equal-cost ones marked, links down gone around', () => {
    const lab = parseTopology(TRIANGLE);
    const text = (rs: ReturnType<typeof protocolRoutes>, n: string) =>
      (rs.get(n) ?? []).map((r) => `${r.dst} via ${r.via}${r.ecmp ? ' (ecmp)' : ''}`).sort();
    const all = protocolRoutes(lab, segmentsOf(lab));
    assert.deepEqual(text(all, 'r1'), [
      '10.0.23.0/30 via 10.0.12.2 (ecmp)',
      '10.1.2.0/24 via 10.0.12.2',
      '10.1.3.0/24 via 10.0.13.2',
    ]);
    // Link 3 is r1-r2: r1 reaches r2's side by r3, and nothing is equal-cost any more.
    const down = protocolRoutes(lab, segmentsOf(lab), new Set([3]));
    assert.deepEqual(text(down, 'r1'), [
      '10.0.23.0/30 via 10.0.13.2',
      '10.1.2.0/24 via 10.0.13.2',
      '10.1.3.0/24 via 10.0.13.2',
    ]);
  });

  it('the predicted matrix reaches everything, leaves equal-cost hops open, and follows the detour', () => {
    const lab = parseTopology(TRIANGLE);
    const m = predictMatrix(lab);
    assert.deepEqual(
      m.results.filter((r) => r.verdict !== 'reached').map((r) => `${r.from} -> ${r.to}`),
      [],
    );
    const hops = (mx: typeof m, from: string, to: string) =>
      mx.results.find((r) => r.from === from && r.to === to)?.hops;
    assert.equal(hops(m, 'h1', '10.1.2.2'), 2);
    // r1 pings r2's address on the far link through r2 or r3, as the kernel's hash says: the reply's hops are open.
    assert.equal(hops(m, 'r1', '10.0.23.1'), undefined);
    assert.equal(m.results.find((r) => r.from === 'r1' && r.to === '10.0.23.1')?.verdict, 'reached');
    // A host's pings have one way back: known.
    assert.equal(hops(m, 'h1', '10.0.23.1'), 1);
    assert.match(explain(lab, 'r1', '10.0.23.1').notes.join('\n'), /equal-cost paths/);

    const detour = predictMatrix(lab, { linksDown: [3] });
    assert.equal(hops(detour, 'h1', '10.1.2.2'), 3);
    assert.ok(
      !detour.results.some((r) => r.to === '10.0.12.1' || r.to === '10.0.12.2'),
      'the down link is no target',
    );
    // A live answer across either equal-cost path agrees with the prediction; a wrong hop count elsewhere does not.
    const live = structuredClone(m);
    live.source = 'observed';
    for (const r of live.results) if (r.hops === undefined && r.verdict === 'reached') r.hops = 1;
    assert.deepEqual(compareMatrices(m, live), []);
    live.results.find((r) => r.from === 'h1' && r.to === '10.1.2.2')!.hops = 3;
    assert.equal(compareMatrices(m, live).length, 1);
  });
});
