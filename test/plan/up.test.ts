import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownershipAlias, PlanError } from '../../src/plan/common.js';
import { planUp } from '../../src/plan/up.js';
import { parseTopology } from '../../src/topology/load.js';
import { bridgeLab, dualStackLab, freshMachine, tutorialLab } from './fixtures.js';
import { commands, edited, node, up } from './helpers.js';
import { applyPlan, KernelError } from './model.js';

const TUTORIAL = [
  'ip netns add ns0',
  'ip netns exec ns0 ip link set dev lo alias nslab:seed up',
  'ip netns add ns1',
  'ip netns exec ns1 ip link set dev lo alias nslab:seed up',
  'ip link add veth11 type veth peer name veth12 netns ns0',
  'ip link add veth21 type veth peer name veth22 netns ns1',
  'ip link set dev veth11 alias nslab:seed up',
  'ip netns exec ns0 ip link set dev veth12 alias nslab:seed up',
  'ip link set dev veth21 alias nslab:seed up',
  'ip netns exec ns1 ip link set dev veth22 alias nslab:seed up',
  'sysctl -w net.ipv4.ip_forward=1',
  'ip addr add 10.1.10.1/24 dev veth11',
  'ip addr add 10.1.20.1/24 dev veth21',
  'ip netns exec ns0 ip addr add 10.1.10.2/24 dev veth12',
  'ip netns exec ns1 ip addr add 10.1.20.2/24 dev veth22',
  'ip netns exec ns0 ip route add 10.1.20.0/24 via 10.1.10.1 dev veth12',
  'ip netns exec ns1 ip route add 10.1.10.0/24 via 10.1.20.1 dev veth22',
];

describe('planUp from an empty kernel', () => {
  it('plans the tutorial in order, host ops in the host namespace (ns null)', () => {
    const plan = planUp(tutorialLab(), freshMachine(), { hostNetns: null });
    assert.equal(plan.lab, 'seed');
    assert.deepEqual(commands(plan), TUTORIAL);
    assert.deepEqual(plan.ops[4], {
      op: 'veth-add',
      node: 'host',
      ns: null,
      name: 'veth11',
      peer: { node: 'ns0', ns: 'ns0', name: 'veth12' },
    });
    assert.deepEqual(plan.ops[10], {
      op: 'sysctl-set',
      node: 'host',
      ns: null,
      key: 'net.ipv4.ip_forward',
      value: '1',
      previous: '0',
    });
    assert.equal(ownershipAlias(tutorialLab()), 'nslab:seed');
  });

  it('plans a bridge LAN: br0 before its ports, ports enslaved, exec last', () => {
    const plan = planUp(bridgeLab(), freshMachine(false), { hostNetns: null });
    assert.deepEqual(commands(plan), [
      'ip netns add lan-sw',
      'ip netns exec lan-sw ip link set dev lo alias nslab:lan up',
      'ip netns add lan-h1',
      'ip netns exec lan-h1 ip link set dev lo alias nslab:lan up',
      'ip netns add lan-h2',
      'ip netns exec lan-h2 ip link set dev lo alias nslab:lan up',
      'ip netns exec lan-sw ip link add br0 type bridge',
      'ip netns exec lan-sw ip link add p1 type veth peer name eth0 netns lan-h1',
      'ip netns exec lan-sw ip link add p2 type veth peer name eth0 netns lan-h2',
      'ip netns exec lan-sw ip link set dev br0 alias nslab:lan up',
      'ip netns exec lan-sw ip link set dev p1 alias nslab:lan master br0 up',
      'ip netns exec lan-h1 ip link set dev eth0 alias nslab:lan up',
      'ip netns exec lan-sw ip link set dev p2 alias nslab:lan master br0 up',
      'ip netns exec lan-h2 ip link set dev eth0 alias nslab:lan up',
      'ip netns exec lan-sw ip addr add 192.168.50.254/24 dev br0',
      'ip netns exec lan-h1 ip addr add 192.168.50.1/24 dev eth0',
      'ip netns exec lan-h2 ip addr add 192.168.50.2/24 dev eth0',
      "ip netns exec lan-h1 sh -c 'echo '\\''h1 up'\\'' > /dev/null'",
    ]);
  });

  it('plans a dual-stack link with mtu, mac, canonical IPv6 and ip -6 routes', () => {
    const plan = planUp(dualStackLab(), freshMachine(false), { hostNetns: null });
    assert.deepEqual(commands(plan), [
      'ip netns add ds-a',
      'ip netns exec ds-a ip link set dev lo alias nslab:ds up',
      'ip netns add ds-b',
      'ip netns exec ds-b ip link set dev lo alias nslab:ds up',
      'ip netns exec ds-a ip link add eth0 type veth peer name eth0 netns ds-b',
      'ip netns exec ds-a ip link set dev eth0 mtu 9000 address 02:00:00:00:00:0a alias nslab:ds up',
      'ip netns exec ds-b ip link set dev eth0 mtu 9000 alias nslab:ds up',
      'ip netns exec ds-a sysctl -w net.ipv4.ip_forward=1',
      'ip netns exec ds-a sysctl -w net.ipv6.conf.all.forwarding=1',
      'ip netns exec ds-a ip addr add 10.0.0.1/30 dev eth0',
      'ip netns exec ds-a ip addr add 2001:db8::1/64 dev eth0',
      'ip netns exec ds-b ip addr add 10.0.0.2/30 dev eth0',
      'ip netns exec ds-b ip addr add 2001:db8::2/64 dev eth0',
      'ip netns exec ds-b ip route add default via 10.0.0.1 dev eth0',
      'ip netns exec ds-b ip -6 route add default via 2001:db8::1 dev eth0',
    ]);
    // Sysctls in a namespace this plan creates have no previous value to restore.
    assert.ok(plan.ops.every((op) => op.op !== 'sysctl-set' || op.previous === undefined));
  });

  it('creates a veth from the host side when only endpoint 1 is the host', () => {
    const lab = edited(tutorialLab(), (l) => {
      l.links[0].endpoints.reverse();
    });
    const plan = planUp(lab, freshMachine(), { hostNetns: null });
    assert.ok(commands(plan).includes('ip link add veth11 type veth peer name veth12 netns ns0'));
  });
});

