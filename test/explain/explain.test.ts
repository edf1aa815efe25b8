import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExplainError, explain, explainAll } from '../../src/explain/index.js';
import { LabBuilder } from '../helpers/lab.js';
import { asymmetric, chain, lan, overlapping, tutorial } from './fixtures.js';

const path = (hops: { node: string; inIf?: string; outIf?: string }[]) =>
  hops.map((h) => [h.node, h.inIf ?? '', h.outIf ?? ''].join('/'));

describe('tutorial lab, IPv4', () => {
  it('before routes: Network is unreachable at ns0, with the route to add', () => {
    const e = explain(tutorial('bare'), 'ns0', 'ns1');
    assert.equal(e.ok, false);
    assert.equal(e.verdict, 'unreachable');
    assert.equal(e.to, '10.1.20.2');
    assert.equal(e.toNode, 'ns1');
    assert.deepEqual(path(e.forward), ['ns0//']);
    assert.deepEqual(e.back, []);
    assert.equal(e.failure?.node, 'ns0');
    assert.equal(e.failure?.direction, 'forward');
    assert.equal(e.failure?.reason, 'Network is unreachable');
    assert.equal(
      e.failure?.sentence,
      "ns0 has no route to 10.1.20.2 (10.1.20.0/24): the kernel answers 'Network is unreachable'.",
    );
    assert.equal(e.failure?.fix, 'Add to ns0: `dst: 10.1.20.0/24, via: 10.1.10.1`');
    assert.deepEqual(e.remedy, [
      'Add to ns0: `dst: 10.1.20.0/24, via: 10.1.10.1`',
      'Set on host: `sysctls: {net.ipv4.ip_forward: 1}`',
      'Add to ns1: `dst: 10.1.10.0/24, via: 10.1.20.1`',
    ]);
  });

  it('before routes: the other way round needs the mirror route', () => {
    const e = explain(tutorial('bare'), 'ns1', 'ns0');
    assert.equal(e.failure?.fix, 'Add to ns1: `dst: 10.1.10.0/24, via: 10.1.20.1`');
  });

  it("before routes: the host reaches both namespaces, ns0 cannot even reach the host's far address", () => {
    const lab = tutorial('bare');
    for (const to of ['ns0', 'ns1']) assert.equal(explain(lab, 'host', to).verdict, 'reached');
    assert.equal(explain(lab, 'ns0', '10.1.20.1').verdict, 'unreachable');
  });

  it('routes without host forwarding: dropped at host, assuming the host does not already forward', () => {
    const e = explain(tutorial('routes'), 'ns0', 'ns1');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.src, '10.1.10.2');
    assert.deepEqual(path(e.forward), ['ns0//veth12', 'host/veth11/']);
    assert.equal(e.forward[0].via, '10.1.10.1');
    assert.equal(e.forward[0].route, '10.1.20.0/24 via 10.1.10.1 dev veth12');
    assert.equal(e.failure?.node, 'host');
    assert.equal(
      e.failure?.sentence,
      'the packet reaches host on veth11, but host does not forward (net.ipv4.ip_forward = 0, ' +
        'assuming the host does not already forward): it is dropped there.',
    );
    assert.equal(e.failure?.fix, 'Set on host: `sysctls: {net.ipv4.ip_forward: 1}`');
    assert.equal(e.requestHops, 0);
  });

  it('routes without host forwarding: the live value decides, and is not called an assumption', () => {
    const on = explain(tutorial('routes'), 'ns0', 'ns1', {
      assume: { host: { 'net.ipv4.ip_forward': '1' } },
    });
    assert.equal(on.verdict, 'reached');
    const off = explain(tutorial('routes'), 'ns0', 'ns1', {
      assume: { host: { 'net/ipv4/ip_forward': '0' } },
    });
    assert.equal(off.verdict, 'lost');
    assert.doesNotMatch(off.failure!.sentence, /assuming/);
  });

  it("routes without host forwarding: the host's far address still answers (weak host model)", () => {
    const e = explain(tutorial('routes'), 'ns0', '10.1.20.1');
    assert.equal(e.verdict, 'reached');
    assert.equal(e.toNode, 'host');
    assert.deepEqual(path(e.forward), ['ns0//veth12', 'host/veth11/']);
    assert.equal(e.requestHops, 0);
    assert.equal(e.replyTtl, 64);
  });

  it('working: reach across one router, ttl 63, both paths through the host', () => {
    const e = explain(tutorial('working'), 'ns0', 'ns1');
    assert.equal(e.ok, true);
    assert.equal(e.verdict, 'reached');
    assert.equal(e.requestHops, 1);
    assert.equal(e.replyTtl, 63);
    assert.equal(e.failure, undefined);
    assert.deepEqual(path(e.forward), ['ns0//veth12', 'host/veth11/veth21', 'ns1/veth22/']);
    assert.deepEqual(path(e.back), ['ns1//veth22', 'host/veth21/veth11', 'ns0/veth12/']);
    assert.equal(e.forward[1].route, '10.1.20.0/24 dev veth21 proto kernel scope link src 10.1.20.1');
  });

  it('working: the reply TTL starts at the target ip_default_ttl', () => {
    const lab = tutorial('working');
    lab.nodes.find((n) => n.name === 'ns1')!.sysctls['net.ipv4.ip_default_ttl'] = '100';
    assert.equal(explain(lab, 'ns0', 'ns1').replyTtl, 99);
    assert.equal(explain(lab, 'ns1', 'ns0').replyTtl, 63);
  });

  it('host -> ns0 directly: ttl 64, no router', () => {
    const e = explain(tutorial('bare'), 'host', 'ns0');
    assert.equal(e.verdict, 'reached');
    assert.equal(e.src, '10.1.10.1');
    assert.equal(e.requestHops, 0);
    assert.equal(e.replyTtl, 64);
    assert.deepEqual(path(e.forward), ['host//veth11', 'ns0/veth12/']);
  });

  it('a missing return route: the echo arrives, the reply has no way back', () => {
    const lab = tutorial('working');
    lab.nodes.find((n) => n.name === 'ns1')!.routes = [];
    const e = explain(lab, 'ns0', 'ns1');
    assert.equal(e.verdict, 'lost');
    assert.deepEqual(path(e.forward), ['ns0//veth12', 'host/veth11/veth21', 'ns1/veth22/']);
    assert.deepEqual(path(e.back), ['ns1//']);
    assert.equal(e.failure?.node, 'ns1');
    assert.equal(e.failure?.direction, 'back');
    assert.equal(e.failure?.reason, 'Network is unreachable');
    assert.equal(
      e.failure?.sentence,
      'the echo arrives at ns1, but ns1 has no route back to 10.1.10.2 (10.1.10.0/24): ' +
        'the reply is never sent (ping: 100% packet loss).',
    );
    assert.equal(e.failure?.fix, 'Add to ns1: `dst: 10.1.10.0/24, via: 10.1.20.1`');
    assert.deepEqual(e.remedy, [e.failure?.fix]);
  });

  it('a gateway nobody has: Destination Host Unreachable, with the right gateway as fix', () => {
    const lab = tutorial('working');
    lab.nodes.find((n) => n.name === 'ns0')!.routes[0].via = '10.1.10.5';
    const e = explain(lab, 'ns0', 'ns1');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.failure?.node, 'ns0');
    assert.equal(e.failure?.reason, 'Destination Host Unreachable');
    assert.match(e.failure!.sentence, /nothing on that segment answers ARP for 10\.1\.10\.5/);
    assert.equal(
      e.failure?.fix,
      'On ns0, change the route `dst: 10.1.20.0/24, via: 10.1.10.5` to `via: 10.1.10.1`',
    );
    assert.deepEqual(e.remedy, [e.failure?.fix]);
  });

  it('a gateway in no subnet of the node: the kernel refuses the route, so there is no route', () => {
    const lab = tutorial('working');
    lab.nodes.find((n) => n.name === 'ns0')!.routes[0].via = '10.9.9.9';
    const e = explain(lab, 'ns0', 'ns1');
    assert.equal(e.failure?.reason, 'Network is unreachable');
    assert.ok(e.notes.some((n) => n.includes('Nexthop has invalid gateway')));
  });

  it('a router without a route sends Destination Net Unreachable back', () => {
    const lab = new LabBuilder()
      .node('host', 'host', { 'net.ipv4.ip_forward': '1' })
      .link('ns0:veth12', ['10.1.10.2/24'], 'host:veth11', ['10.1.10.1/24'])
      .route('ns0', 'default', '10.1.10.1')
      .build();
    const e = explain(lab, 'ns0', '10.1.30.2');
    assert.equal(e.verdict, 'unreachable');
    assert.equal(e.failure?.node, 'host');
    assert.equal(e.failure?.reason, 'Destination Net Unreachable');
    assert.match(e.failure!.sentence, /From 10\.1\.10\.1 icmp_seq=1 Destination Net Unreachable/);
    assert.match(e.failure!.fix!, /No neighbour of host leads to 10\.1\.30\.2/);
  });

  it('a routing loop is named as such', () => {
    const lab = new LabBuilder()
      .node('r1', 'netns', { 'net.ipv4.ip_forward': '1' })
      .node('r2', 'netns', { 'net.ipv4.ip_forward': '1' })
      .link('n0:eth0', ['10.0.0.2/24'], 'r1:eth0', ['10.0.0.1/24'])
      .link('r1:eth1', ['10.0.1.1/24'], 'r2:eth0', ['10.0.1.2/24'])
      .route('n0', 'default', '10.0.0.1')
      .route('r1', 'default', '10.0.1.2')
      .route('r2', 'default', '10.0.1.1')
      .build();
    const e = explain(lab, 'n0', '10.99.0.1');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.failure?.reason, 'Time to live exceeded');
    assert.match(e.failure!.sentence, /^routing loop: r1 -> r2 -> r1;/);
    assert.match(e.failure!.fix!, /r2: `default via 10\.0\.1\.1 dev eth0`/);
  });
});

