/**
 * The planner's side of ownership: exec: entries an interrupted run did not finish run on the next up, and only
 * those; a timeout travels with its entry; down deletes only what the kernel shows to be the lab's, never the
 * host namespace, an unmarked device or a sysctl someone changed since.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDown } from '../../src/plan/down.js';
import { ledgerAfter } from '../../src/plan/ledger.js';
import { planUp } from '../../src/plan/up.js';
import { parseTopology } from '../../src/topology/load.js';
import { bridgeLab, freshMachine, tutorialLab } from './fixtures.js';
import { commands, edited, NOW, node, up } from './helpers.js';

describe('exec: entries across runs', () => {
  it('runs on the next up the entries an interrupted run did not finish, and only those', () => {
    const lab = edited(bridgeLab(), (l) => {
      node(l, 'h1').exec = ['echo one', 'echo two', 'echo three'];
    });
    const first = up(lab, freshMachine(false));
    // The ledger of a run killed after its first entry: the intent, plus what the journal recorded.
    const killed = ledgerAfter(undefined, lab, first.plan, { hostNetns: null, now: NOW, ran: [] });
    killed.execDone = [{ node: 'h1', index: 0, command: 'echo one' }];
    const next = planUp(lab, first.after, { hostNetns: null, ledger: killed });
    assert.deepEqual(commands(next), [
      "ip netns exec lan-h1 sh -c 'echo two'",
      "ip netns exec lan-h1 sh -c 'echo three'",
    ]);
    // A finished run records them all: the next up has nothing to do.
    assert.deepEqual(planUp(lab, first.after, { hostNetns: null, ledger: first.ledger }).ops, []);
    assert.deepEqual(
      first.ledger.execDone.map((e) => e.index),
      [0, 1, 2],
    );
  });

  it('runs an entry again when its command changed in the file, and all of them in a namespace made anew', () => {
    const lab = edited(bridgeLab(), (l) => {
      node(l, 'h1').exec = ['echo one', 'echo two'];
    });
    const first = up(lab, freshMachine(false));
    const changed = edited(lab, (l) => {
      node(l, 'h1').exec = ['echo one', 'echo 2'];
    });
    assert.deepEqual(commands(planUp(changed, first.after, { hostNetns: null, ledger: first.ledger })), [
      "ip netns exec lan-h1 sh -c 'echo 2'",
    ]);
    const gone = structuredClone(first.after);
    gone.namespaces = gone.namespaces.filter((n) => n !== 'lan-h1');
    delete gone.nodes.h1;
    const again = planUp(lab, gone, { hostNetns: null, ledger: first.ledger });
    assert.deepEqual(
      again.ops.filter((o) => o.op === 'exec').map((o) => (o.op === 'exec' ? o.command : '')),
      ['echo one', 'echo two'],
    );
  });

  it('gives each entry its timeout from the file', () => {
    const lab = parseTopology(`name: t
topology:
  nodes:
    a:
      exec:
        - "echo quick"
        - { command: "sleep 100", timeout: 300 }
`);
    const ops = planUp(lab, freshMachine(false), { hostNetns: null }).ops.filter((o) => o.op === 'exec');
    assert.deepEqual(ops, [
      { op: 'exec', node: 'a', ns: 'a', command: 'echo quick', index: 0 },
      { op: 'exec', node: 'a', ns: 'a', command: 'sleep 100', index: 1, timeout: 300 },
    ]);
  });
});

describe('planDown ownership', () => {
  it('deletes neither the host namespace nor a namespace the kernel does not show to be the lab’s', () => {
    const start = freshMachine();
    start.namespaces.push('sbx');
    const { after, ledger } = up(tutorialLab(), start, undefined, 'sbx');
    ledger.namespaces.push('sbx');
    const plan = planDown(ledger, { ...after, owned: ['ns1', 'sbx'] });
    // veth11 carries the lab's mark: it is deleted, its peer not being in a namespace that goes.
    assert.deepEqual(commands(plan, 'sbx'), [
      'ip netns del ns1',
      'ip netns exec sbx ip link del veth11',
      'ip netns exec sbx sysctl -w net.ipv4.ip_forward=0',
    ]);
  });

  it('never deletes an unmarked host device the ledger lists, and deletes a marked one whose peer stays', () => {
    const { after, ledger } = up(tutorialLab(), freshMachine());
    const host = after.nodes.host;
    host.links.find((l) => l.name === 'veth11')!.alias = undefined;
    host.links.push({ name: 'spare', index: 77, kind: 'veth', up: true, mtu: 1500, alias: 'nslab:seed' });
    ledger.hostLinks.push('spare');
    // ns0 is not the lab's any more: its veth11 is someone else's, unmarked; ns1's end goes with ns1.
    const plan = planDown(ledger, { ...after, owned: ['ns1'] });
    assert.deepEqual(commands(plan), [
      'ip netns del ns1',
      'ip link del spare',
      'sysctl -w net.ipv4.ip_forward=0',
    ]);
  });

  it('leaves a host sysctl that someone changed after the lab set it', () => {
    const lab = edited(tutorialLab(), (l) => {
      node(l, 'host').sysctls['net.ipv4.conf.all.arp_ignore'] = '1';
    });
    const start = freshMachine();
    start.nodes.host.sysctls['net.ipv4.conf.all.arp_ignore'] = '0';
    const { after, ledger } = up(lab, start);
    after.nodes.host.sysctls['net.ipv4.conf.all.arp_ignore'] = '2';
    assert.deepEqual(commands(planDown(ledger, after)), [
      'ip netns del ns0',
      'ip netns del ns1',
      'sysctl -w net.ipv4.ip_forward=0',
    ]);
  });
});
