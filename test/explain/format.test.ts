import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explain, formatExplanation, formatPath } from '../../src/explain/index.js';
import { LabBuilder } from '../helpers/lab.js';
import { chain, tutorial } from './fixtures.js';

describe('formatExplanation', () => {
  it('working tutorial: verdict line, both paths, the routes used', () => {
    assert.equal(
      formatExplanation(explain(tutorial('working'), 'ns0', 'ns1')),
      [
        'ns0 -> ns1 (10.1.20.2), IPv4 from 10.1.10.2: reachable, reply ttl=63',
        '  request: ns0 (veth12) -> host (veth11 -> veth21) -> ns1 (veth22)',
        '  reply:   ns1 (veth22) -> host (veth21 -> veth11) -> ns0 (veth12)',
        '  request crosses host; reply crosses host',
        '  routes used:',
        '    ns0   10.1.20.0/24 via 10.1.10.1 dev veth12',
        '    host  10.1.20.0/24 dev veth21 proto kernel scope link src 10.1.20.1',
        '    ns1   10.1.10.0/24 via 10.1.20.1 dev veth22',
        '    host  10.1.10.0/24 dev veth11 proto kernel scope link src 10.1.10.1',
      ].join('\n'),
    );
  });

  it('bare tutorial: where it stops, why, the fix and every fix needed', () => {
    assert.equal(
      formatExplanation(explain(tutorial('bare'), 'ns0', 'ns1')),
      [
        'ns0 -> ns1 (10.1.20.2), IPv4: unreachable, at ns0: Network is unreachable',
        '  request: ns0 ✗',
        "  ns0 has no route to 10.1.20.2 (10.1.20.0/24): the kernel answers 'Network is unreachable'.",
        '  fix: Add to ns0: `dst: 10.1.20.0/24, via: 10.1.10.1`',
        '  to make it work:',
        '    1. Add to ns0: `dst: 10.1.20.0/24, via: 10.1.10.1`',
        '    2. Set on host: `sysctls: {net.ipv4.ip_forward: 1}`',
        '    3. Add to ns1: `dst: 10.1.10.0/24, via: 10.1.20.1`',
      ].join('\n'),
    );
  });

  it('has no colour codes, marks a failed reply and prints notes', () => {
    const lab = new LabBuilder()
      .link('X:eth0', ['10.0.0.1/16'], 'A:eth0', ['10.0.5.5/16'])
      .link('X:eth1', ['10.0.1.1/24'], 'B:eth0', ['10.0.1.2/24'])
      .build();
    const text = formatExplanation(explain(lab, 'X', 'B'));
    assert.doesNotMatch(text, /\x1b\[/);
    assert.match(text, /\n {2}note: X's subnets overlap/);
    const t = tutorial('working');
    t.nodes.find((n) => n.name === 'ns1')!.routes = [];
    assert.match(formatExplanation(explain(t, 'ns0', 'ns1')), /\n {2}reply: {3}ns1 ✗\n/);
  });

  it('bridges appear between hops; long paths are shortened', () => {
    const b = new LabBuilder().node('sw', 'bridge');
    b.link('h1:eth0', ['10.0.0.1/24'], 'sw:p1').link('h2:eth0', ['10.0.0.2/24'], 'sw:p2');
    assert.equal(formatPath(explain(b.build(), 'h1', 'h2').forward), 'h1 (eth0) -> [sw] -> h2 (eth0)');
    const long = formatExplanation(explain(chain(250, '255'), 'n0', 'n251'));
    assert.match(long, /r5 \(left -> right\) -> \.\.\. 240 more \.\.\. -> r246 \(left -> right\)/);
    assert.ok(long.split('\n').length < 25);
  });
});
