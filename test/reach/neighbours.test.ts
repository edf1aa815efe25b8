import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { neighbourEntriesNeeded, neighbourWarnings } from '../../src/reach/neighbours.js';
import { lan } from '../explain/fixtures.js';
import { LabBuilder } from '../helpers/lab.js';

describe('neighbour entries a lab needs', () => {
  it('a LAN of k addresses needs k(k-1), a point-to-point link 2, per family', () => {
    assert.deepEqual(neighbourEntriesNeeded(lan(4).build()), { 4: 12, 6: 0 });
    const b = new LabBuilder()
      .link('a:e0', ['10.0.0.1/24', 'fd00::1/64'], 'b:e0', ['10.0.0.2/24', 'fd00::2/64'])
      .node('sw', 'bridge')
      .bridgeAddr('sw', '10.0.1.1/24');
    for (let i = 2; i <= 4; i++) b.link(`h${i}:e0`, [`10.0.1.${i}/24`], `sw:p${i}`);
    // the LAN: three hosts and the bridge's own address, 4 x 3
    assert.deepEqual(neighbourEntriesNeeded(b.build()), { 4: 2 + 12, 6: 2 });
  });

  it('warns past the cap, naming the sysctl to raise on the host and a value that fits', () => {
    const lab = lan(40).build();
    assert.equal(neighbourEntriesNeeded(lab)[4], 1560);
    const [w, ...more] = neighbourWarnings(lab, (f) => (f === 4 ? 1024 : undefined));
    assert.deepEqual(more, []);
    assert.match(w.message, /needs up to 1560 IPv4 neighbour \(ARP\) entries/);
    assert.match(w.message, /one table of at most 1024 \(net\.ipv4\.neigh\.default\.gc_thresh3\)/);
    assert.match(
      w.message,
      /sysctl -w net\.ipv4\.neigh\.default\.gc_thresh3=4096 net\.ipv4\.neigh\.default\.gc_thresh2=2048/,
    );
    assert.deepEqual(
      neighbourWarnings(lab, () => 2048),
      [],
    );
    assert.deepEqual(
      neighbourWarnings(lab, () => undefined),
      [],
    );
  });
});