describe('planUp idempotency', () => {
  const cases = [
    ['tutorial', tutorialLab, true, null],
    ['tutorial with a sandbox host', tutorialLab, true, 'nslab-t-sbx'],
    ['bridge LAN', bridgeLab, false, null],
    ['dual stack', dualStackLab, false, null],
  ] as const;
  for (const [name, make, withHost, hostNetns] of cases) {
    it(`${name}: planning against the state the plan produced gives no op`, () => {
      const start = freshMachine(withHost);
      if (hostNetns) start.namespaces.push(hostNetns);
      const first = up(make(), start, undefined, hostNetns);
      assert.ok(first.plan.ops.length > 0);
      assert.deepEqual(planUp(make(), first.after, { hostNetns, ledger: first.ledger }).ops, []);
      // without the ledger, the namespaces are not known to be the lab's: nslab refuses to take them over
      assert.throws(
        () => planUp(make(), first.after, { hostNetns }),
        /already exists and lab \S+ did not make it/,
      );
    });
  }

  it('runs exec commands only in the plan that creates the namespace', () => {
    const first = up(bridgeLab(), freshMachine(false));
    assert.deepEqual(first.after.executed, ["h1: echo 'h1 up' > /dev/null"]);
    const again = edited(bridgeLab(), (l) => {
      node(l, 'h2').interfaces[0].ipv4 = ['192.168.50.3/24'];
    });
    const second = planUp(again, first.after, { hostNetns: null, ledger: first.ledger });
    assert.ok(second.ops.length > 0);
    assert.ok(second.ops.every((op) => op.op !== 'exec'));
  });
});

