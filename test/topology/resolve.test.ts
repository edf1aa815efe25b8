import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import { DEFAULT_IPV4_POOL } from '../../src/topology/addressing.js';
import type { TopologyError } from '../../src/topology/errors.js';
import { prefixesOverlap } from '../../src/topology/ip.js';
import { parseTopology } from '../../src/topology/load.js';
import type { ResolvedLab, ResolvedNode } from '../../src/topology/types.js';

/** A lab from a list of nodes (`name` or `name: {...}`) and links (`a:x b:y` plus extra YAML for the link). */
function build(opts: { top?: string; defaults?: string; nodes: string[]; links: string[] }): string {
  const nodes = opts.nodes.map((n) => `    ${n.includes(':') ? n : `${n}: {}`}\n`).join('');
  const links = opts.links
    .map((l) => {
      const [a, b, ...rest] = l.split(' ');
      return `    - endpoints: ["${a}", "${b}"]\n${rest.length ? `      ${rest.join(' ')}\n` : ''}`;
    })
    .join('');
  const defaults = opts.defaults ? `  defaults: ${opts.defaults}\n` : '';
  return `name: t\n${opts.top ?? ''}topology:\n${defaults}  nodes:\n${nodes}  links:\n${links}`;
}

function node(lab: ResolvedLab, name: string): ResolvedNode {
  return lab.nodes.find((n) => n.name === name)!;
}

/** `node:iface addr,addr` for every interface, for compact comparisons. */
function addresses(lab: ResolvedLab): string[] {
  return lab.nodes.flatMap((n) =>
    n.interfaces.map((i) => `${n.name}:${i.name} ${[...i.ipv4, ...i.ipv6].join(',')}`),
  );
}

function routes(n: ResolvedNode): string[] {
  return n.routes.map((r) => `${r.dst} via ${r.via} dev ${r.dev}${r.auto ? '' : ' (written)'}`);
}

function chain(n: number, extra = ''): string {
  const names = Array.from({ length: n }, (_, i) => `r${i}`);
  return build({
    top: `routing: auto\n${extra}`,
    defaults: '{ ipv4-pool: 10.0.0.0/8 }',
    nodes: names,
    links: names.slice(1).map((r, i) => `r${i}:right ${r}:left`),
  });
}

/** Routers crossed by a ping from `from` to `to`, by the forwarding simulator; undefined when it fails. */
function routersTo(lab: ResolvedLab, from: string, to: string): number | undefined {
  const e = explain(lab, from, to);
  return e.verdict === 'reached' ? e.requestHops : undefined;
}

