/**
 * `nslab demo` tells the tutorial's story against the kernel: the host reaches both namespaces, ns0 -> ns1 fails
 * with 'Network is unreachable', then is lost without forwarding, then answers with ttl=63; and it cleans up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeSandbox, nslab, removeSandbox } from '../helpers/cli.js';
import { ipJson, ipNetnsList, skipUnlessRoot, sysctlIn } from '../helpers/kernel.js';

describe('nslab demo', { skip: skipUnlessRoot }, () => {
  let sandbox = '';
  let before_: string[] = [];
  before(() => {
    sandbox = makeSandbox('demo');
    before_ = ipNetnsList();
  });
  after(() => {
    if (sandbox) removeSandbox(sandbox);
  });

  it('walks through the tutorial and leaves nothing behind', () => {
    const r = nslab(['demo', '--host-netns', sandbox]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = r.stdout;
    const order = [
      /ip netns add (demo-)?ns0/,
      /ip link add veth11 type veth peer name veth12 netns (demo-)?ns0/,
      /64 bytes from 10\.1\.10\.2: icmp_seq=1 ttl=64/,
      /ping: connect: Network is unreachable/,
      /ns0 has no route to 10\.1\.20\.2 \(10\.1\.20\.0\/24\): the kernel answers 'Network is unreachable'/,
      /ip route add 10\.1\.20\.0\/24 via 10\.1\.10\.1 dev veth12/,
      /100% packet loss/,
      /host does not forward \(net\.ipv4\.ip_forward = 0\)/,
      /sysctl -w net\.ipv4\.ip_forward=1/,
      /64 bytes from 10\.1\.20\.2: icmp_seq=1 ttl=63/,
      /ip netns del (demo-)?ns1/,
    ];
    let at = 0;
    for (const re of order) {
      const m = re.exec(out.slice(at));
      assert.ok(m, `${re} after position ${at} in:\n${out}`);
      at += m.index + m[0].length;
    }
    // Only the names the demo can make: other tests make and delete namespaces meanwhile.
    const demoNames = (l: string[]) => l.filter((n) => /^(demo-)?ns[01]$/.test(n)).sort();
    assert.deepEqual(demoNames(ipNetnsList()), demoNames(before_));
    assert.deepEqual(
      ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').map((l) => l.ifname),
      ['lo'],
    );
    assert.equal(sysctlIn(sandbox, 'net.ipv4.ip_forward'), '0');
  });
});