describe('tutorial lab, IPv6', () => {
  it('before routes: Network is unreachable, fix in IPv6 terms', () => {
    const e = explain(tutorial('bare', 6), 'ns0', 'ns1');
    assert.equal(e.family, 6);
    assert.equal(e.verdict, 'unreachable');
    assert.equal(e.failure?.reason, 'Network is unreachable');
    assert.equal(e.failure?.fix, 'Add to ns0: `dst: 2001:db8:20::/64, via: 2001:db8:10::1`');
  });

  it('routes without forwarding: net.ipv6.conf.all.forwarding is what matters, not ip_forward', () => {
    const lab = tutorial('routes', 6);
    lab.nodes.find((n) => n.name === 'host')!.sysctls['net.ipv4.ip_forward'] = '1';
    const e = explain(lab, 'ns0', 'ns1');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.failure?.node, 'host');
    assert.match(e.failure!.sentence, /host does not forward \(net\.ipv6\.conf\.all\.forwarding = 0/);
    assert.equal(e.failure?.fix, 'Set on host: `sysctls: {net.ipv6.conf.all.forwarding: 1}`');
  });

  it('working: reach, one router, hop limit 63', () => {
    const e = explain(tutorial('working', 6), 'ns0', 'ns1');
    assert.equal(e.verdict, 'reached');
    assert.equal(e.to, '2001:db8:20::2');
    assert.equal(e.src, '2001:db8:10::2');
    assert.equal(e.requestHops, 1);
    assert.equal(e.replyTtl, 63);
    assert.equal(
      e.forward[0].route,
      '2001:db8:20::/64 via 2001:db8:10::1 dev veth12 metric 1024 pref medium',
    );
  });

  it('a gateway nobody has: Address unreachable (neighbour discovery)', () => {
    const lab = tutorial('working', 6);
    lab.nodes.find((n) => n.name === 'ns0')!.routes[0].via = '2001:db8:10::99';
    const e = explain(lab, 'ns0', 'ns1');
    assert.equal(e.failure?.reason, 'Destination unreachable: Address unreachable');
    assert.match(e.failure!.sentence, /answers neighbour discovery for 2001:db8:10::99/);
  });
});