describe('automatic addressing', () => {
  it('gives each point-to-point link a /30 and each bridge LAN a block that fits, from 10.200.0.0/16', () => {
    assert.equal(DEFAULT_IPV4_POOL, '10.200.0.0/16');
    const lab = parseTopology(
      build({
        nodes: ['a', 'b', 'c', 'd', 'e', 'sw: { kind: bridge }'],
        links: [
          'a:e0 b:e0',
          'a:e1 sw:p1',
          'b:e1 sw:p2',
          'c:e0 sw:p3',
          'd:e0 sw:p4',
          'e:e0 sw:p5',
          'd:e1 e:e1',
        ],
      }),
    );
    assert.deepEqual(addresses(lab), [
      'a:e0 10.200.0.1/30',
      'a:e1 10.200.0.9/29',
      'b:e0 10.200.0.2/30',
      'b:e1 10.200.0.10/29',
      'c:e0 10.200.0.11/29',
      'd:e0 10.200.0.12/29',
      'd:e1 10.200.0.17/30',
      'e:e0 10.200.0.13/29',
      'e:e1 10.200.0.18/30',
      'sw:p1 ',
      'sw:p2 ',
      'sw:p3 ',
      'sw:p4 ',
      'sw:p5 ',
    ]);
    assert.ok(node(lab, 'a').interfaces.every((i) => i.autoAddressed));
    assert.ok(node(lab, 'sw').interfaces.every((i) => !i.autoAddressed));
  });

  it('is deterministic', () => {
    const text = build({ nodes: ['a', 'b', 'c'], links: ['a:e0 b:e0', 'b:e1 c:e0', 'c:e1 a:e1'] });
    assert.deepEqual(parseTopology(text), parseTopology(text));
  });

  it('sizes a LAN to its interfaces and treats bridges cabled together as one LAN', () => {
    const hosts = Array.from({ length: 7 }, (_, i) => `h${i}`);
    const lab = parseTopology(
      build({
        nodes: [...hosts, 'sw1: { kind: bridge }', 'sw2: { kind: bridge }'],
        links: ['sw1:up sw2:up', ...hosts.map((h, i) => `${h}:eth0 sw${(i % 2) + 1}:p${i}`)],
      }),
    );
    assert.deepEqual(
      hosts.map((h) => node(lab, h).interfaces[0].ipv4[0]),
      hosts.map((_, i) => `10.200.0.${i + 1}/28`),
    );
  });

  it('never hands out a subnet that overlaps an address or route destination of the file', () => {
    const lab = parseTopology(
      build({
        nodes: ['a: { routes: [{ dst: 10.200.1.0/24, dev: e0 }] }', 'b', 'c'],
        links: ['a:e0 b:e0 ipv4: [10.200.0.1/24, 10.200.0.2/24]', 'b:e1 c:e0', 'a:e1 c:e1'],
      }),
    );
    assert.deepEqual(addresses(lab), [
      'a:e0 10.200.0.1/24',
      'a:e1 10.200.2.5/30',
      'b:e0 10.200.0.2/24',
      'b:e1 10.200.2.1/30',
      'c:e0 10.200.2.2/30',
      'c:e1 10.200.2.6/30',
    ]);
    assert.equal(node(lab, 'a').interfaces[0].autoAddressed, undefined);
    const auto = lab.nodes.flatMap((n) => n.interfaces.filter((i) => i.autoAddressed).flatMap((i) => i.ipv4));
    for (const c of auto) {
      assert.ok(!prefixesOverlap(c, '10.200.0.0/24') && !prefixesOverlap(c, '10.200.1.0/24'), c);
    }
  });

  it('takes the pools of topology.defaults, adds IPv6 only with an ipv6-pool, and respects [] and null', () => {
    const lab = parseTopology(
      build({
        defaults: '{ ipv4-pool: 172.16.8.0/22, ipv6-pool: "fd00:aa::/48" }',
        nodes: ['a', 'b', 'c', 'd'],
        links: ['a:e0 b:e0', 'b:e1 c:e0 ipv4: []', 'c:e1 d:e0 ipv4: [192.168.0.1/24, null]'],
      }),
    );
    assert.deepEqual(addresses(lab), [
      'a:e0 172.16.8.1/30,fd00:aa::1/64',
      'b:e0 172.16.8.2/30,fd00:aa::2/64',
      'b:e1 fd00:aa:0:1::1/64',
      'c:e0 fd00:aa:0:1::2/64',
      'c:e1 192.168.0.1/24,fd00:aa:0:2::1/64',
      'd:e0 fd00:aa:0:2::2/64',
    ]);
    const noV6 = parseTopology(build({ nodes: ['a', 'b'], links: ['a:e0 b:e0'] }));
    assert.deepEqual(addresses(noV6), ['a:e0 10.200.0.1/30', 'b:e0 10.200.0.2/30']);
  });

  it('allocates only the families the file writes: an IPv6-only file gets no IPv4', () => {
    const lab = parseTopology(
      build({
        nodes: ['a', 'b', 'c'],
        links: ['a:e0 b:e0 ipv6: ["fd00:1::1/64", "fd00:1::2/64"]', 'b:e1 c:e0'],
      }),
    );
    assert.deepEqual(addresses(lab), [
      'a:e0 fd00:1::1/64',
      'b:e0 fd00:1::2/64',
      'b:e1 fd00:200::1/64',
      'c:e0 fd00:200::2/64',
    ]);
  });

  it("adds a family whose pool is set, and none of a family whose pool is 'none'", () => {
    const v6 = {
      nodes: ['a', 'b', 'c'],
      links: ['a:e0 b:e0 ipv6: ["fd00:1::1/64", "fd00:1::2/64"]', 'b:e1 c:e0'],
    };
    assert.deepEqual(addresses(parseTopology(build({ ...v6, defaults: '{ ipv4-pool: 10.9.0.0/16 }' }))), [
      'a:e0 10.9.0.1/30,fd00:1::1/64',
      'b:e0 10.9.0.2/30,fd00:1::2/64',
      'b:e1 10.9.0.5/30,fd00:200::1/64',
      'c:e0 10.9.0.6/30,fd00:200::2/64',
    ]);
    assert.deepEqual(addresses(parseTopology(build({ ...v6, defaults: '{ ipv6-pool: none }' }))), [
      'a:e0 fd00:1::1/64',
      'b:e0 fd00:1::2/64',
      'b:e1 ',
      'c:e0 ',
    ]);
    const none = parseTopology(
      build({ defaults: '{ ipv4-pool: none }', nodes: ['a', 'b'], links: ['a:e0 b:e0'] }),
    );
    assert.deepEqual(addresses(none), ['a:e0 ', 'b:e0 ']);
  });

  it('says when the pool is too small, at the pool', () => {
    assert.throws(
      () =>
        parseTopology(
          build({
            defaults: '{ ipv4-pool: 10.9.0.0/29 }',
            nodes: ['a', 'b', 'c'],
            links: ['a:e0 b:e0', 'b:e1 c:e0', 'c:e1 a:e1'],
          }),
        ),
      (err: TopologyError) =>
        err.message ===
        '<inline>:3:26: the ipv4 pool 10.9.0.0/29 has no room left for the addresses of link 3',
    );
  });
});

