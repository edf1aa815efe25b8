import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lossChain, nftCommands, parseLossChain, tbfFor } from '../../src/plan/faults.js';
import { describeOp, formatOp } from '../../src/plan/format.js';
import type { Ledger, ObservedState, Op } from '../../src/plan/types.js';
import { planUp } from '../../src/plan/up.js';
import { parseTopology } from '../../src/topology/load.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { up } from './helpers.js';
import { applyPlan } from './model.js';

const text = `name: f
topology:
  nodes: { a: {}, r: {}, sw: { kind: bridge } }
  links:
    - endpoints: ["a:e0", { node: r, interface: e1, impair: { loss: 5% } }]
      impair: { rate: 10mbit }
    - endpoints: [{ node: sw, interface: p1, impair: { loss: 2.5% } }, "host:v1"]
    - endpoints: ["r:e2", "sw:p2"]
`;
const lab = parseTopology(text);
const withDelay = parseTopology(
  text.replace('impair: { rate: 10mbit }', 'impair: { rate: 10mbit, delay: 20ms, jitter: 5ms }'),
);

const empty = (netem?: boolean): ObservedState => ({
  namespaces: [],
  nodes: {},
  ...(netem !== undefined && { netem }),
});

const faultCommands = (l: ResolvedLab, observed: ObservedState) =>
  planUp(l, observed, { hostNetns: 'sbx' })
    .ops.filter((o) => /^(qdisc|nft)-/.test(o.op))
    .map((o) => formatOp(o, { hostNetns: 'sbx' }));

/**
 * One `up` in the model, and the kernel it leaves as the faults layer observes it (qdiscs and chains read in
 * every namespace), with the ledger for the next plan.
 */
function deployed(l: ResolvedLab, start: ObservedState): { observed: ObservedState; ledger: Ledger } {
  const { after, ledger } = up(l, start);
  for (const n of Object.values(after.nodes)) {
    n.qdiscs ??= [];
    n.nftChains ??= [];
  }
  return { observed: { namespaces: after.namespaces, nodes: after.nodes, netem: start.netem }, ledger };
}

describe('planned impairments', () => {
  it('are netem when the kernel has it (or is not known), with the rate inside', () => {
    for (const netem of [undefined, true]) {
      assert.deepEqual(faultCommands(withDelay, empty(netem)), [
        'ip netns exec a tc qdisc replace dev e0 root netem delay 20ms 5ms rate 10mbit',
        'ip netns exec r tc qdisc replace dev e1 root netem delay 20ms 5ms loss 5% rate 10mbit',
        'ip netns exec sw tc qdisc replace dev p1 root netem loss 2.5%',
      ]);
    }
  });

  it('are tbf for a rate and an nftables rule for loss without netem; a bridge port’s loss is lost on arrival at its peer', () => {
    const t = 'nslab_f';
    assert.deepEqual(faultCommands(lab, empty(false)), [
      'ip netns exec a tc qdisc replace dev e0 root tbf rate 10mbit burst 12500 limit 75000',
      'ip netns exec r tc qdisc replace dev e1 root tbf rate 10mbit burst 12500 limit 75000',
      `ip netns exec r nft 'add table inet ${t}; add chain inet ${t} loss_out_500_e1 { type filter hook postrouting priority 0; }; flush chain inet ${t} loss_out_500_e1; add rule inet ${t} loss_out_500_e1 oifname "e1" numgen random mod 100 < 5 drop'`,
      `ip netns exec sbx nft 'add table inet ${t}; add chain inet ${t} loss_in_250_v1 { type filter hook prerouting priority 0; }; flush chain inet ${t} loss_in_250_v1; add rule inet ${t} loss_in_250_v1 iifname "v1" numgen random mod 10000 < 250 drop'`,
    ]);
  });

  it('of delay or jitter without netem are refused with one sentence naming sch_netem (exit 1)', () => {
    assert.throws(
      () => planUp(withDelay, empty(false), { hostNetns: null }),
      (e: Error & { exitCode: number }) =>
        e.exitCode === 1 &&
        e.message ===
          'a:e0 asks for rate 10mbit, delay 20ms ± 5ms, but this kernel has no netem qdisc (the sch_netem module), which delay and jitter need.',
    );
  });

  it('planned again against what they made give no op, with netem and without', () => {
    for (const [l, netem] of [
      [lab, false],
      [withDelay, true],
    ] as const) {
      const { observed, ledger } = deployed(l, empty(netem));
      assert.deepEqual(planUp(l, observed, { hostNetns: null, ledger }).ops, [], `netem ${netem}`);
    }
  });

  it('drift: what the file does not ask for is removed, a new loss rule comes before the old one goes', () => {
    const { observed, ledger } = deployed(lab, empty(false));
    observed.nodes.a.qdiscs = []; // cleared by hand
    observed.nodes.r.qdiscs!.push({ dev: 'e2', kind: 'tbf', qdisc: tbfFor(1e6) }); // added by hand
    observed.nodes.r.nftChains = ['loss_out_900_e1', 'loss_out_100_gone', 'partition_in'];
    const ops = planUp(lab, observed, { hostNetns: null, ledger }).ops;
    assert.deepEqual(ops.map(describeOp), [
      'impair a:e0: rate 10mbit (tbf)',
      'drop 5% of what leaves r:e1 (nftables)',
      'stop dropping 9% on r:e1 (nftables)',
      'remove the impairment qdisc of r:e2',
      'stop dropping 1% on r:gone (nftables)',
    ]);
    // Applied, the model agrees: nothing is left to do, and a partition is not the planner's business.
    const fixed = applyPlan(observed, ops);
    assert.deepEqual(planUp(lab, { ...fixed, netem: false }, { hostNetns: null, ledger }).ops, []);
    assert.deepEqual(fixed.nodes.r.nftChains, ['partition_in', 'loss_out_500_e1']);
  });

  it('leave alone what was not observed, qdiscs of other kinds, and devices that are not the lab’s', () => {
    const { observed, ledger } = deployed(lab, empty(false));
    delete observed.nodes.r.qdiscs;
    delete observed.nodes.r.nftChains;
    observed.nodes.a.qdiscs = [{ dev: 'e0', kind: 'tbf', qdisc: tbfFor(10e6) }];
    observed.nodes.a.qdiscs.push({ dev: 'eth0', kind: 'tbf', qdisc: tbfFor(1e6) });
    observed.nodes.sw.qdiscs = [{ dev: 'p2', kind: 'fq_codel' }];
    assert.deepEqual(planUp(lab, observed, { hostNetns: null, ledger }).ops, []);
  });
});

