import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import {
  addressToBigInt,
  bigIntToAddress,
  canonicalAddress,
  canonicalPrefix,
  isAddress,
  isDefaultPrefix,
  parseCidr,
  prefixContains,
  prefixesOverlap,
  prefixRange,
} from '../../src/topology/ip.js';

/** What the forms topology files admit mean by ipaddr.js (four-part decimal IPv4, IPv6 without a zone). */
function reference(text: string): { valid: boolean; canonical?: string } {
  const valid =
    ipaddr.isValid(text) &&
    !text.includes('%') &&
    (ipaddr.IPv4.isValidFourPartDecimal(text) || text.includes(':'));
  return valid ? { valid, canonical: ipaddr.parse(text).toString() } : { valid };
}

describe('addresses', () => {
  it('reads the forms the schema admits, and refuses the others ipaddr.js also reads', () => {
    for (const ok of [
      '10.1.10.1',
      '0.0.0.0',
      '255.255.255.255',
      '::',
      '::1',
      '2001:DB8::1',
      '1::',
      '::ffff:10.0.0.1',
    ]) {
      assert.ok(isAddress(ok), ok);
    }
    for (const bad of [
      '010.1.1.1',
      '10.1.1',
      '0x0a.1.1.1',
      '10.1.1.256',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      'fe80::1%eth0',
      '',
    ]) {
      assert.ok(!isAddress(bad), bad);
    }
    assert.equal(canonicalAddress('2001:0DB8:0:0::1'), '2001:db8::1');
    assert.equal(canonicalAddress('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  });

  it('agrees with ipaddr.js on 100,000 random texts', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const chars = '0123456789abcdefABCDEF:.:::...%/';
    for (let i = 0; i < 100_000; i++) {
      let text: string;
      const kind = rnd(3);
      if (kind === 0) {
        text = Array.from({ length: rnd(20) }, () => chars[rnd(chars.length)]).join('');
      } else if (kind === 1) {
        const groups = Array.from({ length: 8 }, () => (rnd(3) ? rnd(65536).toString(16) : '0'));
        text = groups.join(':');
        if (rnd(2)) text = text.replace(/(^|:)0(:0)+(:|$)/, '::');
        if (rnd(5) === 0)
          text = `${text.split(':').slice(0, 6).join(':')}:${[rnd(256), rnd(256), rnd(256), rnd(256)].join('.')}`;
      } else text = [rnd(300), rnd(256), rnd(256), rnd(256)].join('.');
      const want = reference(text);
      assert.equal(isAddress(text), want.valid, text);
      if (!want.valid) continue;
      assert.equal(canonicalAddress(text), want.canonical, text);
      const len = text.includes(':') ? rnd(129) : rnd(33);
      const lib = text.includes(':') ? ipaddr.IPv6 : ipaddr.IPv4;
      assert.equal(
        parseCidr(`${text}/${len}`)?.network,
        `${lib.networkAddressFromCIDR(`${text}/${len}`)}/${len}`,
      );
    }
  });

  it('prefixes: networks, containment, overlap, ranges, and the two defaults', () => {
    assert.deepEqual(parseCidr('10.1.10.7/24'), {
      family: 4,
      address: '10.1.10.7',
      prefixLen: 24,
      network: '10.1.10.0/24',
    });
    assert.equal(parseCidr('10.0.0.1/33'), undefined);
    assert.equal(parseCidr('10.0.0.1/+1'), undefined);
    assert.equal(canonicalPrefix('default', 6), '::/0');
    assert.equal(canonicalPrefix('2001:db8::5/32'), '2001:db8::/32');
    assert.ok(isDefaultPrefix('0.0.0.0/0') && isDefaultPrefix('::/0') && !isDefaultPrefix('10.0.0.0/8'));
    assert.ok(prefixContains('10.0.0.0/24', '10.0.0.255') && !prefixContains('10.0.0.0/24', '10.0.1.0'));
    assert.ok(!prefixContains('10.0.0.0/24', '::1'));
    assert.ok(
      prefixesOverlap('10.0.0.0/24', '10.0.0.128/25') && !prefixesOverlap('10.0.0.0/25', '10.0.0.128/25'),
    );
    assert.deepEqual(prefixRange('10.0.0.5/30'), { family: 4, first: 0x0a000004n, last: 0x0a000007n });
    assert.equal(bigIntToAddress(addressToBigInt('fd00::1') + 1n, 6), 'fd00::2');
  });

  it('a parsed result cannot be changed through what a caller is given', () => {
    parseCidr('10.9.9.9/24')!.network = 'changed';
    assert.equal(parseCidr('10.9.9.9/24')!.network, '10.9.9.0/24');
  });
});