describe('routing: auto', () => {
  it('routes a chain by shortest path, with forwarding on the routers only', () => {
    const lab = parseTopology(
      build({
        top: 'routing: auto\n',
        nodes: ['h1', 'r1', 'r2', 'h2'],
        links: ['h1:eth0 r1:eth0', 'r1:eth1 r2:eth0', 'r2:eth1 h2:eth0'],
      }),
    );
    // h1 and h2 leave by one gateway for everything: a default route each.
    assert.deepEqual(routes(node(lab, 'h1')), ['0.0.0.0/0 via 10.200.0.2 dev eth0']);
    assert.deepEqual(routes(node(lab, 'r1')), ['10.200.0.8/30 via 10.200.0.6 dev eth1']);
    assert.deepEqual(routes(node(lab, 'r2')), ['10.200.0.0/30 via 10.200.0.5 dev eth0']);
    assert.deepEqual(routes(node(lab, 'h2')), ['0.0.0.0/0 via 10.200.0.9 dev eth0']);
    assert.deepEqual(
      lab.nodes.map((n) => n.sysctls),
      [{}, { 'net.ipv4.ip_forward': '1' }, { 'net.ipv4.ip_forward': '1' }, {}],
    );
    assert.ok(lab.nodes.every((n) => n.autoRouting));
    assert.deepEqual(node(lab, 'h1').routes[0].pos, { file: '<inline>', line: 2, col: 10 });
    assert.equal(routersTo(lab, 'h1', '10.200.0.10'), 2);
    assert.equal(routersTo(lab, 'h2', '10.200.0.1'), 2);
  });

  it('takes the shorter way around a ring', () => {
    const lab = parseTopology(
      build({
        top: 'routing: auto\n',
        nodes: ['a', 'b', 'c', 'd', 'e'],
        links: ['a:e0 b:e0', 'b:e1 c:e0', 'c:e1 d:e0', 'd:e1 e:e0', 'e:e1 a:e1'],
      }),
    );
    // Links in order: a-b 10.200.0.0/30, b-c .4, c-d .8, d-e .12, e-a .16.
    const a = routes(node(lab, 'a'));
    assert.ok(a.includes('10.200.0.4/30 via 10.200.0.2 dev e0'));
    assert.ok(a.includes('10.200.0.12/30 via 10.200.0.17 dev e1'));
    assert.equal(routersTo(lab, 'a', '10.200.0.13'), 1);
    assert.equal(routersTo(lab, 'a', '10.200.0.6'), 1);
  });

  it('routes across a bridge LAN through the router on it', () => {
    const lab = parseTopology(
      build({
        defaults: '{ routing: auto, ipv6-pool: "fd00:1::/48" }',
        nodes: ['a', 'b', 'r', 'd', 'sw: { kind: bridge }'],
        links: ['a:eth0 sw:p1', 'b:eth0 sw:p2', 'r:eth0 sw:p3', 'r:eth1 d:eth0'],
      }),
    );
    assert.deepEqual(routes(node(lab, 'a')), [
      '10.200.0.8/30 via 10.200.0.3 dev eth0',
      'fd00:1:0:1::/64 via fd00:1::3 dev eth0',
    ]);
    assert.deepEqual(routes(node(lab, 'd')), [
      '10.200.0.0/29 via 10.200.0.9 dev eth0',
      'fd00:1::/64 via fd00:1:0:1::1 dev eth0',
    ]);
    assert.deepEqual(routes(node(lab, 'r')), []);
    assert.deepEqual(node(lab, 'r').sysctls, {
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.forwarding': '1',
    });
    for (const n of ['a', 'b', 'd', 'sw']) assert.deepEqual(node(lab, n).sysctls, {}, n);
    assert.equal(node(lab, 'sw').autoRouting, undefined);
    assert.deepEqual(node(lab, 'a').routes[0].pos, { file: '<inline>', line: 3, col: 24 });
    assert.equal(routersTo(lab, 'a', 'fd00:1:0:1::2'), 1);
    assert.equal(routersTo(lab, 'b', '10.200.0.10'), 1);
  });

  it('keeps what the file says: written routes and sysctls win, static nodes get nothing and carry nothing', () => {
    const lab = parseTopology(
      build({
        top: 'routing: auto\n',
        nodes: [
          'a: { routes: [{ dst: 10.200.0.8/30, via: 10.200.0.2 }] }',
          'b: { sysctls: { net.ipv4.ip_forward: 0 } }',
          'c',
          's: { routing: static }',
          'x',
        ],
        links: ['a:e0 b:e0', 'b:e1 c:e0', 'c:e1 s:e0', 's:e1 x:e0'],
      }),
    );
    // The written route reserves 10.200.0.8/30, so the links get .0, .4, .12 and .16.
    assert.deepEqual(routes(node(lab, 'a')), [
      '10.200.0.8/30 via 10.200.0.2 dev e0 (written)',
      '0.0.0.0/0 via 10.200.0.2 dev e0',
    ]);
    assert.equal(node(lab, 'b').sysctls['net.ipv4.ip_forward'], '0');
    assert.deepEqual(node(lab, 's').routes, []);
    assert.equal(node(lab, 's').autoRouting, undefined);
    // x is only reachable through s, which is not auto: nobody routes to their subnet, and x gets no route.
    assert.ok(lab.nodes.every((n) => !n.routes.some((r) => r.dst === '10.200.0.16/30')));
    assert.deepEqual(node(lab, 'x').routes, []);
    assert.deepEqual(node(lab, 'c').sysctls, { 'net.ipv4.ip_forward': '1' });
  });

  it('routes a chain of 250 routers and raises the default TTL for the long paths', () => {
    const lab = parseTopology(chain(250));
    assert.equal(lab.nodes.length, 250);
    // Link k (r<k> - r<k+1>) gets 10.0.0.0 + 4k /30: r<k> has .1 in it, r<k+1> .2.
    const addr = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    lab.nodes.forEach((n, i) => {
      const expected: string[] = [];
      for (let k = 0; k < 249; k++) {
        if (k < i - 1) expected.push(`${addr(4 * k)}/30 via ${addr(4 * (i - 1) + 1)} dev left`);
        if (k > i) expected.push(`${addr(4 * k)}/30 via ${addr(4 * i + 2)} dev right`);
      }
      // a router with a single way out (the two ends, and their neighbours whose other side is connected)
      // gets one default route instead
      const ways = new Set(expected.map((e) => e.replace(/^\S+ /, '')));
      if (expected.length > 1 && ways.size === 1)
        expected.splice(0, expected.length, `0.0.0.0/0 ${[...ways][0]}`);
      assert.deepEqual(routes(n).sort(), expected.sort(), n.name);
      assert.equal(n.sysctls['net.ipv4.ip_default_ttl'], '255');
      assert.equal(n.sysctls['net.ipv4.ip_forward'], i === 0 || i === 249 ? undefined : '1');
    });
    const last = node(lab, 'r249').interfaces[0].ipv4[0].split('/')[0];
    assert.equal(routersTo(lab, 'r0', last), 248);
  });

  it('raises the TTL only when a path is longer than 60 hops', () => {
    assert.equal(parseTopology(chain(61)).nodes[0].sysctls['net.ipv4.ip_default_ttl'], undefined);
    assert.equal(parseTopology(chain(62)).nodes[0].sysctls['net.ipv4.ip_default_ttl'], '255');
    const v6 = parseTopology(chain(62).replace('ipv4-pool: 10.0.0.0/8', 'ipv6-pool: "fd00::/32"'));
    assert.deepEqual(v6.nodes[1].sysctls, {
      'net.ipv4.ip_default_ttl': '255',
      'net.ipv6.conf.all.hop_limit': '255',
      'net.ipv6.conf.left.hop_limit': '255',
      'net.ipv6.conf.right.hop_limit': '255',
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.forwarding': '1',
    });
  });

  it('routes 2000 nodes: 40 LANs of 49 hosts joined by a core router', () => {
    const nodes = ['core'];
    const links: string[] = [];
    for (let l = 0; l < 40; l++) {
      nodes.push(`sw${l}: { kind: bridge }`);
      links.push(`core:e${l} sw${l}:up`);
      for (let h = 0; h < 49; h++) {
        nodes.push(`h${l}-${h}`);
        links.push(`h${l}-${h}:eth0 sw${l}:p${h}`);
      }
    }
    const lab = parseTopology(build({ top: 'routing: auto\n', nodes, links }));
    assert.equal(lab.nodes.length, 2001);
    const hosts = lab.nodes.filter((n) => n.name.startsWith('h'));
    assert.ok(
      hosts.every(
        (h) => h.routes.length === 1 && h.routes[0].dst === '0.0.0.0/0' && h.routes[0].dev === 'eth0',
      ),
    );
    assert.deepEqual(node(lab, 'core').routes, []);
    assert.equal(node(lab, 'core').sysctls['net.ipv4.ip_forward'], '1');
    assert.equal(node(lab, 'h0-0').interfaces[0].ipv4[0], '10.200.0.2/26');
  });
});
