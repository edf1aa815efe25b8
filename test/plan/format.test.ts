import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeOp, formatOp, shellQuote } from '../../src/plan/format.js';
import type { Op } from '../../src/plan/types.js';

const host = { node: 'host', ns: null };
const ns0 = { node: 'ns0', ns: 'ns0' };
const plain = { hostNetns: null };

/** Each op kind with its command on a plain host, in the sandbox `sbx`, and its description. */
const cases: [Op, string, string, string][] = [
  [{ op: 'netns-add', ...ns0 }, 'ip netns add ns0', 'ip netns add ns0', 'create namespace ns0'],
  [{ op: 'netns-del', ...ns0 }, 'ip netns del ns0', 'ip netns del ns0', 'delete namespace ns0'],
  [
    { op: 'veth-add', ...host, name: 'veth11', peer: { ...ns0, name: 'veth12' } },
    'ip link add veth11 type veth peer name veth12 netns ns0',
    'ip netns exec sbx ip link add veth11 type veth peer name veth12 netns ns0',
    'create veth pair host:veth11 <-> ns0:veth12',
  ],
  [
    { op: 'veth-add', node: 'a', ns: 'ds-a', name: 'x', peer: { node: 'b', ns: 'ds-b', name: 'y' } },
    'ip netns exec ds-a ip link add x type veth peer name y netns ds-b',
    'ip netns exec ds-a ip link add x type veth peer name y netns ds-b',
    'create veth pair a:x <-> b:y',
  ],
  [
    { op: 'veth-add', ...ns0, name: 'veth12', peer: { ...host, name: 'veth11' } },
    'ip netns exec ns0 ip link add veth12 type veth peer name veth11 netns 1',
    'ip netns exec ns0 ip link add veth12 type veth peer name veth11 netns sbx',
    'create veth pair ns0:veth12 <-> host:veth11',
  ],
  [
    {
      op: 'veth-add',
      ...ns0,
      name: 'a',
      mtu: 9000,
      mac: '02:00:00:00:00:01',
      peerMac: '02:00:00:00:00:02',
      peer: { node: 'ns1', ns: 'ns1', name: 'b' },
    },
    'ip netns exec ns0 ip link add a mtu 9000 address 02:00:00:00:00:01 type veth peer name b mtu 9000 address 02:00:00:00:00:02 netns ns1',
    'ip netns exec ns0 ip link add a mtu 9000 address 02:00:00:00:00:01 type veth peer name b mtu 9000 address 02:00:00:00:00:02 netns ns1',
    'create veth pair ns0:a <-> ns1:b',
  ],
  [
    { op: 'bridge-add', node: 'sw', ns: 'lan-sw', name: 'br0' },
    'ip netns exec lan-sw ip link add br0 type bridge',
    'ip netns exec lan-sw ip link add br0 type bridge',
    'create bridge br0 in sw',
  ],
  [
    { op: 'link-del', ...host, name: 'veth21' },
    'ip link del veth21',
    'ip netns exec sbx ip link del veth21',
    'delete host:veth21 and its peer',
  ],
  [
    { op: 'link-set', ...ns0, name: 'veth12', up: true },
    'ip netns exec ns0 ip link set dev veth12 up',
    'ip netns exec ns0 ip link set dev veth12 up',
    'set ns0:veth12 up',
  ],
  [
    {
      op: 'link-set',
      node: 'sw',
      ns: 'sw',
      name: 'p1',
      mtu: 1400,
      mac: '02:aa:00:00:00:01',
      alias: 'nslab:seed',
      master: 'br0',
      up: true,
    },
    'ip netns exec sw ip link set dev p1 mtu 1400 address 02:aa:00:00:00:01 alias nslab:seed master br0 up',
    'ip netns exec sw ip link set dev p1 mtu 1400 address 02:aa:00:00:00:01 alias nslab:seed master br0 up',
    'set sw:p1 mtu 1400, mac 02:aa:00:00:00:01, alias nslab:seed, master br0, up',
  ],
  [
    { op: 'addr-add', ...ns0, dev: 'veth12', cidr: '10.1.10.2/24' },
    'ip netns exec ns0 ip addr add 10.1.10.2/24 dev veth12',
    'ip netns exec ns0 ip addr add 10.1.10.2/24 dev veth12',
    'add 10.1.10.2/24 to ns0:veth12',
  ],
  [
    { op: 'addr-add', ...host, dev: 'veth11', cidr: '10.1.10.1/24' },
    'ip addr add 10.1.10.1/24 dev veth11',
    'ip netns exec sbx ip addr add 10.1.10.1/24 dev veth11',
    'add 10.1.10.1/24 to host:veth11',
  ],
  [
    { op: 'addr-del', ...host, dev: 'veth11', cidr: '2001:db8::1/64' },
    'ip addr del 2001:db8::1/64 dev veth11',
    'ip netns exec sbx ip addr del 2001:db8::1/64 dev veth11',
    'remove 2001:db8::1/64 from host:veth11',
  ],
  [
    { op: 'route-add', ...ns0, route: { dst: '10.1.20.0/24', family: 4, via: '10.1.10.1', dev: 'veth12' } },
    'ip netns exec ns0 ip route add 10.1.20.0/24 via 10.1.10.1 dev veth12',
    'ip netns exec ns0 ip route add 10.1.20.0/24 via 10.1.10.1 dev veth12',
    'add route 10.1.20.0/24 via 10.1.10.1 dev veth12 in ns0',
  ],
  [
    {
      op: 'route-replace',
      node: 'b',
      ns: 'ds-b',
      route: { dst: '::/0', family: 6, via: '2001:db8::1', dev: 'eth0', metric: 10, table: 100 },
    },
    'ip netns exec ds-b ip -6 route replace default via 2001:db8::1 dev eth0 metric 10 table 100',
    'ip netns exec ds-b ip -6 route replace default via 2001:db8::1 dev eth0 metric 10 table 100',
    'replace route default (::/0) via 2001:db8::1 dev eth0 metric 10 table 100 in b',
  ],
  [
    { op: 'route-del', ...host, route: { dst: '10.9.0.0/16', family: 4, dev: 'veth11', table: 254 } },
    'ip route del 10.9.0.0/16 dev veth11',
    'ip netns exec sbx ip route del 10.9.0.0/16 dev veth11',
    'delete route 10.9.0.0/16 dev veth11 in host',
  ],
  [
    { op: 'sysctl-set', ...host, key: 'net.ipv4.ip_forward', value: '1', previous: '0' },
    'sysctl -w net.ipv4.ip_forward=1',
    'ip netns exec sbx sysctl -w net.ipv4.ip_forward=1',
    'set net.ipv4.ip_forward=1 in host (was 0)',
  ],
  [
    { op: 'sysctl-set', ...ns0, key: 'net.ipv4.ping_group_range', value: '0 2147483647' },
    "ip netns exec ns0 sysctl -w 'net.ipv4.ping_group_range=0 2147483647'",
    "ip netns exec ns0 sysctl -w 'net.ipv4.ping_group_range=0 2147483647'",
    'set net.ipv4.ping_group_range=0 2147483647 in ns0',
  ],
  [
    { op: 'exec', ...ns0, command: "ping -c 1 10.1.20.2 && echo 'ok'" },
    "ip netns exec ns0 sh -c 'ping -c 1 10.1.20.2 && echo '\\''ok'\\'''",
    "ip netns exec ns0 sh -c 'ping -c 1 10.1.20.2 && echo '\\''ok'\\'''",
    `run "ping -c 1 10.1.20.2 && echo 'ok'" in ns0`,
  ],
  [
    {
      op: 'process-start',
      ...ns0,
      name: 'web',
      command: 'redis-server --port 7000',
      ready: { log: 'Ready' },
    },
    "ip netns exec ns0 sh -c 'redis-server --port 7000' &",
    "ip netns exec ns0 sh -c 'redis-server --port 7000' &",
    'start process web in ns0, ready once its log says "Ready"',
  ],
  [
    { op: 'process-stop', ...ns0, name: 'web', pid: 4242 },
    'kill -TERM -- -4242',
    'kill -TERM -- -4242',
    'stop process web in ns0 (pid 4242)',
  ],
];