describe('bridges', () => {
  it('four hosts on one bridge reach each other without a router', () => {
    const lab = lan().build();
    for (let a = 1; a <= 4; a++) {
      for (let b = 1; b <= 4; b++) {
        if (a === b) continue;
        const e = explain(lab, `h${a}`, `h${b}`);
        assert.equal(e.verdict, 'reached', `h${a} -> h${b}`);
        assert.equal(e.requestHops, 0);
        assert.equal(e.replyTtl, 64);
        assert.deepEqual(e.forward[0].bridges, ['sw']);
        assert.deepEqual(path(e.forward), [`h${a}//eth0`, `h${b}/eth0/`]);
      }
    }
  });

  it('frames cross chained bridges; a bridge with an address answers ping', () => {
    const lab = lan()
      .node('sw2', 'bridge')
      .link('sw:up', [], 'sw2:down')
      .link('h5:eth0', ['10.0.0.5/24'], 'sw2:p1')
      .bridgeAddr('sw2', '10.0.0.254/24')
      .build();
    assert.deepEqual(explain(lab, 'h1', 'h5').forward[0].bridges, ['sw', 'sw2']);
    const e = explain(lab, 'h1', 'sw2');
    assert.equal(e.verdict, 'reached');
    assert.deepEqual(path(e.forward), ['h1//eth0', 'sw2/br0/']);
    assert.deepEqual(e.forward[0].bridges, ['sw']);
    assert.throws(() => explain(lab, 'sw', 'h1'), ExplainError);
  });
});

