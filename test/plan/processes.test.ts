/**
 * The planner's side of named processes: `up` starts each declared process once, in file order, after the rest;
 * a second `up` changes nothing, starts what has exited, restarts what the file declares otherwise (its entry, or
 * its node's files), and stops what it no longer declares. The kernel model keeps which processes run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeOp, formatOp } from '../../src/plan/format.js';
import { ledgerAfter } from '../../src/plan/ledger.js';
import type { Op, ProcessRecord } from '../../src/plan/types.js';
import { planUp } from '../../src/plan/up.js';
import { bridgeLab, freshMachine } from './fixtures.js';
import { commands, edited, NOW, node, up } from './helpers.js';

const lab = edited(bridgeLab(), (l) => {
  node(l, 'h1').exec = ['echo setup'];
  node(l, 'h1').processes = [
    {
      name: 'zebra',
      command: '/usr/lib/frr/zebra -u frr',
      ready: { exec: 'test -S /var/run/frr/zserv.api' },
    },
    { name: 'ospfd', command: '/usr/lib/frr/ospfd -u frr' },
  ];
  node(l, 'h1').private = ['/var/run/frr'];
  node(l, 'h1').files = {};
  node(l, 'h2').processes = [{ name: 'redis', command: 'redis-server', ready: { tcp: 6379 }, timeoutS: 5 }];
});

const procOps = (ops: Op[]) => ops.filter((o) => o.op === 'process-start' || o.op === 'process-stop');

describe('named processes across runs', () => {
  it('starts every declared process once, in file order, after the exec: entries', () => {
    const first = up(lab, freshMachine(false));
    const ops = first.plan.ops;
    const starts = procOps(ops);
    assert.deepEqual(commands({ lab: lab.name, ops: starts }), [
      "ip netns exec lan-h1 sh -c '/usr/lib/frr/zebra -u frr' &",
      "ip netns exec lan-h1 sh -c '/usr/lib/frr/ospfd -u frr' &",
      'ip netns exec lan-h2 sh -c redis-server &',
    ]);
    assert.ok(ops.findIndex((o) => o.op === 'exec') < ops.findIndex((o) => o.op === 'process-start'));
    assert.deepEqual(starts.map(describeOp), [
      'start process zebra in h1, ready once "test -S /var/run/frr/zserv.api" succeeds',
      'start process ospfd in h1',
      'start process redis in h2, ready once port 6379 accepts connections',
    ]);
    assert.deepEqual(starts[2], {
      op: 'process-start',
      node: 'h2',
      ns: 'lan-h2',
      name: 'redis',
      command: 'redis-server',
      ready: { tcp: 6379 },
      timeoutS: 5,
    });
    // Unchanged and running: nothing to do.
    assert.deepEqual(planUp(lab, first.after, { hostNetns: null, ledger: first.ledger }).ops, []);
  });

  it('starts again only the process that exited', () => {
    const first = up(lab, freshMachine(false));
    const ospfd = first.after.nodes.h1.processes!.find((p) => p.name === 'ospfd')!;
    ospfd.running = false;
    const again = planUp(lab, first.after, { hostNetns: null, ledger: first.ledger });
    assert.deepEqual(commands(again), ["ip netns exec lan-h1 sh -c '/usr/lib/frr/ospfd -u frr' &"]);
  });

  it('restarts a process declared otherwise, and those of a node whose files changed; stops what is gone', () => {
    const first = up(lab, freshMachine(false));
    const pidOf = (n: string, name: string) =>
      first.after.nodes[n].processes!.find((p) => p.name === name)!.pid;
    const changed = edited(lab, (l) => {
      node(l, 'h1').files = { '/etc/frr/frr.conf': 'router ospf\n' };
      node(l, 'h2').processes = [];
    });
    const next = planUp(changed, first.after, { hostNetns: null, ledger: first.ledger });
    assert.deepEqual(commands(next), [
      `kill -TERM -- -${pidOf('h1', 'zebra')}`,
      `kill -TERM -- -${pidOf('h1', 'ospfd')}`,
      `kill -TERM -- -${pidOf('h2', 'redis')}`,
      "ip netns exec lan-h1 sh -c '/usr/lib/frr/zebra -u frr' &",
      "ip netns exec lan-h1 sh -c '/usr/lib/frr/ospfd -u frr' &",
    ]);
    assert.equal(describeOp(next.ops[2]), `stop process redis in h2 (pid ${pidOf('h2', 'redis')})`);
    assert.equal(formatOp(next.ops[0], { hostNetns: 'sbx' }), `kill -TERM -- -${pidOf('h1', 'zebra')}`);
  });

  it('keeps the records of what runs, drops those the plan stopped and those of a namespace made anew', () => {
    const rec = (name: string, pid: number, ino = 7): ProcessRecord => ({
      node: 'h1',
      name,
      pid,
      startTime: 1,
      ino,
      command: 'x',
      log: `/run/nslab/lan.d/logs/h1/${name}.log`,
      startedAt: NOW,
    });
    const identities = [{ name: 'lan-h1', dev: 4, ino: 7 }];
    const previous = {
      ...ledgerAfter(undefined, lab, { lab: lab.name, ops: [] }, { hostNetns: null, now: NOW }),
      identities,
      namespaces: ['lan-h1'],
      processes: [rec('zebra', 10), rec('ospfd', 11), rec('old', 12, 6)],
    };
    const plan = {
      lab: lab.name,
      ops: [{ op: 'process-stop', node: 'h1', ns: 'lan-h1', name: 'ospfd', pid: 11 }] as Op[],
    };
    const after = ledgerAfter(previous, lab, plan, {
      hostNetns: null,
      now: NOW,
      started: [rec('ospfd', 20)],
    });
    assert.deepEqual(
      after.processes?.map((p) => `${p.name} ${p.pid}`),
      ['zebra 10', 'ospfd 20'],
    );
  });
});