describe('formatOp', () => {
  for (const [op, line, sandboxed, sentence] of cases) {
    it(`${op.op}: ${line}`, () => {
      assert.equal(formatOp(op, plain), line);
      assert.equal(formatOp(op, { hostNetns: 'sbx' }), sandboxed);
      assert.equal(describeOp(op), sentence);
    });
  }

  it('covers every op kind', () => {
    const kinds = new Set(cases.map(([op]) => op.op));
    assert.equal(kinds.size, 15);
  });

  it('prints the ownership alias unless marks are off', () => {
    const op: Op = { op: 'link-set', ...host, name: 'veth11', alias: 'nslab:my lab', up: true };
    assert.equal(formatOp(op, plain), "ip link set dev veth11 alias 'nslab:my lab' up");
    assert.equal(
      formatOp(op, { hostNetns: null, marks: true }),
      "ip link set dev veth11 alias 'nslab:my lab' up",
    );
    assert.equal(formatOp(op, { hostNetns: null, marks: false }), 'ip link set dev veth11 up');
  });

  it('quotes only the words that need it', () => {
    assert.equal(shellQuote('10.1.10.1/24'), '10.1.10.1/24');
    assert.equal(shellQuote('nslab:seed'), 'nslab:seed');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
  });
});

describe('device names that iproute2 would read as keywords', () => {
  it('get `name` on `ip link add` and `dev` on `ip link del`', () => {
    const veth: Op = { op: 'veth-add', ...ns0, name: 'down', peer: { node: 'sw', ns: 'sw', name: 'up' } };
    assert.equal(
      formatOp(veth, plain),
      'ip netns exec ns0 ip link add name down type veth peer name up netns sw',
    );
    assert.equal(
      formatOp({ op: 'bridge-add', ...ns0, name: 'link' }, plain),
      'ip netns exec ns0 ip link add name link type bridge',
    );
    assert.equal(
      formatOp({ op: 'link-del', ...ns0, name: 'down' }, plain),
      'ip netns exec ns0 ip link del dev down',
    );
    assert.equal(
      formatOp({ op: 'link-del', ...ns0, name: 'eth0' }, plain),
      'ip netns exec ns0 ip link del eth0',
    );
  });
});
