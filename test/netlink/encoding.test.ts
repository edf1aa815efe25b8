import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addrAdd, parseAddr } from '../../src/netlink/addr.js';
import { bridgeAdd, IFF_UP, linkDel, linkSet, parseLink, vethAdd } from '../../src/netlink/link.js';
import {
  attrString,
  frame,
  NLA_F_NESTED,
  NLM_F_ACK_TLVS,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  parseAttrs,
  parseMessages,
  Writer,
} from '../../src/netlink/message.js';
import { neighAdd, parseNeigh } from '../../src/netlink/neigh.js';
import { parseRoute, RTPROT_BOOT, routeAdd, routeDel } from '../../src/netlink/route.js';
import { NetlinkError, parseError } from '../../src/netlink/socket.js';

describe('attribute encoding', () => {
  it('pads every attribute to 4 bytes and records its unpadded length', () => {
    const b = new Writer().str(3, 'veth11').u8(7, 1).finish();
    // "veth11\0" = 7 bytes + 4 header = 11, padded to 12; then u8: 5 bytes padded to 8
    assert.equal(b.length, 20);
    assert.equal(b.readUInt16LE(0), 11);
    assert.equal(b.readUInt16LE(12), 5);
    const at = parseAttrs(b);
    assert.equal(attrString(at.get(3)), 'veth11');
    assert.equal(at.get(7)?.[0], 1);
  });

  it('marks nests with NLA_F_NESTED and covers their children', () => {
    const b = new Writer().nest(18, (w) => w.str(1, 'veth')).finish();
    assert.equal(b.readUInt16LE(2), 18 | NLA_F_NESTED);
    assert.equal(b.readUInt16LE(0), b.length);
    assert.equal(attrString(parseAttrs(parseAttrs(b).get(18)!).get(1)), 'veth');
  });

  it('frames a request with nlmsghdr and reads it back', () => {
    const req = linkDel({ name: 'veth11' });
    const f = frame(req, 42);
    const [m] = parseMessages(f);
    assert.equal(m.type, 17);
    assert.equal(m.seq, 42);
    assert.equal(m.flags & NLM_F_REQUEST, NLM_F_REQUEST);
    assert.equal(attrString(parseAttrs(m.payload, 16).get(3)), 'veth11');
  });
});

describe('link requests', () => {
  it('veth with the peer in another namespace: IFLA_LINKINFO/INFO_DATA/VETH_INFO_PEER carries the peer', () => {
    const r = vethAdd({ name: 'veth11', index: 5, up: true, peer: { name: 'veth12', index: 2, nsFd: 33 } });
    assert.equal(r.flags, NLM_F_CREATE | NLM_F_EXCL);
    assert.equal(r.payload.readInt32LE(4), 5);
    assert.equal(r.payload.readUInt32LE(8) & IFF_UP, IFF_UP);
    const at = parseAttrs(r.payload, 16);
    assert.equal(attrString(at.get(3)), 'veth11');
    const info = parseAttrs(at.get(18)!);
    assert.equal(attrString(info.get(1)), 'veth');
    const peer = parseAttrs(parseAttrs(info.get(2)!).get(1)!, 0);
    // the peer nest starts with its own ifinfomsg (16 bytes), then its attributes
    const peerBuf = parseAttrs(info.get(2)!).get(1)!;
    assert.equal(peerBuf.readInt32LE(4), 2);
    const peerAttrs = parseAttrs(peerBuf, 16);
    assert.equal(attrString(peerAttrs.get(3)), 'veth12');
    assert.equal(peerAttrs.get(28)!.readUInt32LE(0), 33);
    assert.ok(peer);
  });

  it('link set by name changes only IFF_UP and writes mtu, mac, alias, master', () => {
    const r = linkSet(
      { name: 'eth0' },
      { up: false, mtu: 1400, mac: '02:00:00:00:00:01', alias: 'nslab:x', masterIndex: 7 },
    );
    assert.equal(r.payload.readUInt32LE(8), 0);
    assert.equal(r.payload.readUInt32LE(12), IFF_UP);
    const at = parseAttrs(r.payload, 16);
    assert.equal(at.get(4)!.readUInt32LE(0), 1400);
    assert.deepEqual([...at.get(1)!], [2, 0, 0, 0, 0, 1]);
    assert.equal(attrString(at.get(20)), 'nslab:x');
    assert.equal(at.get(10)!.readUInt32LE(0), 7);
  });

  it('decodes an RTM_NEWLINK message', () => {
    const r = bridgeAdd({ name: 'br0', index: 4, up: true, mtu: 1500 });
    const msg = parseMessages(frame(r, 1))[0];
    const l = parseLink(msg);
    assert.equal(l.index, 4);
    assert.equal(l.name, 'br0');
    assert.equal(l.kind, 'bridge');
    assert.equal(l.mtu, 1500);
    assert.equal(l.up, true);
  });
});

