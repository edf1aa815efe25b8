/**
 * Unit: ICMP checksum, echo requests and the parsing of replies and errors, on bytes built by hand (no root).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  echoRequest,
  hopsFromTtl,
  icmpErrorText,
  internetChecksum,
  parseIcmp4,
  parseIcmp6,
  sockaddr,
} from '../../src/probe/packet.js';

/** An IPv4 header (no options) for protocol ICMP, followed by `payload`. */
function ipv4(src: string, dst: string, ttl: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[8] = ttl;
  h[9] = 1;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  h.writeUInt16BE(internetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

/** A fixed IPv6 header (next header ICMPv6) followed by `payload`. */
function ipv6(src: string, dst: string, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = 58;
  h[7] = 64;
  sockaddr(src).copy(h, 8, 8, 24);
  sockaddr(dst).copy(h, 24, 8, 24);
  return Buffer.concat([h, payload]);
}

/** The echo reply a Linux host sends back for `req` (type 0 / 129, same id, seq, payload). */
function replyTo(req: Buffer, family: 4 | 6): Buffer {
  const r = Buffer.from(req);
  r[0] = family === 4 ? 0 : 129;
  r.writeUInt16BE(0, 2);
  if (family === 4) r.writeUInt16BE(internetChecksum(r), 2);
  return r;
}

function icmpError(type: number, code: number, quoted: Buffer, info = 0): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h[1] = code;
  h.writeUInt32BE(info, 4);
  const m = Buffer.concat([h, quoted]);
  m.writeUInt16BE(internetChecksum(m), 2);
  return m;
}

describe('internet checksum', () => {
  it('matches the worked example of RFC 1071', () => {
    // 0001 + f203 + f4f5 + f6f7 = 2ddf0 -> ddf2 after the end-around carry; checksum = ~ddf2 = 220d
    assert.equal(internetChecksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
  });

  it('pads an odd length with a zero byte', () => {
    assert.equal(internetChecksum(Uint8Array.from([0x12, 0x34, 0x56])), ~(0x1234 + 0x5600) & 0xffff);
  });

  it('makes a message that carries it sum to zero', () => {
    const req = echoRequest(4, 0xbeef, 7, 0xdeadbeef);
    assert.equal(internetChecksum(req), 0);
  });
});

describe('echo requests', () => {
  it('builds ICMP type 8 with id, sequence, marker and token, checksummed', () => {
    const req = echoRequest(4, 0x1234, 0xfffe, 42);
    assert.equal(req[0], 8);
    assert.equal(req[1], 0);
    assert.equal(req.readUInt16BE(4), 0x1234);
    assert.equal(req.readUInt16BE(6), 0xfffe);
    assert.equal(req.subarray(8, 12).toString('latin1'), 'nslb');
    assert.equal(req.readUInt32BE(12), 42);
    assert.notEqual(req.readUInt16BE(2), 0);
  });

  it('builds ICMPv6 type 128 and leaves the checksum to the kernel', () => {
    const req = echoRequest(6, 1, 2, 3);
    assert.equal(req[0], 128);
    assert.equal(req.readUInt16BE(2), 0);
  });

  it('wraps id and sequence to 16 bits', () => {
    const req = echoRequest(4, 0x10005, 0x10006, 0);
    assert.equal(req.readUInt16BE(4), 5);
    assert.equal(req.readUInt16BE(6), 6);
  });
});

describe('parsing IPv4', () => {
  const req = echoRequest(4, 0x4242, 9, 0xcafe);

  it('reads an echo reply: source, ttl, id, sequence, token', () => {
    const m = parseIcmp4(ipv4('10.0.2.2', '10.0.1.2', 63, replyTo(req, 4)));
    assert.deepEqual(m, {
      kind: 'reply',
      family: 4,
      src: '10.0.2.2',
      id: 0x4242,
      seq: 9,
      token: 0xcafe,
      ttl: 63,
    });
  });

  it('reads a Destination Net Unreachable quoting our request', () => {
    const quoted = ipv4('10.0.1.2', '10.9.9.9', 63, req);
    const m = parseIcmp4(ipv4('10.0.1.1', '10.0.1.2', 64, icmpError(3, 0, quoted)));
    assert.deepEqual(m, {
      kind: 'error',
      family: 4,
      src: '10.0.1.1',
      type: 3,
      code: 0,
      reason: 'Destination Net Unreachable',
      dst: '10.9.9.9',
      id: 0x4242,
      seq: 9,
      token: 0xcafe,
    });
  });

  it('reads a time exceeded whose quote stops after 8 bytes of ICMP (no token)', () => {
    const quoted = ipv4('10.0.1.2', '10.0.3.3', 1, req.subarray(0, 8));
    const m = parseIcmp4(ipv4('10.0.2.1', '10.0.1.2', 64, icmpError(11, 0, quoted)));
    assert.equal(m?.kind, 'error');
    assert.equal(m?.kind === 'error' && m.reason, 'Time to live exceeded');
    assert.equal(m?.token, undefined);
    assert.equal(m?.seq, 9);
  });

  it('ignores echo requests, redirects, errors about other protocols and truncated packets', () => {
    assert.equal(parseIcmp4(ipv4('10.0.0.1', '10.0.0.2', 64, req)), undefined);
    const quoted = ipv4('10.0.1.2', '10.0.2.2', 64, req);
    assert.equal(parseIcmp4(ipv4('10.0.1.1', '10.0.1.2', 64, icmpError(5, 1, quoted))), undefined);
    const udp = Buffer.from(quoted);
    udp[9] = 17;
    assert.equal(parseIcmp4(ipv4('10.0.1.1', '10.0.1.2', 64, icmpError(3, 3, udp))), undefined);
    assert.equal(parseIcmp4(ipv4('10.0.1.1', '10.0.1.2', 64, Buffer.from([0, 0, 0]))), undefined);
    assert.equal(parseIcmp4(Buffer.alloc(10)), undefined);
  });

  it('has no token for a reply whose payload is not ours', () => {
    const foreign = replyTo(req, 4);
    foreign.write('xxxx', 8, 'latin1');
    assert.equal(parseIcmp4(ipv4('10.0.2.2', '10.0.1.2', 64, foreign))?.token, undefined);
  });

  it('skips IP options in both the outer and the quoted header', () => {
    const withOptions = (p: Buffer) => {
      const b = Buffer.concat([p.subarray(0, 20), Buffer.alloc(4, 1), p.subarray(20)]);
      b[0] = 0x46;
      return b;
    };
    const quoted = withOptions(ipv4('10.0.1.2', '10.0.7.7', 64, req));
    const m = parseIcmp4(withOptions(ipv4('10.0.1.1', '10.0.1.2', 64, icmpError(3, 1, quoted))));
    assert.equal(m?.kind === 'error' && m.reason, 'Destination Host Unreachable');
    assert.equal(m?.kind === 'error' && m.dst, '10.0.7.7');
  });
});

describe('parsing IPv6', () => {
  const req = echoRequest(6, 0x0101, 0x0202, 77);

  it('reads an echo reply with the hop limit from the control message', () => {
    assert.deepEqual(parseIcmp6(replyTo(req, 6), 'fd00::2', 63), {
      kind: 'reply',
      family: 6,
      src: 'fd00::2',
      id: 0x0101,
      seq: 0x0202,
      token: 77,
      ttl: 63,
    });
  });

  it('reads a no-route error quoting our request, with ping -6 wording', () => {
    const m = parseIcmp6(icmpError(1, 0, ipv6('fd00:1::2', 'fd00:9::9', req)), 'fd00:1::1');
    assert.deepEqual(m, {
      kind: 'error',
      family: 6,
      src: 'fd00:1::1',
      type: 1,
      code: 0,
      reason: 'Destination unreachable: No route',
      dst: 'fd00:9::9',
      id: 0x0101,
      seq: 0x0202,
      token: 77,
    });
  });

  it('ignores echo requests, neighbour discovery and errors quoting something else', () => {
    assert.equal(parseIcmp6(req, 'fd00::1'), undefined);
    assert.equal(parseIcmp6(Buffer.from([135, 0, 0, 0, 0, 0, 0, 0]), 'fe80::1'), undefined);
    const udp = ipv6('fd00:1::2', 'fd00:9::9', req);
    udp[6] = 17;
    assert.equal(parseIcmp6(icmpError(1, 3, udp), 'fd00:1::1'), undefined);
  });
});

describe('what ping prints', () => {
  it('uses iputils wording for IPv4 errors', () => {
    assert.equal(icmpErrorText(4, 3, 0), 'Destination Net Unreachable');
    assert.equal(icmpErrorText(4, 3, 1), 'Destination Host Unreachable');
    assert.equal(icmpErrorText(4, 3, 2), 'Destination Protocol Unreachable');
    assert.equal(icmpErrorText(4, 3, 3), 'Destination Port Unreachable');
    assert.equal(icmpErrorText(4, 3, 4, 1400), 'Frag needed and DF set (mtu = 1400)');
    assert.equal(icmpErrorText(4, 3, 13), 'Packet filtered');
    assert.equal(icmpErrorText(4, 11, 0), 'Time to live exceeded');
    assert.equal(icmpErrorText(4, 5, 0), undefined);
  });

  it('uses iputils wording for IPv6 errors', () => {
    assert.equal(icmpErrorText(6, 1, 0), 'Destination unreachable: No route');
    assert.equal(icmpErrorText(6, 1, 1), 'Destination unreachable: Administratively prohibited');
    assert.equal(icmpErrorText(6, 1, 3), 'Destination unreachable: Address unreachable');
    assert.equal(icmpErrorText(6, 3, 0), 'Time exceeded: Hop limit');
    assert.equal(icmpErrorText(6, 2, 0, 1280), 'Packet too big: mtu=1280');
    assert.equal(icmpErrorText(6, 135, 0), undefined);
  });
});

describe('hops from the reply ttl', () => {
  it('takes the smallest usual initial ttl at or above what arrived', () => {
    assert.equal(hopsFromTtl(64), 0);
    assert.equal(hopsFromTtl(63), 1);
    assert.equal(hopsFromTtl(61), 3);
    assert.equal(hopsFromTtl(128), 0);
    assert.equal(hopsFromTtl(120), 8);
    assert.equal(hopsFromTtl(65), 63);
    assert.equal(hopsFromTtl(255), 0);
    assert.equal(hopsFromTtl(250), 5);
  });
});

describe('sockaddr', () => {
  it('lays out sockaddr_in and sockaddr_in6 as sendto(2) takes them', () => {
    assert.deepEqual([...sockaddr('10.1.2.3')], [2, 0, 0, 0, 10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
    const six = sockaddr('fd00::1');
    assert.equal(six.length, 28);
    assert.equal(six.readUInt16LE(0), 10);
    assert.equal(six.readUInt16BE(8), 0xfd00);
    assert.equal(six[23], 1);
  });
});