describe('fault ops', () => {
  it('name loss chains so that any device name nftables can quote comes back from the name', () => {
    for (const dev of ['e0', 'eth0.1', 'a_b', 'x@y+z', 'veth-ü']) {
      const chain = lossChain('in', dev, 1234);
      assert.match(chain, /^[A-Za-z0-9_.-]+$/);
      assert.deepEqual(parseLossChain(chain), { direction: 'in', dev, basisPoints: 1234 });
    }
    assert.equal(parseLossChain('partition_in'), undefined);
  });

  it('print as their tc and nft commands, and say what they do', () => {
    const r = { node: 'r', ns: 'lab-r' };
    const cases: [Op, string, string][] = [
      [
        { op: 'qdisc-replace', ...r, dev: 'e1', qdisc: tbfFor(1e9) },
        'ip netns exec lab-r tc qdisc replace dev e1 root tbf rate 1gbit burst 1250000 limit 7500000',
        'impair r:e1: rate 1gbit (tbf)',
      ],
      [
        {
          op: 'qdisc-replace',
          ...r,
          dev: 'e1',
          qdisc: { kind: 'netem', delayNs: 1.5e9, jitterNs: 0, loss: 0.001, rate: 0, limit: 1000 },
        },
        'ip netns exec lab-r tc qdisc replace dev e1 root netem delay 1.5s loss 0.1%',
        'impair r:e1: loss 0.1%, delay 1.5s (netem)',
      ],
      [
        { op: 'qdisc-del', ...r, dev: 'e1' },
        'ip netns exec lab-r tc qdisc del dev e1 root',
        'remove the impairment qdisc of r:e1',
      ],
      [
        { op: 'nft-chain-del', ...r, table: 'nslab_x', chain: 'partition_in' },
        "ip netns exec lab-r nft 'delete chain inet nslab_x partition_in'",
        'remove nftables chain partition_in in r',
      ],
      [
        { op: 'nft-partition', ...r, table: 'nslab_x', drop: ['10.0.0.1', '10.0.0.2', '2001:db8::1'] },
        "ip netns exec lab-r nft 'add table inet nslab_x; add chain inet nslab_x partition_in { type filter hook input priority 0; }; flush chain inet nslab_x partition_in; add rule inet nslab_x partition_in ip saddr { 10.0.0.1, 10.0.0.2 } drop; add rule inet nslab_x partition_in ip6 saddr { 2001:db8::1 } drop'",
        'partition r from 3 address(es) of other groups (nftables)',
      ],
      [
        { op: 'nft-table-del', node: 'host', ns: null, table: 'nslab_x' },
        "nft 'delete table inet nslab_x'",
        'delete nftables table inet nslab_x in host',
      ],
    ];
    for (const [op, command, description] of cases) {
      assert.equal(formatOp(op, { hostNetns: null }), command);
      assert.equal(describeOp(op), description);
    }
    assert.deepEqual(nftCommands({ op: 'nft-table-del', node: 'host', ns: null, table: 't' }), [
      'delete table inet t',
    ]);
  });
});