describe('overlapping subnets', () => {
  const lab = overlapping;

  it('the longest prefix wins, and the overlap is pointed out', () => {
    const toB = explain(lab(), 'X', 'B');
    assert.equal(toB.verdict, 'reached');
    assert.equal(toB.forward[0].outIf, 'eth1');
    assert.ok(toB.notes.some((n) => n.includes('overlap') && n.includes('/24, wins')));
    const toA = explain(lab(), 'X', 'A');
    assert.equal(toA.forward[0].outIf, 'eth0');
    assert.equal(toA.verdict, 'reached');
  });

  it('A believes B is on its link: ARP fails, and the fixes route around it', () => {
    const e = explain(lab(), 'A', 'B');
    assert.equal(e.failure?.reason, 'Destination Host Unreachable');
    assert.match(e.failure!.sentence, /answers ARP for 10\.0\.1\.2 \(it is B's, on eth0, elsewhere\)/);
    assert.deepEqual(e.remedy, [
      'Add to A: `dst: 10.0.1.0/24, via: 10.0.0.1`',
      'Set on X: `sysctls: {net.ipv4.ip_forward: 1}`',
      'Add to B: `dst: 10.0.0.0/16, via: 10.0.1.1`',
    ]);
  });

  it('the same subnet on two interfaces: the first route is used, and said so', () => {
    const l = new LabBuilder()
      .link('Y:eth0', ['10.9.0.1/24'], 'P:eth0', ['10.9.0.7/24'])
      .link('Y:eth1', ['10.9.0.2/24'], 'Q:eth0', ['10.9.0.5/24'])
      .build();
    const e = explain(l, 'Y', 'Q');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.forward[0].outIf, 'eth0');
    assert.equal(e.failure?.reason, 'Destination Host Unreachable');
    assert.ok(e.notes.some((n) => n.includes('by eth0 and eth1: the kernel uses the first one, by eth0')));
    assert.equal(explain(l, 'Y', 'P').verdict, 'reached');
  });
});

describe('rp_filter', () => {
  // Request S -> R1 -> T, reply T -> R2 -> S: asymmetric.
  const lab = asymmetric;

  it('asymmetric routing works with rp_filter off', () => {
    const e = explain(lab(), 'S', 'T');
    assert.equal(e.verdict, 'reached');
    assert.deepEqual(
      e.forward.map((h) => h.node),
      ['S', 'R1', 'T'],
    );
    assert.deepEqual(
      e.back.map((h) => h.node),
      ['T', 'R2', 'S'],
    );
    assert.equal(e.replyTtl, 63);
  });

  it('strict rp_filter on T drops the request: the route back leaves by the other interface', () => {
    const e = explain(lab({ 'net.ipv4.conf.all.rp_filter': '1' }), 'S', 'T');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.failure?.node, 'T');
    assert.equal(e.failure?.direction, 'forward');
    assert.equal(
      e.failure?.sentence,
      "the packet reaches T on eth0, but T's route back to 10.0.1.2 leaves by eth1, and rp_filter is strict " +
        '(net.ipv4.conf.all.rp_filter = 1): the kernel drops it as a martian source.',
    );
    assert.match(
      e.failure!.fix!,
      /^Set on T: `sysctls: \{net\.ipv4\.conf\.all\.rp_filter: 2\}` \(loose rp_filter\)/,
    );
    assert.equal(e.remedy?.length, 1);
  });

  it('the per-interface value counts (the max of all and dev); loose passes', () => {
    assert.equal(explain(lab({ 'net.ipv4.conf.eth0.rp_filter': '1' }), 'S', 'T').verdict, 'lost');
    assert.equal(explain(lab({ 'net.ipv4.conf.eth0.rp_filter': '2' }), 'S', 'T').verdict, 'reached');
  });

  it('strict rp_filter on S drops the reply', () => {
    const e = explain(lab({}, { 'net.ipv4.conf.all.rp_filter': '1' }), 'S', 'T');
    assert.equal(e.failure?.node, 'S');
    assert.equal(e.failure?.direction, 'back');
    assert.match(
      e.failure!.sentence,
      /^the reply reaches S on eth1, but S's route back to 10\.0\.3\.2 leaves by eth0/,
    );
  });
});