describe('planUp after an edit plans only the difference', () => {
  /** Brings the tutorial up, plans `lab` on top, checks the commands and that the result is then stable. */
  function editCase(lab: ReturnType<typeof tutorialLab>, expected: string[]) {
    const base = up(tutorialLab(), freshMachine());
    const next = up(lab, base.after, base.ledger);
    assert.deepEqual(commands(next.plan), expected);
    assert.deepEqual(planUp(lab, next.after, { hostNetns: null, ledger: next.ledger }).ops, []);
    return next;
  }

  it('adds a node and its link', () => {
    const lab = edited(tutorialLab(), (l) => {
      node(l, 'host').interfaces.push({
        node: 'host',
        name: 'veth31',
        ipv4: ['10.1.30.1/24'],
        ipv6: [],
        link: 2,
        peer: { node: 'ns2', name: 'veth32' },
      });
      l.nodes.push({
        name: 'ns2',
        kind: 'netns',
        netns: 'ns2',
        sysctls: {},
        routes: [],
        exec: ['true'],
        interfaces: [
          {
            node: 'ns2',
            name: 'veth32',
            ipv4: ['10.1.30.2/24'],
            ipv6: [],
            link: 2,
            peer: { node: 'host', name: 'veth31' },
          },
        ],
      });
      l.links.push({
        index: 2,
        endpoints: [
          { node: 'host', interface: 'veth31' },
          { node: 'ns2', interface: 'veth32' },
        ],
      });
    });
    const next = editCase(lab, [
      'ip netns add ns2',
      'ip netns exec ns2 ip link set dev lo alias nslab:seed up',
      'ip link add veth31 type veth peer name veth32 netns ns2',
      'ip link set dev veth31 alias nslab:seed up',
      'ip netns exec ns2 ip link set dev veth32 alias nslab:seed up',
      'ip addr add 10.1.30.1/24 dev veth31',
      'ip netns exec ns2 ip addr add 10.1.30.2/24 dev veth32',
      'ip netns exec ns2 sh -c true',
    ]);
    assert.deepEqual(next.ledger.namespaces, ['ns0', 'ns1', 'ns2']);
    assert.deepEqual(next.ledger.hostLinks, ['veth11', 'veth21', 'veth31']);
  });

  it('removes a node: its routes elsewhere, the host end of its link, its namespace', () => {
    const lab = edited(tutorialLab(), (l) => {
      l.nodes = l.nodes.filter((n) => n.name !== 'ns1');
      l.links = l.links.filter((k) => k.index !== 1);
      node(l, 'host').interfaces.pop();
      node(l, 'ns0').routes = [];
    });
    const next = editCase(lab, [
      'ip netns exec ns0 ip route del 10.1.20.0/24 via 10.1.10.1 dev veth12',
      'ip link del veth21',
      'ip netns del ns1',
    ]);
    assert.deepEqual(next.ledger.namespaces, ['ns0']);
    assert.deepEqual(next.ledger.hostLinks, ['veth11']);
    assert.deepEqual(next.after.namespaces, ['unrelated', 'ns0']);
  });

  it('changes the only address of a device: re-adds the routes the kernel flushes with it', () => {
    const lab = edited(tutorialLab(), (l) => {
      node(l, 'ns0').interfaces[0].ipv4 = ['10.1.10.3/24'];
    });
    editCase(lab, [
      'ip netns exec ns0 ip addr del 10.1.10.2/24 dev veth12',
      'ip netns exec ns0 ip addr add 10.1.10.3/24 dev veth12',
      'ip netns exec ns0 ip route add 10.1.20.0/24 via 10.1.10.1 dev veth12',
    ]);
  });

  it('changes a second address: routes stay', () => {
    const withTwo = edited(tutorialLab(), (l) => {
      node(l, 'ns1').interfaces[0].ipv4.push('10.1.99.2/24');
    });
    const base = up(withTwo, freshMachine());
    const lab = edited(withTwo, (l) => {
      node(l, 'ns1').interfaces[0].ipv4[1] = '10.1.99.3/24';
    });
    const next = up(lab, base.after, base.ledger);
    assert.deepEqual(commands(next.plan), [
      'ip netns exec ns1 ip addr del 10.1.99.2/24 dev veth22',
      'ip netns exec ns1 ip addr add 10.1.99.3/24 dev veth22',
    ]);
    assert.deepEqual(planUp(lab, next.after, { hostNetns: null, ledger: next.ledger }).ops, []);
  });

  it('deletes the primary with its secondaries and adds back the kept one', () => {
    const withTwo = edited(tutorialLab(), (l) => {
      node(l, 'host').interfaces[0].ipv4.push('10.1.10.5/24');
    });
    const base = up(withTwo, freshMachine());
    const lab = edited(withTwo, (l) => {
      node(l, 'host').interfaces[0].ipv4 = ['10.1.10.5/24'];
    });
    const next = up(lab, base.after, base.ledger);
    assert.deepEqual(commands(next.plan), [
      'ip addr del 10.1.10.5/24 dev veth11',
      'ip addr del 10.1.10.1/24 dev veth11',
      'ip addr add 10.1.10.5/24 dev veth11',
    ]);
    assert.deepEqual(planUp(lab, next.after, { hostNetns: null, ledger: next.ledger }).ops, []);
  });

  it('replaces a route whose gateway changed', () => {
    const lab = edited(tutorialLab(), (l) => {
      node(l, 'ns0').routes[0].via = '10.1.10.254';
    });
    editCase(lab, ['ip netns exec ns0 ip route replace 10.1.20.0/24 via 10.1.10.254 dev veth12']);
  });

  it('moves a route to another metric by deleting the old one (another metric is another route)', () => {
    const lab = edited(tutorialLab(), (l) => {
      node(l, 'ns0').routes[0].metric = 50;
    });
    editCase(lab, [
      'ip netns exec ns0 ip route del 10.1.20.0/24 via 10.1.10.1 dev veth12',
      'ip netns exec ns0 ip route add 10.1.20.0/24 via 10.1.10.1 dev veth12 metric 50',
    ]);
  });

  it('swaps a route for another destination', () => {
    const lab = edited(tutorialLab(), (l) => {
      node(l, 'ns0').routes[0].dst = '10.1.0.0/16';
    });
    editCase(lab, [
      'ip netns exec ns0 ip route del 10.1.20.0/24 via 10.1.10.1 dev veth12',
      'ip netns exec ns0 ip route add 10.1.0.0/16 via 10.1.10.1 dev veth12',
    ]);
  });

  it('restores a sysctl dropped from the file and sets a new one', () => {
    const lab = edited(tutorialLab(), (l) => {
      node(l, 'host').sysctls = {};
      node(l, 'ns0').sysctls = { 'net.ipv4.conf.all.rp_filter': '0' };
    });
    const next = editCase(lab, [
      'sysctl -w net.ipv4.ip_forward=0',
      'ip netns exec ns0 sysctl -w net.ipv4.conf.all.rp_filter=0',
    ]);
    assert.equal(next.after.nodes.host.sysctls['net.ipv4.ip_forward'], '0');
    assert.deepEqual(next.ledger.sysctls, []);
  });

  it('changes mtu and mac of an existing link with link-set only', () => {
    const lab = edited(tutorialLab(), (l) => {
      l.links[0].mtu = 1400;
      node(l, 'ns0').interfaces[0].mac = '02:00:00:00:01:02';
    });
    editCase(lab, [
      'ip link set dev veth11 mtu 1400',
      'ip netns exec ns0 ip link set dev veth12 mtu 1400 address 02:00:00:00:01:02',
    ]);
  });

  it('brings a lab device back up and re-marks it when the kernel shows its peer in the lab', () => {
    const base = up(tutorialLab(), freshMachine());
    const veth = base.after.nodes.host.links.find((l) => l.name === 'veth21')!;
    veth.up = false;
    veth.alias = undefined;
    veth.peerInLab = true;
    const plan = planUp(tutorialLab(), base.after, { hostNetns: null, ledger: base.ledger });
    assert.deepEqual(commands(plan), ['ip link set dev veth21 alias nslab:seed up']);
  });

  it('never takes an unmarked host device for the lab’s because the ledger names it', () => {
    const base = up(tutorialLab(), freshMachine());
    const veth = base.after.nodes.host.links.find((l) => l.name === 'veth21')!;
    veth.alias = undefined;
    assert.throws(
      () => planUp(tutorialLab(), base.after, { hostNetns: null, ledger: base.ledger }),
      /veth21 cannot be created: a device named veth21 already exists in the host namespace/,
    );
  });

  it('refuses a namespace under a lab name that the kernel does not show to be the lab’s', () => {
    const base = up(tutorialLab(), freshMachine());
    const observed = { ...base.after, owned: ['ns1'] };
    assert.throws(
      () => planUp(tutorialLab(), observed, { hostNetns: null, ledger: base.ledger }),
      /namespace ns0 \(node ns0\) already exists and lab seed did not make it/,
    );
  });

  it('marks the loopback of a lab namespace that lacks the mark', () => {
    const base = up(tutorialLab(), freshMachine());
    base.after.nodes.ns0.links.find((l) => l.name === 'lo')!.alias = undefined;
    const plan = planUp(tutorialLab(), base.after, { hostNetns: null, ledger: base.ledger });
    assert.deepEqual(commands(plan), ['ip netns exec ns0 ip link set dev lo alias nslab:seed']);
  });

  it('recreates a pair when only one end is left (deleting it first)', () => {
    const base = up(tutorialLab(), freshMachine());
    const ns0 = base.after.nodes.ns0;
    ns0.links = ns0.links.filter((l) => l.name !== 'veth12');
    ns0.addrs = [];
    ns0.routes = [];
    const next = up(tutorialLab(), base.after, base.ledger);
    assert.deepEqual(commands(next.plan), [
      'ip link del veth11',
      'ip link add veth11 type veth peer name veth12 netns ns0',
      'ip link set dev veth11 alias nslab:seed up',
      'ip netns exec ns0 ip link set dev veth12 alias nslab:seed up',
      'ip addr add 10.1.10.1/24 dev veth11',
      'ip netns exec ns0 ip addr add 10.1.10.2/24 dev veth12',
      'ip netns exec ns0 ip route add 10.1.20.0/24 via 10.1.10.1 dev veth12',
    ]);
    assert.deepEqual(planUp(tutorialLab(), next.after, { hostNetns: null, ledger: next.ledger }).ops, []);
  });

  it('rewires links whose ends exist but were paired otherwise', () => {
    const lab = (pairs: [string, string][]) =>
      parseTopology(
        `name: rewire\ntopology:\n  nodes: { a: {}, b: {}, c: {}, d: {} }\n  links:\n${pairs
          .map(
            ([x, y], i) =>
              `    - endpoints: ["${x}:e0", "${y}:e0"]\n      ipv4: [10.0.${i}.1/24, 10.0.${i}.2/24]`,
          )
          .join('\n')}\n`,
      );
    const base = up(
      lab([
        ['a', 'b'],
        ['c', 'd'],
      ]),
      freshMachine(false),
    );
    const next = up(
      lab([
        ['a', 'd'],
        ['c', 'b'],
      ]),
      base.after,
      base.ledger,
    );
    const cmds = commands(next.plan);
    assert.ok(
      cmds.includes('ip netns exec a ip link add e0 type veth peer name e0 netns d'),
      cmds.join('\n'),
    );
    assert.ok(
      cmds.includes('ip netns exec c ip link add e0 type veth peer name e0 netns b'),
      cmds.join('\n'),
    );
    assert.deepEqual(
      planUp(
        lab([
          ['a', 'd'],
          ['c', 'b'],
        ]),
        next.after,
        { hostNetns: null, ledger: next.ledger },
      ).ops,
      [],
    );
  });
});

