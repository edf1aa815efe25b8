import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildView, labSummary, routeText } from '../../src/render/model.js';
import { bridgeLab, dualStackLab, observedFromLab, tutorialLab } from './fixtures.js';

describe('buildView', () => {
  it('marks nothing when the kernel matches the file', () => {
    for (const lab of [tutorialLab(), bridgeLab(), dualStackLab()]) {
      const view = buildView(lab, { observed: observedFromLab(lab), routes: true });
      assert.equal(view.live, true);
      for (const n of view.nodes) {
        assert.equal(n.state, 'ok', n.name);
        for (const i of n.ifaces) {
          assert.equal(i.state, 'ok', `${n.name}:${i.name}`);
          assert.equal(i.masterDrift, undefined);
          // The fe80:: address the kernel adds is not drift.
          assert.deepEqual(
            i.addrs.map((a) => a.drift),
            i.addrs.map(() => 'ok'),
          );
        }
        assert.ok(
          n.routes.every((r) => r.drift === 'ok'),
          `${n.name} routes`,
        );
        assert.ok(
          n.forwarding.every((f) => !f.drift),
          `${n.name} forwarding`,
        );
      }
      assert.ok(view.edges.every((e) => e.state === 'ok'));
    }
  });

  it('marks a link down when either end is down, missing when an end does not exist', () => {
    const lab = tutorialLab();
    const obs = observedFromLab(lab);
    obs.nodes.ns1.links.find((l) => l.name === 'veth22')!.up = false;
    obs.nodes.host.links = obs.nodes.host.links.filter((l) => l.name !== 'veth11');
    const view = buildView(lab, { observed: obs });
    const host = view.nodes.find((n) => n.name === 'host')!;
    assert.equal(host.ifaces.find((i) => i.name === 'veth11')!.state, 'missing');
    assert.equal(view.nodes.find((n) => n.name === 'ns1')!.ifaces[0].state, 'down');
    assert.equal(view.edges[0].state, 'missing');
    assert.equal(view.edges[1].state, 'down');
  });

  it('marks every interface and link of a namespace that does not exist as missing', () => {
    const lab = bridgeLab();
    const obs = observedFromLab(lab);
    delete obs.nodes.sw;
    obs.namespaces = obs.namespaces.filter((n) => n !== 'lan-sw');
    const view = buildView(lab, { observed: obs });
    const sw = view.nodes.find((n) => n.name === 'sw')!;
    assert.equal(sw.state, 'missing');
    assert.ok(sw.ifaces.every((i) => i.state === 'missing'));
    assert.ok(view.edges.every((e) => e.state === 'missing'));
    assert.ok(view.nodes.filter((n) => n.name !== 'sw').every((n) => n.state === 'ok'));
  });

  it('marks addresses missing from or extra to the file, ignoring link-local ones', () => {
    const lab = dualStackLab();
    const obs = observedFromLab(lab);
    obs.nodes.left.addrs = obs.nodes.left.addrs.filter((a) => a.cidr !== '2001:db8:10::2/64');
    obs.nodes.left.addrs.push({ dev: 'vl', cidr: '10.2.10.77/24', family: 4 });
    obs.nodes.left.addrs.push({ dev: 'lo', cidr: '10.255.0.1/32', family: 4 });
    // Same address, non-canonical spelling in the file: not drift.
    lab.nodes.find((n) => n.name === 'right')!.interfaces[0].ipv6 = ['2001:DB8:20:0::2/64'];
    const view = buildView(lab, { observed: obs });
    const vl = view.nodes.find((n) => n.name === 'left')!.ifaces[0];
    assert.deepEqual(vl.addrs, [
      { cidr: '10.2.10.2/24', drift: 'ok' },
      { cidr: '2001:db8:10::2/64', drift: 'missing' },
      { cidr: '10.2.10.77/24', drift: 'extra' },
    ]);
    const vr = view.nodes.find((n) => n.name === 'right')!.ifaces[0];
    assert.ok(vr.addrs.every((a) => a.drift === 'ok'));
  });

  it('marks routes missing or extra, but not the host machine’s own routes', () => {
    const lab = tutorialLab();
    const obs = observedFromLab(lab);
    obs.nodes.ns0.routes = obs.nodes.ns0.routes.filter((r) => r.protocol === 'kernel');
    obs.nodes.ns1.routes.push({
      dst: '0.0.0.0/0',
      family: 4,
      via: '10.1.20.1',
      table: 254,
      protocol: 'static',
    });
    obs.nodes.host.routes.push({
      dst: '0.0.0.0/0',
      family: 4,
      via: '192.0.2.1',
      table: 254,
      protocol: 'dhcp',
    });
    const view = buildView(lab, { observed: obs, routes: true });
    const routes = (name: string) => view.nodes.find((n) => n.name === name)!.routes;
    assert.deepEqual(routes('ns0'), [{ text: '10.1.20.0/24 via 10.1.10.1 dev veth12', drift: 'missing' }]);
    assert.deepEqual(routes('ns1'), [
      { text: '10.1.10.0/24 via 10.1.20.1 dev veth22', drift: 'ok' },
      { text: 'default via 10.1.20.1', drift: 'extra' },
    ]);
    assert.deepEqual(routes('host'), []);
  });

  it('marks forwarding that differs from the file', () => {
    const lab = tutorialLab();
    const obs = observedFromLab(lab);
    obs.nodes.host.sysctls['net.ipv4.ip_forward'] = '0';
    const view = buildView(lab, { observed: obs, routes: true });
    const f = view.nodes.find((n) => n.name === 'host')!.forwarding;
    assert.deepEqual(f, [{ family: 4, key: 'net.ipv4.ip_forward', value: 'off', drift: true, want: 'on' }]);
    // Without observation the file's value is shown; a namespace not setting it starts with forwarding off.
    const plain = buildView(lab, { routes: true });
    assert.equal(plain.nodes.find((n) => n.name === 'host')!.forwarding[0].value, 'on');
    assert.equal(plain.nodes.find((n) => n.name === 'ns0')!.forwarding[0].value, 'off');
  });

  it('marks a bridge port that is not enslaved to br0', () => {
    const lab = bridgeLab();
    const obs = observedFromLab(lab);
    delete obs.nodes.sw.links.find((l) => l.name === 'p-c')!.master;
    const sw = buildView(lab, { observed: obs }).nodes.find((n) => n.name === 'sw')!;
    assert.equal(sw.ifaces.find((i) => i.name === 'p-c')!.masterDrift, 'none');
    assert.equal(sw.ifaces.find((i) => i.name === 'p-a')!.masterDrift, undefined);
  });

  it('labels links with the subnets of both ends, IPv4 first', () => {
    const view = buildView(dualStackLab());
    assert.deepEqual(view.edges[0].subnets, ['10.2.10.0/24', '2001:db8:10::/64']);
    const lan = buildView(bridgeLab());
    assert.deepEqual(lan.nodes.find((n) => n.name === 'sw')!.subnets, ['192.168.50.0/24']);
  });

  it('keeps the mark of routes computed by routing: auto', () => {
    const lab = tutorialLab();
    lab.nodes[1].routes[0].auto = true;
    const routes = buildView(lab, { routes: true }).nodes[1].routes;
    assert.deepEqual(routes, [{ text: '10.1.20.0/24 via 10.1.10.1 dev veth12', drift: 'ok', auto: true }]);
  });

  it('summarises the lab', () => {
    assert.equal(labSummary(buildView(tutorialLab())), '2 namespaces + host, 2 links');
    assert.equal(labSummary(buildView(bridgeLab())), '4 namespaces, 1 bridge, 4 links');
  });

  it('writes routes as ip route does', () => {
    assert.equal(routeText({ dst: '0.0.0.0/0', via: '10.0.0.1' }), 'default via 10.0.0.1');
    assert.equal(
      routeText({ dst: '10.1.0.0/16', dev: 'eth0', metric: 10, table: 100 }),
      '10.1.0.0/16 dev eth0 metric 10 table 100',
    );
  });
});
