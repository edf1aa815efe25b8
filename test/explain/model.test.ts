import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explain } from '../../src/explain/index.js';
import { LabModel } from '../../src/explain/model.js';
import { LabBuilder } from '../helpers/lab.js';
import { tutorial } from './fixtures.js';

describe('LabModel: tables as the kernel builds them', () => {
  it('connected routes, then file routes; a duplicate of a connected route is refused (File exists)', () => {
    const lab = tutorial('working');
    const ns0 = lab.nodes.find((n) => n.name === 'ns0')!;
    ns0.routes.push({ dst: '10.1.10.0/24', family: 4, via: '10.1.10.1' });
    ns0.routes.push({ dst: '10.1.30.5/32', family: 4, via: '10.1.10.1', metric: 20 });
    const m = new LabModel(lab);
    assert.deepEqual(
      m.node('ns0')!.fib[4].entries.map((e) => e.text),
      [
        '10.1.10.0/24 dev veth12 proto kernel scope link src 10.1.10.2',
        '10.1.20.0/24 via 10.1.10.1 dev veth12',
        '10.1.30.5 via 10.1.10.1 dev veth12 metric 20',
      ],
    );
    assert.match(m.node('ns0')!.refused[0], /already has `10\.1\.10\.0\/24 dev veth12 .*` .*File exists/);
  });

  it('lowest metric wins among equal prefixes; longest prefix beats metric', () => {
    const lab = new LabBuilder()
      .link('a:e0', ['10.0.0.1/24'], 'b:e0', ['10.0.0.2/24'])
      .link('a:e1', ['10.0.1.1/24'], 'c:e0', ['10.0.1.2/24'])
      .route('a', '10.9.0.0/16', '10.0.0.2', { metric: 100 })
      .route('a', '10.9.0.0/16', '10.0.1.2', { metric: 50 })
      .route('a', '10.9.9.0/24', '10.0.0.2', { metric: 900 })
      .build();
    const m = new LabModel(lab);
    assert.equal(m.lookup('a', 4, '10.9.1.1')?.entry.via, '10.0.1.2');
    assert.equal(m.lookup('a', 4, '10.9.9.9')?.entry.via, '10.0.0.2');
    assert.equal(m.lookup('a', 4, '10.8.0.1'), undefined);
  });

  it('a /32 address gets no prefix route: the peer reaches it, but the reply has no way back', () => {
    const lab = new LabBuilder().link('a:e0', ['10.0.0.1/32'], 'b:e0', ['10.0.0.2/24']).build();
    assert.equal(new LabModel(lab).node('a')!.fib[4].entries.length, 0);
    const e = explain(lab, 'b', 'a');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.failure?.direction, 'back');
    assert.equal(e.failure?.node, 'a');
  });

  it('sysctls: file beats assume beats default; slash keys work', () => {
    const lab = new LabBuilder().node('host', 'host', { 'net/ipv4/ip_forward': '1' }).build();
    const m = new LabModel(lab, {
      assume: { host: { 'net.ipv4.ip_forward': '0', 'net.ipv4.ip_default_ttl': '99' } },
    });
    assert.deepEqual(m.forwarding('host', 4), { key: 'net.ipv4.ip_forward', value: '1', from: 'file' });
    assert.equal(m.defaultTtl('host', 4, 'eth0').value, '99');
    assert.equal(m.forwarding('host', 6).from, 'default');
  });
});

describe('neighbours and the host', () => {
  // ns0 thinks all of 10.1.0.0/16 is on its link; the host owns 10.1.20.1 on another interface.
  const weak = (hostSysctls: Record<string, string> = {}) =>
    new LabBuilder()
      .node('host', 'host', hostSysctls)
      .link('ns0:veth12', ['10.1.10.2/16'], 'host:veth11', ['10.1.10.1/24'])
      .link('ns1:veth22', ['10.1.20.2/24'], 'host:veth21', ['10.1.20.1/24'])
      .build();

  it('IPv4 ARP is answered for any address of the node (arp_ignore 0), not with arp_ignore 1', () => {
    const e = explain(weak(), 'ns0', '10.1.20.1');
    assert.equal(e.verdict, 'reached');
    assert.deepEqual(
      e.forward.map((h) => `${h.node}/${h.inIf ?? ''}`),
      ['ns0/', 'host/veth11'],
    );
    const strict = explain(weak({ 'net.ipv4.conf.veth11.arp_ignore': '1' }), 'ns0', '10.1.20.1');
    assert.equal(strict.failure?.reason, 'Destination Host Unreachable');
  });

  it('the host rp_filter is an assumption worth a note when routing through it is asymmetric', () => {
    const lab = new LabBuilder()
      .node('host', 'host')
      .link('S:eth0', ['10.0.1.2/24'], 'R1:eth0', ['10.0.1.1/24'])
      .link('R1:eth1', ['10.0.3.1/24'], 'host:eth0', ['10.0.3.2/24'])
      .link('host:eth1', ['10.0.4.2/24'], 'R2:eth1', ['10.0.4.1/24'])
      .link('R2:eth0', ['10.0.2.1/24'], 'S:eth1', ['10.0.2.2/24'])
      .sysctl('R1', 'net.ipv4.ip_forward', '1')
      .sysctl('R2', 'net.ipv4.ip_forward', '1')
      .route('S', '10.0.3.0/24', '10.0.1.1')
      .route('host', '10.0.1.0/24', '10.0.4.1')
      .route('R2', '10.0.1.0/24', '10.0.2.2')
      .build();
    const e = explain(lab, 'S', 'host');
    assert.equal(e.verdict, 'reached');
    assert.ok(e.notes.some((n) => n.startsWith('assuming rp_filter = 0 on host')));
    const live = explain(lab, 'S', 'host', { assume: { host: { 'net.ipv4.conf.all.rp_filter': '1' } } });
    assert.equal(live.verdict, 'lost');
    assert.equal(live.failure?.node, 'host');
  });

  it('an IPv6 link-local gateway is assumed to be the only neighbour, and said so', () => {
    const lab = new LabBuilder()
      .node('r', 'netns', { 'net.ipv6.conf.all.forwarding': '1' })
      .link('a:e0', ['2001:db8:1::2/64'], 'r:e0', ['2001:db8:1::1/64'])
      .link('r:e1', ['2001:db8:2::1/64'], 'b:e0', ['2001:db8:2::2/64'])
      .route('a', 'default', 'fe80::1', { dev: 'e0' })
      .route('b', 'default', 'fe80::1', { dev: 'e0' })
      .build();
    const e = explain(lab, 'a', 'b');
    assert.equal(e.verdict, 'reached');
    assert.ok(e.notes.some((n) => n.includes('fe80::1 is link-local: assuming r')));
  });
});