describe('250-router chain', () => {
  it('default TTL 64: the request dies at the 64th router', () => {
    const t0 = performance.now();
    const e = explain(chain(250), 'n0', 'n251');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.failure?.node, 'r64');
    assert.equal(e.failure?.direction, 'forward');
    assert.equal(e.failure?.reason, 'Time to live exceeded');
    assert.equal(e.requestHops, 63);
    assert.match(
      e.failure!.sentence,
      /leaves n0 with TTL 64 \(net\.ipv4\.ip_default_ttl\), but the path crosses 250/,
    );
    assert.equal(
      e.failure?.fix,
      'Set on n0: `sysctls: {net.ipv4.ip_default_ttl: 255}` (at least 251 is needed)',
    );
    assert.deepEqual(e.remedy, [
      'Set on n0: `sysctls: {net.ipv4.ip_default_ttl: 255}` (at least 251 is needed)',
      'Set on n251: `sysctls: {net.ipv4.ip_default_ttl: 255}` (at least 251 is needed)',
    ]);
    assert.ok(performance.now() - t0 < 2000);
  });

  it('a TTL of 255 at the source only: the request arrives, the reply dies', () => {
    const lab = chain(250);
    lab.nodes.find((n) => n.name === 'n0')!.sysctls['net.ipv4.ip_default_ttl'] = '255';
    const e = explain(lab, 'n0', 'n251');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.failure?.direction, 'back');
    assert.equal(e.failure?.node, 'r187');
    assert.equal(e.requestHops, 250);
    assert.match(e.failure!.sentence, /^the reply leaves n251 with TTL 64/);
  });

  it('ip_default_ttl 255 everywhere: reach, 250 routers, reply ttl 5', () => {
    const e = explain(chain(250, '255'), 'n0', 'n251');
    assert.equal(e.verdict, 'reached');
    assert.equal(e.requestHops, 250);
    assert.equal(e.replyTtl, 5);
    assert.equal(e.forward.length, 252);
    assert.equal(e.back.length, 252);
  });
});

describe('targets and errors', () => {
  it('explainAll covers every address of a dual-stack node', () => {
    const lab = new LabBuilder()
      .link('a:eth0', ['10.0.0.1/24', '2001:db8::1/64'], 'b:eth0', ['10.0.0.2/24', '2001:db8::2/64'])
      .build();
    const all = explainAll(lab, 'a', 'b');
    assert.deepEqual(
      all.map((e) => [e.to, e.verdict]),
      [
        ['10.0.0.2', 'reached'],
        ['2001:db8::2', 'reached'],
      ],
    );
    assert.equal(explain(lab, 'a', 'b', { family: 6 }).to, '2001:db8::2');
    assert.equal(explain(lab, 'a', '2001:DB8::2').to, '2001:db8::2');
  });

  it('unknown nodes, addressless targets and family mismatches are bad input (exit 2)', () => {
    const lab = tutorial('working');
    for (const [from, to, family] of [
      ['nope', 'ns1', undefined],
      ['ns0', 'nope', undefined],
      ['ns0', 'ns1', 6],
      ['ns0', '10.1.20.2', 6],
    ] as const) {
      assert.throws(
        () => explain(lab, from, to, { family }),
        (err: unknown) => err instanceof ExplainError && err.exitCode === 2,
      );
    }
  });

  it('pinging your own address goes through lo', () => {
    const e = explain(tutorial('bare'), 'ns0', '10.1.10.2');
    assert.equal(e.verdict, 'reached');
    assert.equal(e.requestHops, 0);
    assert.equal(e.replyTtl, 64);
  });
});