describe('planUp ownership', () => {
  it('never touches an unmarked link, a foreign route or a foreign address', () => {
    const base = up(tutorialLab(), freshMachine());
    const host = base.after.nodes.host;
    host.links.push({ name: 'veth99', index: 99, kind: 'veth', up: true, mtu: 1500 });
    host.addrs.push({ dev: 'eth0', cidr: '192.168.1.77/24', family: 4 });
    host.routes.push({
      dst: '172.16.0.0/16',
      family: 4,
      via: '192.168.1.254',
      dev: 'eth0',
      table: 254,
      protocol: 'boot',
    });
    base.after.nodes.ns0.routes.push({
      dst: '10.9.0.0/16',
      family: 4,
      via: '10.1.10.1',
      dev: 'veth12',
      table: 254,
      protocol: 'boot',
    });
    // The applied lab pretends to have had all of these; the ledger does not list them as made by nslab.
    const ledger = structuredClone(base.ledger);
    const applied = ledger.applied;
    node(applied, 'host').interfaces.push({
      node: 'host',
      name: 'veth99',
      ipv4: ['192.168.1.77/24'],
      ipv6: [],
      link: 5,
      peer: { node: 'ns0', name: 'veth98' },
    });
    node(applied, 'host').routes.push({ dst: '172.16.0.0/16', family: 4, via: '192.168.1.254', dev: 'eth0' });
    applied.links.push({
      index: 5,
      endpoints: [
        { node: 'host', interface: 'veth99' },
        { node: 'ns0', interface: 'veth98' },
      ],
    });
    // The file drops ns1 with its link, and ns0's route; 10.9.0.0/16 in ns0 was never the lab's.
    const lab = edited(tutorialLab(), (l) => {
      l.nodes = l.nodes.filter((n) => n.name !== 'ns1');
      l.links = l.links.filter((k) => k.index !== 1);
      node(l, 'host').interfaces.pop();
      node(l, 'ns0').routes = [];
    });
    const plan = planUp(lab, base.after, { hostNetns: null, ledger });
    assert.deepEqual(commands(plan), [
      'ip netns exec ns0 ip route del 10.1.20.0/24 via 10.1.10.1 dev veth12',
      'ip link del veth21',
      'ip netns del ns1',
    ]);
    const after = applyPlan(base.after, plan);
    assert.ok(after.nodes.host.links.some((l) => l.name === 'veth99'));
    assert.ok(after.nodes.host.routes.some((r) => r.dst === '172.16.0.0/16'));
    assert.ok(after.nodes.host.addrs.some((a) => a.cidr === '192.168.1.77/24'));
    assert.ok(after.nodes.ns0.routes.some((r) => r.dst === '10.9.0.0/16'));
  });

  it('deletes stray addresses on lab devices but keeps IPv6 link-local ones', () => {
    const base = up(tutorialLab(), freshMachine());
    base.after.nodes.host.addrs.push(
      { dev: 'veth11', cidr: '10.1.10.99/24', family: 4 },
      { dev: 'veth11', cidr: 'fe80::a8bb:ccff:fe00:2/64', family: 6 },
    );
    const plan = planUp(tutorialLab(), base.after, { hostNetns: null, ledger: base.ledger });
    assert.deepEqual(commands(plan), ['ip addr del 10.1.10.99/24 dev veth11']);
  });

  it('refuses to adopt a device of the same name that is not the lab’s', () => {
    const start = freshMachine();
    start.nodes.host.links.push({ name: 'veth11', index: 7, kind: 'veth', up: true, mtu: 1500 });
    assert.throws(
      () => planUp(tutorialLab(), start, { hostNetns: null }),
      (e: unknown) => {
        assert.ok(e instanceof PlanError);
        assert.match(e.message, /veth11 already exists in the host namespace/);
        return true;
      },
    );
    // The same device carrying the lab's mark is adopted.
    start.nodes.host.links[2].alias = 'nslab:seed';
    assert.doesNotThrow(() => planUp(tutorialLab(), start, { hostNetns: null }));
  });

  it('refuses a ledger of another lab, another host namespace, or a node in the host namespace', () => {
    const base = up(tutorialLab(), freshMachine());
    const other = edited(tutorialLab(), (l) => {
      l.name = 'other';
    });
    assert.throws(() => planUp(other, base.after, { hostNetns: null, ledger: base.ledger }), PlanError);
    assert.throws(
      () => planUp(tutorialLab(), base.after, { hostNetns: 'nslab-t-x', ledger: base.ledger }),
      (e: unknown) => e instanceof PlanError && e.exitCode === 2 && /--host-netns/.test(e.message),
    );
    assert.throws(() => planUp(tutorialLab(), freshMachine(), { hostNetns: 'ns0' }), /plays the host/);
  });

  it('a plan ordered wrongly would fail in the kernel model (the model is strict)', () => {
    const plan = planUp(tutorialLab(), freshMachine(), { hostNetns: null });
    const routeFirst = [...plan.ops.filter((o) => o.op === 'route-add'), ...plan.ops];
    assert.throws(() => applyPlan(freshMachine(), routeFirst), KernelError);
  });
});
