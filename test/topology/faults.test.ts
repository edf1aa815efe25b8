import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopologyError } from '../../src/topology/errors.js';
import { describeImpairment, parseImpairment } from '../../src/topology/faults.js';
import { parseTopology } from '../../src/topology/load.js';
import {
  formatDuration,
  formatLoss,
  formatRate,
  parseDuration,
  parseLoss,
  parseRate,
} from '../../src/topology/units.js';

const lab = (extra: string, link = '') => `name: f
topology:
  nodes: { a: {}, r: {}, b: {} }
  links:
    - endpoints: ["a:e0", { node: r, interface: e1${link} }]
    - endpoints: ["r:e2", "b:e0"]
${extra}`;

function problems(text: string): string[] {
  try {
    parseTopology(text, 'f.yml');
  } catch (e) {
    if (e instanceof TopologyError) return e.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('fault units', () => {
  it('reads rates in tc’s units (bits, bytes with bps, SI and IEC prefixes)', () => {
    const v = (t: string | number) => (parseRate(t) as { value: number }).value;
    assert.equal(v('10mbit'), 10e6);
    assert.equal(v('10Mbit'), 10e6);
    assert.equal(v('1.5gbit'), 1.5e9);
    assert.equal(v('500kbit'), 500e3);
    assert.equal(v('1kibit'), 1024);
    assert.equal(v('2mbps'), 16e6);
    assert.equal(v(1e6), 1e6);
    for (const bad of ['10', '10mb', 'fast', '1bit', '20tbit', '-1mbit'])
      assert.ok('problem' in parseRate(bad), bad);
  });

  it('reads durations with a unit (0 alone needs none) and loss as a percentage with two decimals at most', () => {
    const d = (t: string | number) => (parseDuration(t, 60e6) as { value: number }).value;
    assert.deepEqual(
      [d('20ms'), d('1.5s'), d('800us'), d('1m'), d('0'), d(0)],
      [20e3, 1.5e6, 800, 60e6, 0, 0],
    );
    for (const bad of ['20', '2h', '61s', 5]) assert.ok('problem' in parseDuration(bad, 60e6), String(bad));
    const l = (t: string | number) => (parseLoss(t) as { value: number }).value;
    assert.deepEqual([l('5%'), l('0.25%'), l('100%'), l(0.05)], [0.05, 0.0025, 1, 0.05]);
    for (const bad of ['5', '101%', '0.125%', 2]) assert.ok('problem' in parseLoss(bad), String(bad));
  });

  it('writes rates, durations and losses back the way tc prints them', () => {
    assert.deepEqual(
      [formatRate(10e6), formatRate(1.5e9), formatRate(1500e3), formatRate(12), formatRate(1024)],
      ['10mbit', '1.5gbit', '1.5mbit', '12bit', '1.024kbit'],
    );
    assert.deepEqual(
      [formatDuration(20e3), formatDuration(1.5e6), formatDuration(800)],
      ['20ms', '1.5s', '800us'],
    );
    assert.deepEqual([formatLoss(0.05), formatLoss(0.0025)], ['5%', '0.25%']);
    assert.equal(
      describeImpairment({ rate: 10e6, loss: 0.05, delayUs: 20e3, jitterUs: 5e3 }),
      'rate 10mbit, loss 5%, delay 20ms ± 5ms',
    );
  });

  it('takes numbers in code as bit/s, a fraction and milliseconds; in a file a loss must be a percentage', () => {
    assert.deepEqual(parseImpairment({ rate: 1e6, loss: 0.1, delay: 20, jitter: 5 }, 'api'), {
      impair: { rate: 1e6, loss: 0.1, delayUs: 20e3, jitterUs: 5e3 },
    });
    assert.deepEqual(parseImpairment({ loss: 5 }, 'file'), {
      problems: [{ key: 'loss', message: 'must be a percentage like 5%, not 5' }],
    });
    assert.deepEqual(parseImpairment({ jitter: '5ms' }, 'api'), {
      problems: [{ key: 'jitter', message: 'needs a delay to vary around' }],
    });
  });
});

describe('impair: in a topology file', () => {
  it('applies a link’s impairment to both ends, an endpoint’s over it key by key', () => {
    const l = parseTopology(
      lab('', ', impair: { loss: 5% }').replace(
        '    - endpoints: ["r:e2", "b:e0"]',
        '      impair: { rate: 10mbit, delay: 20ms }\n    - endpoints: ["r:e2", "b:e0"]',
      ),
    );
    const iface = (n: string, i: string) =>
      l.nodes.find((x) => x.name === n)!.interfaces.find((x) => x.name === i)!;
    assert.deepEqual(iface('a', 'e0').impair, { rate: 10e6, delayUs: 20e3 });
    assert.deepEqual(iface('r', 'e1').impair, { rate: 10e6, delayUs: 20e3, loss: 0.05 });
    assert.equal(iface('r', 'e2').impair, undefined);
  });

  it('reports bad units at their place, with unknown keys in the same run', () => {
    assert.deepEqual(problems(lab('', ', impair: { rate: 10mb, jitter: 5ms, latency: 1ms }')), [
      "5:69: 'rate' in the impairment of endpoint 2 of link 1 must be a rate like 10mbit, 500kbit or 1gbit, not '10mb'",
      "5:83: 'jitter' in the impairment of endpoint 2 of link 1 needs a delay to vary around",
      "5:88: unknown key 'latency' in 'impair' in endpoint 2 of link 1",
    ]);
    assert.deepEqual(problems(lab('', ', impair: { rate: 10mb, jitter: 5ms }')), [
      "5:69: 'rate' in the impairment of endpoint 2 of link 1 must be a rate like 10mbit, 500kbit or 1gbit, not '10mb'",
      "5:83: 'jitter' in the impairment of endpoint 2 of link 1 needs a delay to vary around",
    ]);
  });
});

describe('timeline: in a topology file', () => {
  it('resolves each kind of event, with its time and what undoes it', () => {
    const l = parseTopology(
      lab(`timeline:
  - { at: 2s, link: r:e1, state: down, for: 1s }
  - { at: 1s, partition: [[a, b], [r]], for: 3s }
  - { at: 0s, impair: a:e0, loss: 10%, rate: 1mbit }
  - { at: 500ms, impair: a:e0, clear: true }
  - { at: 5s, heal: true }
  - { at: 4s, stop: r/ospfd }
  - { at: 6s, start: r/ospfd }
`),
    );
    assert.deepEqual(
      l.timeline!.map((e) => [e.atMs, e.action, e.forMs, e.pos?.line]),
      [
        [2000, { kind: 'link', node: 'r', interface: 'e1', up: false }, 1000, 8],
        [1000, { kind: 'partition', groups: [['a', 'b'], ['r']] }, 3000, 9],
        [0, { kind: 'impair', node: 'a', interface: 'e0', impair: { rate: 1e6, loss: 0.1 } }, undefined, 10],
        [500, { kind: 'impair', node: 'a', interface: 'e0', impair: null }, undefined, 11],
        [5000, { kind: 'heal' }, undefined, 12],
        [4000, { kind: 'stop', node: 'r', process: 'ospfd' }, undefined, 13],
        [6000, { kind: 'start', node: 'r', process: 'ospfd' }, undefined, 14],
      ],
    );
  });

  it('reports every wrong event at its place', () => {
    assert.deepEqual(
      problems(
        lab(`timeline:
  - { at: 2, link: r:e9, state: down }
  - { at: 1s, partition: [[a], [a, x]] }
  - { at: 1s, link: a:e0 }
  - { at: 1s, heal: true, for: 1s }
  - { at: 1s, stop: ospfd }
  - { at: 1s }
  - { at: 1s, impair: a:e0, clear: true, loss: 5% }
  - { at: 1s, impair: a:e0 }
`),
      ),
      [
        "8:11: 'at' of timeline event 1 must be a duration like 20ms, 1.5s or 800us, not '2': give it a unit",
        "8:20: 'link' of timeline event 1 names no interface: node 'r' has no 'e9' (its interfaces: e1, e2)",
        "9:26: the partition in timeline event 2 puts 'a' in groups 1 and 2",
        "9:26: the partition in timeline event 2 names 'x', which is not a node of the lab",
        "10:21: timeline event 3 sets link a:e0 but gives no 'state' (up or down)",
        "11:27: 'for' in timeline event 4: only a link, partition or impair event can be undone after a while",
        "12:21: 'stop' of timeline event 5 must name a process as 'node/name' (like 'r2/ospfd'), not 'ospfd'",
        '13:5: timeline event 6 does nothing: give it one of link, partition, heal, impair, stop, start',
        '14:29: timeline event 7 both clears a:e0 and sets loss: choose one',
        '15:23: timeline event 8 impairs a:e0 without saying how: give rate, loss, delay or jitter, or clear: true',
      ],
    );
  });
});
