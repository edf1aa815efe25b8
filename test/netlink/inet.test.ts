import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { bufferToIp, ipToBuffer, splitCidr } from '../../src/netlink/inet.js';

/** What the conversions were before the fast path: ipaddr.js all the way. */
function reference(cidr: string) {
  const [addr, len] = ipaddr.parseCIDR(cidr);
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
      : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  return { address: addr.toString(), prefixLen: len, network: network.toString() };
}

/** A small deterministic generator, so that a failure names its case. */
function* cases(): Generator<string> {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let k = 0; k < 500; k++) {
    yield `${rnd(256)}.${rnd(256)}.${rnd(256)}.${rnd(256)}/${rnd(33)}`;
    const groups = Array.from({ length: 8 }, () => (rnd(3) === 0 ? 0 : rnd(0x10000)));
    const text = groups.map((g) => g.toString(16)).join(':');
    yield `${text}/${rnd(129)}`;
    yield `${ipaddr.fromByteArray(ipaddr.parse(text).toByteArray()).toString()}/${rnd(129)}`;
  }
  yield* ['0.0.0.0/0', '255.255.255.255/32', '::/0', '::1/128', 'fe80::1/64', '2001:DB8:0:0:1::1/64'];
  yield* [
    '::ffff:10.1.2.3/128',
    '64:ff9b::192.0.2.33/96',
    '1::/16',
    '1:0:0:1:0:0:0:1/64',
    '0:0:1:0:0:1:0:0/64',
  ];
}

describe('address conversions', () => {
  it('give the same address, prefix and network as ipaddr.js for every form a file admits', () => {
    for (const c of cases()) assert.deepEqual(splitCidr(c), reference(c), c);
  });

  it('write the bytes ipaddr.js reads and read them back as its canonical text', () => {
    for (const c of cases()) {
      const text = c.split('/')[0];
      const { family, bytes } = ipToBuffer(text);
      const ref = ipaddr.parse(text);
      assert.equal(family, ref.kind() === 'ipv4' ? 2 : 10, c);
      assert.deepEqual([...bytes], ref.toByteArray(), c);
      assert.equal(bufferToIp(bytes), ref.toString(), c);
    }
  });

  it('refuse what is not an address', () => {
    for (const bad of ['10.1.1.256', '1::2::3', '1:2:3:4:5:6:7:8:9', 'fe80::g', '', 'host'])
      assert.throws(() => ipToBuffer(bad), TypeError, bad);
    assert.throws(() => splitCidr('10.0.0.1/33'), TypeError);
  });
});