describe('address, route and neighbour requests', () => {
  it('IPv4 address: ifaddrmsg then IFA_LOCAL and IFA_ADDRESS', () => {
    const r = addrAdd({ index: 3, cidr: '10.1.10.2/24', dev: 'veth12' });
    assert.equal(r.payload[0], 2);
    assert.equal(r.payload[1], 24);
    assert.equal(r.payload.readUInt32LE(4), 3);
    const a = parseAddr(parseMessages(frame(r, 1))[0]);
    assert.equal(a.cidr, '10.1.10.2/24');
    assert.equal(r.object, '10.1.10.2/24 dev veth12');
  });

  it('IPv6 address is added without DAD', () => {
    const r = addrAdd({ index: 3, cidr: '2001:db8::2/64' });
    const at = parseAttrs(r.payload, 8);
    assert.equal(at.get(8)!.readUInt32LE(0) & 0x02, 0x02);
    assert.equal(parseAddr(parseMessages(frame(r, 1))[0]).cidr, '2001:db8::2/64');
  });

  it('route add via a gateway: universe scope, boot protocol, main table; decodes back', () => {
    const r = routeAdd({ dst: '10.1.20.7/24', via: '10.1.10.1', oif: 3, metric: 10 });
    assert.equal(r.payload[4], 254);
    assert.equal(r.payload[5], RTPROT_BOOT);
    assert.equal(r.payload[6], 0);
    const info = parseRoute(parseMessages(frame(r, 1))[0]);
    assert.deepEqual(
      { dst: info.dst, via: info.via, oif: info.oif, metric: info.metric, table: info.table },
      { dst: '10.1.20.0/24', via: '10.1.10.1', oif: 3, metric: 10, table: 254 },
    );
  });

  it('default route and large table ids use RTA_TABLE', () => {
    const r = routeAdd({ dst: '::/0', via: 'fe80::1', oif: 2, table: 1000 });
    const info = parseRoute(parseMessages(frame(r, 1))[0]);
    assert.equal(info.dst, '::/0');
    assert.equal(info.table, 1000);
    assert.equal(routeDel({ dst: '0.0.0.0/0' }).payload[6], 255);
  });

  it('neighbour entries round-trip', () => {
    const n = parseNeigh(
      parseMessages(frame(neighAdd({ index: 2, address: '10.0.0.1', mac: '02:aa:bb:cc:dd:ee' }), 1))[0],
    );
    assert.deepEqual(n, {
      index: 2,
      family: 4,
      address: '10.0.0.1',
      mac: '02:aa:bb:cc:dd:ee',
      state: 'PERMANENT',
    });
  });
});

describe('errors', () => {
  it('reads errno and the extended-ack message from NLMSG_ERROR', () => {
    const tlv = new Writer().str(1, 'ipv4: Address already assigned').finish();
    const payload = Buffer.concat([Buffer.from([0xef, 0xff, 0xff, 0xff]), Buffer.alloc(16), tlv]); // -17
    const e = parseError({ type: 2, flags: NLM_F_ACK_TLVS, seq: 1, pid: 0, payload });
    assert.deepEqual(e, { errno: 17, extack: 'ipv4: Address already assigned' });
    const err = new NetlinkError(e.errno, 'add address', '10.1.10.1/24 dev veth11', e.extack);
    assert.equal(err.message, 'add address 10.1.10.1/24 dev veth11: EEXIST: ipv4: Address already assigned');
    assert.equal(err.code, 'EEXIST');
  });

  it('falls back to the system message without extended ack', () => {
    const err = new NetlinkError(19, 'set link', 'eth9');
    assert.match(err.message, /^set link eth9: ENODEV: /);
  });
});
