import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAttrs, Writer } from '../../src/netlink/message.js';
import { parseQdisc, qdiscReplace, RTM_NEWQDISC, TC_H_ROOT } from '../../src/netlink/tc.js';

/**
 * TCA_OPTIONS of `tc qdisc replace dev lo root netem delay 20ms 5ms loss 5% rate 10mbit`, as iproute2 6.1 sent
 * it on this machine (captured with `strace -e trace=sendmsg -xx`): struct tc_netem_qopt (latency 312500 ticks
 * of 64 ns, limit 1000, loss 5% of 2^32-1, gap 0, duplicate 0, jitter 78125 ticks) then TCA_NETEM_RATE (struct
 * tc_netem_rate, 1250000 bytes/s).
 */
const TC_NETEM_OPTIONS = [
  'b4c40400 e8030000 cdcccc0c 00000000 00000000 2d310100', // tc_netem_qopt
  '1400 0600 d0121300 00000000 00000000 00000000', // TCA_NETEM_RATE
]
  .join('')
  .replace(/ /g, '');

const netem = { delayNs: 20e6, jitterNs: 5e6, loss: 0.05, rate: 1_250_000, limit: 1000 };

describe('tc qdisc requests', () => {
  it('encode netem options exactly as tc 6.1 does', () => {
    const req = qdiscReplace({ index: 1, dev: 'lo', kind: 'netem', netem });
    assert.equal(req.type, RTM_NEWQDISC);
    assert.equal(req.payload.readInt32LE(4), 1);
    assert.equal(req.payload.readUInt32LE(12), TC_H_ROOT);
    const at = parseAttrs(req.payload, 20);
    assert.equal(at.get(1)?.toString(), 'netem\0');
    assert.equal(at.get(2)?.toString('hex'), TC_NETEM_OPTIONS);
  });

  it('decode tc’s netem options back to the delay, jitter, loss and rate asked for', () => {
    const tcmsg = Buffer.alloc(20);
    tcmsg.writeInt32LE(7, 4);
    tcmsg.writeUInt32LE(TC_H_ROOT, 12);
    const payload = new Writer()
      .bytes(tcmsg)
      .str(1, 'netem')
      .attr(2, Buffer.from(TC_NETEM_OPTIONS, 'hex'))
      .finish();
    const q = parseQdisc({ type: RTM_NEWQDISC, flags: 0, seq: 0, pid: 0, payload });
    assert.deepEqual([q.index, q.kind, q.parent], [7, 'netem', TC_H_ROOT]);
    assert.deepEqual({ ...q.netem, loss: Math.round(q.netem!.loss * 1e6) / 1e6 }, netem);
  });

  it('put a tbf rate above 32 bits of bytes per second in TCA_TBF_RATE64', () => {
    const rate = 2 ** 33;
    const req = qdiscReplace({ index: 3, dev: 'e0', kind: 'tbf', tbf: { rate, burst: 1e6, limit: 1e7 } });
    const opts = parseAttrs(parseAttrs(req.payload, 20).get(2)!);
    assert.equal(opts.get(1)!.readUInt32LE(8), 0xffffffff); // tc_ratespec.rate, capped
    assert.equal(opts.get(1)!.readUInt8(1), 1); // linklayer ethernet: no rate table needed
    assert.equal(opts.get(4)!.readBigUInt64LE(0), BigInt(rate));
    assert.equal(opts.get(6)!.readUInt32LE(0), 1e6);
  });
});
