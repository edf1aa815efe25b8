/**
 * Integration: the kernel layer against the real kernel, inside sandbox namespaces made for this test.
 * iproute2's JSON output is the independent witness.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { RTN_UNICAST, routeDump } from '../../src/netlink/route.js';
import { NetlinkError } from '../../src/netlink/socket.js';
import { NetnsHandle } from '../../src/netns/handle.js';
import { listNamedNetns, NetnsError } from '../../src/netns/named.js';
import {
  ipJson,
  ipNetnsDelete,
  ipNetnsList,
  netnsExec,
  skipUnlessRoot,
  sysctlIn,
  uniqueName,
} from '../helpers/kernel.js';

interface IpLink {
  ifname: string;
  flags: string[];
  mtu: number;
  address: string;
  ifalias?: string;
  master?: string;
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  metric?: number;
  table?: string;
}

describe('kernel layer', { skip: skipUnlessRoot }, () => {
  const names = {
    host: uniqueName('host'),
    a: uniqueName('a'),
    r: uniqueName('r'),
    b: uniqueName('b'),
  };
  const handles: NetnsHandle[] = [];
  let host: NetnsHandle;
  let a: NetnsHandle;
  let r: NetnsHandle;
  let b: NetnsHandle;
  const realForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

  before(() => {
    host = NetnsHandle.create(names.host);
    const noDad = { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' };
    a = NetnsHandle.create(names.a, { sysctls: noDad });
    r = NetnsHandle.create(names.r, { sysctls: noDad });
    b = NetnsHandle.create(names.b, { sysctls: noDad });
    handles.push(host, a, r, b);
  });

  after(() => {
    for (const h of handles) {
      try {
        h.destroy();
      } catch {
        // fall back to iproute2 below
      }
    }
    for (const n of Object.values(names)) ipNetnsDelete(n);
  });

  it('creates named namespaces that iproute2 lists', () => {
    const listed = ipNetnsList();
    for (const n of Object.values(names)) assert.ok(listed.includes(n), `${n} in ip netns list`);
    assert.deepEqual(
      listNamedNetns().filter((n) => Object.values(names).includes(n)),
      Object.values(names).sort(),
    );
  });

  it('refuses to create a namespace twice, with a sentence', () => {
    assert.throws(
      () => NetnsHandle.create(names.a),
      (e: unknown) => e instanceof NetnsError && /already exists/.test(e.message),
    );
  });

  it('creates veth pairs with the peer directly in the other namespace, sets them up, addresses and routes them', () => {
    a.addVeth('a0', { handle: r, name: 'r0' }, { up: true });
    r.addVeth('r1', { handle: b, name: 'b0' }, { up: true, mtu: 1400 });
    for (const [h, dev] of [
      [r, 'r0'],
      [b, 'b0'],
      [a, 'lo'],
      [r, 'lo'],
      [b, 'lo'],
    ] as const) {
      h.setLink(dev, { up: true });
    }
    a.addAddr('a0', '10.7.1.2/24');
    r.addAddr('r0', '10.7.1.1/24');
    r.addAddr('r1', '10.7.2.1/24');
    b.addAddr('b0', '10.7.2.2/24');
    a.addAddr('a0', 'fd00:7:1::2/64');
    r.addAddr('r0', 'fd00:7:1::1/64');
    r.addAddr('r1', 'fd00:7:2::1/64');
    b.addAddr('b0', 'fd00:7:2::2/64');
    a.addRoute({ dst: '10.7.2.0/24', via: '10.7.1.1' });
    b.addRoute({ dst: '0.0.0.0/0', via: '10.7.2.1', metric: 50 });
    a.addRoute({ dst: 'fd00:7:2::/64', via: 'fd00:7:1::1' });
    b.addRoute({ dst: '::/0', via: 'fd00:7:2::1' });

    const aLinks = ipJson<IpLink[]>(names.a, '-d', 'link', 'show');
    const a0 = aLinks.find((l) => l.ifname === 'a0');
    assert.equal(a0?.linkinfo?.info_kind, 'veth');
    assert.ok(a0?.flags.includes('UP'));
    const b0 = ipJson<IpLink[]>(names.b, 'link', 'show', 'dev', 'b0')[0];
    assert.equal(b0.mtu, 1400);
    assert.ok(b0.flags.includes('UP'));

    const rAddrs = ipJson<IpAddr[]>(names.r, 'addr', 'show');
    const r1 = rAddrs.find((x) => x.ifname === 'r1')!;
    assert.deepEqual(
      r1.addr_info.filter((i) => !i.local.startsWith('fe80')).map((i) => `${i.local}/${i.prefixlen}`),
      ['10.7.2.1/24', 'fd00:7:2::1/64'],
    );

    const bRoutes = ipJson<IpRoute[]>(names.b, 'route', 'show');
    assert.ok(
      bRoutes.some(
        (x) => x.dst === 'default' && x.gateway === '10.7.2.1' && x.dev === 'b0' && x.metric === 50,
      ),
    );
    const aRoutes6 = ipJson<IpRoute[]>(names.a, '-6', 'route', 'show');
    assert.ok(aRoutes6.some((x) => x.dst === 'fd00:7:2::/64' && x.gateway === 'fd00:7:1::1'));
  });

  it('reports the kernel extended-ack text in typed errors', () => {
    assert.throws(
      () => a.addAddr('a0', '10.7.1.2/24'),
      (e: unknown) =>
        e instanceof NetlinkError &&
        e.code === 'EEXIST' &&
        e.message === 'add address 10.7.1.2/24 dev a0: EEXIST: ipv4: Address already assigned',
    );
    assert.throws(
      () => a.addRoute({ dst: '10.9.0.0/16', via: '10.99.0.1' }),
      (e: unknown) =>
        e instanceof NetlinkError &&
        e.code === 'ENETUNREACH' &&
        /Nexthop has invalid gateway/.test(e.message),
    );
  });

  it('writes sysctls given at creation inside the new namespace only', () => {
    assert.equal(sysctlIn(names.a, 'net.ipv6.conf.default.accept_dad'), '0');
    assert.equal(sysctlIn(names.host, 'net.ipv6.conf.default.accept_dad'), '1');
  });

  it('changes sysctls only inside the given namespace', () => {
    assert.equal(r.sysctl('net.ipv4.ip_forward'), '0');
    r.setSysctl('net.ipv4.ip_forward', '1');
    r.setSysctl('net.ipv6.conf.all.forwarding', '1');
    assert.equal(sysctlIn(names.r, 'net.ipv4.ip_forward'), '1');
    assert.equal(sysctlIn(names.a, 'net.ipv4.ip_forward'), '0');
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), realForward);
  });

  it('forwards a ping between two namespaces through the router namespace (ttl 63)', () => {
    const v4 = netnsExec(names.a, ['ping', '-c', '1', '-W', '2', '10.7.2.2']);
    assert.equal(v4.status, 0, v4.stdout + v4.stderr);
    assert.match(v4.stdout, /ttl=63/);
    const v6 = netnsExec(names.a, ['ping', '-6', '-c', '1', '-W', '2', 'fd00:7:2::2']);
    assert.equal(v6.status, 0, v6.stdout + v6.stderr);
    assert.match(v6.stdout, /ttl=63/);
  });

  it('lists links, addresses and routes as iproute2 reads them', () => {
    // every device: name, index, mtu, mac, up
    const ours = r.links().map((l) => [l.name, l.index, l.mtu, l.mac ?? '00:00:00:00:00:00', l.up]);
    const theirs = ipJson<(IpLink & { ifindex: number })[]>(names.r, 'link', 'show').map((l) => [
      l.ifname,
      l.ifindex,
      l.mtu,
      l.address,
      l.flags.includes('UP'),
    ]);
    assert.deepEqual(ours, theirs);
    // every address, both families
    const addrs = (x: { cidr: string }[]) => x.map((y) => y.cidr).sort();
    const ipAddrs = ipJson<IpAddr[]>(names.r, 'addr', 'show').flatMap((i) =>
      i.addr_info.map((x) => `${x.local}/${x.prefixlen}`),
    );
    assert.deepEqual(addrs(r.addrs()), ipAddrs.sort());
    // the main IPv4 table: destination, gateway, device
    const byName = new Map(a.links().map((l) => [l.index, l.name]));
    const ours4 = a
      .routes(4)
      .filter((x) => x.table === 254)
      .map((x) => [x.dst === '0.0.0.0/0' ? 'default' : x.dst, x.via, x.oif && byName.get(x.oif)].join(' '));
    const theirs4 = ipJson<IpRoute[]>(names.a, 'route', 'show').map((x) =>
      [x.dst.includes('/') || x.dst === 'default' ? x.dst : `${x.dst}/32`, x.gateway, x.dev].join(' '),
    );
    assert.deepEqual(ours4.sort(), theirs4.sort());
    assert.ok(a.routes(4).some((x) => x.dst === '10.7.2.0/24' && x.protocol === 'boot'));
  });

  it('lists only unicast routes when asked (filtered by the kernel), as ip route show table all type unicast', () => {
    const dev = new Map(r.links().map((l) => [l.index, l.name]));
    const table = (t: number) => (t === 254 ? 'main' : t === 255 ? 'local' : String(t));
    const ours = () =>
      r
        .routes(undefined, { unicast: true })
        .map((x) => `${x.dst} ${table(x.table)} ${x.oif ? dev.get(x.oif) : ''}`)
        .sort();
    const theirs = () =>
      (['-4', '-6'] as const)
        .flatMap((f) =>
          ipJson<IpRoute[]>(names.r, f, 'route', 'show', 'table', 'all', 'type', 'unicast').map((x) => {
            const dst =
              x.dst === 'default'
                ? f === '-4'
                  ? '0.0.0.0/0'
                  : '::/0'
                : x.dst.includes('/')
                  ? x.dst
                  : `${x.dst}/${f === '-4' ? 32 : 128}`;
            return `${dst} ${x.table ?? 'main'} ${x.dev ?? ''}`;
          }),
        )
        .sort();
    // The kernel adds an interface's fe80::/64 route on its own schedule (about a second after the link is up):
    // compared between two identical readings by iproute2.
    let before: string[];
    let mine: string[];
    let after = theirs();
    let tries = 0;
    do {
      before = after;
      mine = ours();
      after = theirs();
    } while (JSON.stringify(before) !== JSON.stringify(after) && ++tries < 10);
    assert.deepEqual(mine, after);
    // The kernel itself filtered: the raw messages of the typed dump are all unicast routes, where the untyped
    // dump carries the local table's entries (an address's local route) too.
    const types = (type: number) => r.sock.dumpEach(routeDump(0, type), (m) => m.payload[7]);
    assert.deepEqual([...new Set(types(RTN_UNICAST))], [RTN_UNICAST]);
    assert.ok(types(0).some((t) => t !== RTN_UNICAST));
  });

  it('bridges, enslaves ports, sets MAC and alias, moves links', () => {
    host.addBridge('br0', { up: true });
    host.addVeth('p0', { handle: host, name: 'p0peer' });
    host.setLink('p0', { master: 'br0', mac: '02:00:00:00:07:01', alias: 'nslab:test', up: true });
    const p0 = ipJson<IpLink[]>(names.host, 'link', 'show', 'dev', 'p0')[0];
    assert.equal(p0.master, 'br0');
    assert.equal(p0.address, '02:00:00:00:07:01');
    assert.equal(p0.ifalias, 'nslab:test');
    host.moveLink('p0peer', a);
    assert.ok(ipJson<IpLink[]>(names.a, 'link', 'show').some((l) => l.ifname === 'p0peer'));
    host.setLink('p0', { master: null });
    assert.equal(ipJson<IpLink[]>(names.host, 'link', 'show', 'dev', 'p0')[0].master, undefined);
  });

  it('creates macvlan and vxlan devices', () => {
    host.addMacvlan('mv0', 'br0', 'bridge');
    host.addAddr('br0', '10.7.9.1/24');
    host.addVxlan('vx0', { vni: 42, local: '10.7.9.1', remote: '10.7.9.2', port: 4789 });
    const links = ipJson<IpLink[]>(names.host, '-d', 'link', 'show');
    assert.equal(links.find((l) => l.ifname === 'mv0')?.linkinfo?.info_kind, 'macvlan');
    const vx = links.find((l) => l.ifname === 'vx0');
    assert.equal(vx?.linkinfo?.info_kind, 'vxlan');
    assert.equal(vx?.linkinfo?.info_data?.id, 42);
    assert.equal(vx?.linkinfo?.info_data?.remote, '10.7.9.2');
    host.deleteLink('vx0');
    assert.ok(!ipJson<IpLink[]>(names.host, 'link', 'show').some((l) => l.ifname === 'vx0'));
  });

  it('names the missing module when the kernel lacks a device kind', (t) => {
    try {
      host.addLink('dummy0', 'dummy');
    } catch (e) {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.code, 'EOPNOTSUPP');
      assert.match(e.message, /this kernel has no 'dummy' devices \(the dummy module is not available\)/);
      return;
    }
    host.deleteLink('dummy0');
    t.skip('this kernel has dummy devices: nothing to report');
  });

  it('replaces and deletes routes and addresses', () => {
    a.replaceRoute({ dst: '10.7.2.0/24', via: '10.7.1.1', metric: 7 });
    a.delRoute({ dst: '10.7.2.0/24', via: '10.7.1.1' });
    assert.ok(
      !ipJson<IpRoute[]>(names.a, 'route', 'show').some(
        (x) => x.dst === '10.7.2.0/24' && x.metric === undefined,
      ),
    );
    a.delAddr('a0', 'fd00:7:1::2/64');
    const a0 = ipJson<IpAddr[]>(names.a, 'addr', 'show', 'dev', 'a0')[0];
    assert.ok(!a0.addr_info.some((x) => x.local === 'fd00:7:1::2'));
  });

  it('runs a process inside a namespace', () => {
    const out = b.spawnSync('ip', ['-json', 'addr', 'show', 'dev', 'b0'], { encoding: 'utf8' });
    assert.equal(out.status, 0);
    assert.match(String(out.stdout), /10\.7\.2\.2/);
  });

  it('deletes a namespace and the veth peers inside it go with it', async () => {
    const gone = handles.indexOf(b);
    b.destroy();
    handles.splice(gone, 1);
    assert.ok(!ipNetnsList().includes(names.b));
    // r1's peer lived in b: the kernel removes the pair once b is destroyed (asynchronously)
    for (
      let i = 0;
      i < 200 && ipJson<IpLink[]>(names.r, 'link', 'show').some((l) => l.ifname === 'r1');
      i++
    ) {
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.ok(!ipJson<IpLink[]>(names.r, 'link', 'show').some((l) => l.ifname === 'r1'));
  });
});
