import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDown } from '../../src/plan/down.js';
import { ledgerAfter } from '../../src/plan/ledger.js';
import { bridgeLab, freshMachine, hostState, tutorialLab } from './fixtures.js';
import { commands, NOW, up } from './helpers.js';
import { applyPlan } from './model.js';

describe('ledgerAfter', () => {
  it('records what the tutorial plan made, and not what was already there', () => {
    const start = freshMachine();
    // A route the file wants is already on the host: nslab did not make it, so it must not claim it.
    start.nodes.host.routes.push({
      dst: '10.1.0.0/16',
      family: 4,
      via: '192.168.1.1',
      dev: 'eth0',
      table: 254,
      protocol: 'boot',
    });
    const lab = tutorialLab();
    lab.nodes[0].routes.push({ dst: '10.1.0.0/16', family: 4, via: '192.168.1.1', dev: 'eth0' });
    const { ledger } = up(lab, start);
    assert.equal(ledger.lab, 'seed');
    assert.equal(ledger.hostNetns, null);
    assert.equal(ledger.file, 'seed.nslab.yml');
    assert.deepEqual(ledger.namespaces, ['ns0', 'ns1']);
    assert.deepEqual(ledger.hostLinks, ['veth11', 'veth21']);
    assert.deepEqual(ledger.hostAddrs, [
      { dev: 'veth11', cidr: '10.1.10.1/24' },
      { dev: 'veth21', cidr: '10.1.20.1/24' },
    ]);
    assert.deepEqual(ledger.hostRoutes, []);
    assert.deepEqual(ledger.sysctls, [{ node: 'host', key: 'net.ipv4.ip_forward', previous: '0' }]);
    assert.equal(ledger.createdAt, NOW);
  });

  it('keeps the first previous value and the creation time across ups', () => {
    const first = up(tutorialLab(), freshMachine());
    const again = ledgerAfter(
      first.ledger,
      tutorialLab(),
      { lab: 'seed', ops: [] },
      { hostNetns: null, now: 'later' },
    );
    assert.deepEqual(again.sysctls, first.ledger.sysctls);
    assert.equal(again.createdAt, NOW);
    assert.equal(again.updatedAt, 'later');
  });
});

describe('planDown', () => {
  it('tears the tutorial down and gives the host back exactly as it was', () => {
    const { after, ledger } = up(tutorialLab(), freshMachine());
    const plan = planDown(ledger, after);
    // The host ends go with their namespaces' batched cleanup: no `ip link del` (one RCU grace period each).
    assert.deepEqual(commands(plan), [
      'ip netns del ns0',
      'ip netns del ns1',
      'sysctl -w net.ipv4.ip_forward=0',
    ]);
    const back = applyPlan(after, plan);
    assert.deepEqual(back.namespaces, ['unrelated']);
    assert.deepEqual(back.nodes.host, hostState());
  });

  it('removes only ledger items still present, leaving foreign ones and other owners’ devices', () => {
    const { after, ledger } = up(tutorialLab(), freshMachine());
    const host = after.nodes.host;
    host.links.push(
      { name: 'veth99', index: 90, kind: 'veth', up: true, mtu: 1500 },
      { name: 'vethx', index: 91, kind: 'veth', up: true, mtu: 1500, alias: 'nslab:other' },
    );
    host.addrs.push(
      { dev: 'eth0', cidr: '192.168.1.50/24', family: 4 },
      { dev: 'eth0', cidr: '192.168.1.77/24', family: 4 },
    );
    host.routes.push(
      { dst: '10.50.0.0/16', family: 4, via: '192.168.1.1', dev: 'eth0', table: 254, protocol: 'boot' },
      { dst: '10.70.0.0/16', family: 4, via: '10.1.10.2', dev: 'veth11', table: 254, protocol: 'boot' },
      { dst: '172.16.0.0/16', family: 4, via: '192.168.1.254', dev: 'eth0', table: 254, protocol: 'boot' },
    );
    host.sysctls['net.ipv4.conf.all.rp_filter'] = '2';
    ledger.hostLinks.push('vethgone', 'vethx');
    ledger.namespaces.push('nsgone');
    ledger.hostAddrs.push({ dev: 'eth0', cidr: '192.168.1.50/24' }, { dev: 'eth0', cidr: '192.168.1.51/24' });
    ledger.hostRoutes.push(
      { dst: '10.50.0.0/16', family: 4, via: '192.168.1.1', dev: 'eth0' },
      { dst: '10.60.0.0/16', family: 4, via: '192.168.1.1', dev: 'eth0' },
      { dst: '10.70.0.0/16', family: 4, via: '10.1.10.2', dev: 'veth11' },
    );
    ledger.sysctls.push(
      { node: 'host', key: 'net.ipv4.conf.all.rp_filter', previous: '2' },
      { node: 'ns0', key: 'net.ipv4.conf.all.forwarding', previous: '0' },
    );
    const plan = planDown(ledger, after);
    assert.deepEqual(commands(plan), [
      'ip netns del ns0',
      'ip netns del ns1',
      'ip route del 10.50.0.0/16 via 192.168.1.1 dev eth0',
      'ip addr del 192.168.1.50/24 dev eth0',
      'sysctl -w net.ipv4.ip_forward=0',
    ]);
    assert.deepEqual(plan.ops.at(-1), {
      op: 'sysctl-set',
      node: 'host',
      ns: null,
      key: 'net.ipv4.ip_forward',
      value: '0',
      previous: '1',
    });
    const back = applyPlan(after, plan);
    assert.deepEqual(
      back.nodes.host.links.map((l) => l.name),
      ['lo', 'eth0', 'veth99', 'vethx'],
    );
    assert.ok(back.nodes.host.routes.some((r) => r.dst === '172.16.0.0/16'));
    assert.ok(back.nodes.host.addrs.some((a) => a.cidr === '192.168.1.77/24'));
  });

  it('runs host ops in the namespace playing the host', () => {
    const start = freshMachine();
    start.namespaces.push('nslab-t-sbx');
    const { after, ledger } = up(tutorialLab(), start, undefined, 'nslab-t-sbx');
    assert.deepEqual(commands(planDown(ledger, after), 'nslab-t-sbx'), [
      'ip netns del ns0',
      'ip netns del ns1',
      'ip netns exec nslab-t-sbx sysctl -w net.ipv4.ip_forward=0',
    ]);
  });

  it('plans nothing once everything is gone and restored', () => {
    const { after, ledger } = up(bridgeLab(), freshMachine(false));
    const back = applyPlan(after, planDown(ledger, after));
    assert.deepEqual(back.namespaces, ['unrelated']);
    assert.deepEqual(planDown(ledger, back).ops, []);
  });
});
