/**
 * Faults in a live lab, in a sandbox: links down and up, impairments (iperf3 and ping measure them), the
 * nftables loss fallback, partitions, the timeline player and the waits. The kernel is the witness: `ip -json`,
 * `tc -j qdisc show`, `nft -j list ruleset`, plain `ping` and `iperf3`, run in the lab's namespaces only.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { netemAvailable } from '../../src/faults/observe.js';
import { Lab } from '../../src/lab/lab.js';
import type { NslabError } from '../../src/sys/errors.js';
import { parseTopology } from '../../src/topology/load.js';
import { makeSandbox, nslab, removeSandbox } from '../helpers/cli.js';
import { ipJson, ipNetnsList, netnsExec, skipUnlessRoot } from '../helpers/kernel.js';

const prefix = `nslab-t-f${process.pid}-`;
const name = `faults${process.pid}`;
const text = `name: ${name}
prefix: ${prefix}
routing: auto
topology:
  nodes: { a: {}, r: {}, b: {} }
  links:
    - endpoints: ["a:e0", "r:e1"]
    - endpoints: ["r:e2", "b:e0"]
    - endpoints: [{ node: host, interface: h0, impair: { loss: 2% } }, { node: r, interface: e3, impair: { rate: 100mbit } }]
timeline:
  - { at: 0s, link: a:e0, state: down, for: 300ms }
  - { at: 100ms, partition: [[a], [b]], for: 250ms }
  - { at: 150ms, impair: r:e1, loss: 10%, for: 250ms }
  - { at: 450ms, stop: b/srv }
  - { at: 500ms, start: b/srv }
`;

const ns = (node: string) => `${prefix}${node}`;

function tc(node: string, dev: string): { kind: string; root?: boolean; options?: Record<string, number> }[] {
  return JSON.parse(
    execFileSync('ip', ['netns', 'exec', node, 'tc', '-j', 'qdisc', 'show', 'dev', dev], {
      encoding: 'utf8',
    }),
  );
}

/** The rules of `nft -j list ruleset` in a namespace, with their chain. */
function nftRules(namespace: string): { chain: string; table: string; expr: unknown[] }[] {
  const out = JSON.parse(
    execFileSync('ip', ['netns', 'exec', namespace, 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' }),
  ) as { nftables: { rule?: { chain: string; table: string; expr: unknown[] } }[] };
  return out.nftables.flatMap((x) => (x.rule ? [x.rule] : []));
}

function nftTables(namespace: string): string[] {
  const out = JSON.parse(
    execFileSync('ip', ['netns', 'exec', namespace, 'nft', '-j', 'list', 'tables'], { encoding: 'utf8' }),
  ) as { nftables: { table?: { name: string } }[] };
  return out.nftables.flatMap((x) => (x.table ? [x.table.name] : []));
}

function link(node: string, dev: string): { flags: string[]; operstate: string } {
  return ipJson<{ flags: string[]; operstate: string }[]>(ns(node), 'link', 'show', 'dev', dev)[0];
}

/** `ping -c N` from a node; the loss percentage ping reports (100 when it cannot send: no route). */
function pingLoss(from: string, to: string, count: number, interval = '0.2'): number {
  const r = netnsExec(ns(from), ['ping', '-n', '-q', '-c', String(count), '-i', interval, '-W', '1', to]);
  if (/connect: Network is unreachable/.test(r.stderr)) return 100;
  const m = /([\d.]+)% packet loss/.exec(r.stdout);
  assert.ok(m, r.stdout + r.stderr);
  return Number(m[1]);
}

/**
 * Throughput a -> b measured by iperf3 (a TCP stream of 2 s), bits per second as the receiver saw it. iperf3
 * serves one client at a time, and the connection waitForPort made may still hold it: "busy" is tried again.
 */
async function iperf(lab: Lab, server: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const r = await lab.exec('a', ['iperf3', '-c', server, '-t', '2', '-J']);
    const out = JSON.parse(r.stdout) as {
      error?: string;
      end?: { sum_received: { bits_per_second: number } };
    };
    if (out.end?.sum_received) return out.end.sum_received.bits_per_second;
    if (!/busy/.test(out.error ?? '') || attempt >= 5) assert.fail(`iperf3: ${out.error ?? r.stderr}`);
    await new Promise((done) => setTimeout(done, 300));
  }
}

describe('faults in a live lab', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  let lab: Lab;
  let b: string;
  const children: ChildProcess[] = [];

  before(async () => {
    sandbox = makeSandbox('faults');
    lab = new Lab(parseTopology(text), { hostNetns: sandbox });
    await lab.up();
    b = lab.addr('b');
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try {
      await lab.down();
    } finally {
      removeSandbox(
        sandbox,
        ipNetnsList().filter((n) => n.startsWith(prefix)),
      );
    }
  });

  it('up applies the file’s impairments: tbf for a rate, an nftables loss rule without netem', () => {
    const [q] = tc(ns('r'), 'e3');
    assert.equal(q.kind, 'tbf');
    assert.equal(q.options?.rate, 100e6 / 8);
    const read = lab.observe().nodes.r.qdiscs?.find((x) => x.dev === 'e3')?.qdisc;
    assert.deepEqual(read?.kind === 'tbf' && [read.rate, read.burst], [q.options?.rate, q.options?.burst]);
    if (!netemAvailable()) {
      const rules = nftRules(sandbox).filter((r) => r.table === `nslab_${name}`);
      assert.equal(rules.length, 1);
      assert.match(
        JSON.stringify(rules[0].expr),
        /"numgen":\{"mode":"random","mod":100,"offset":0\}\},"right":2\}/,
      );
      assert.match(JSON.stringify(rules[0].expr), /"oifname"\}\},"right":"h0"/);
    }
    const s = lab.status();
    assert.deepEqual(s.drift, []);
    assert.deepEqual(
      s.faults.impairments.map((i) => [`${i.node}:${i.interface}`, i.declared, i.live]),
      [
        ['r:e3', 'rate 100mbit', 'rate 100mbit'],
        ['host:h0', 'loss 2%', 'loss 2%'],
      ],
    );
  });

  it('an impairment cleared by hand is drift, and up puts it back', async () => {
    await lab.clearImpair('r:e3');
    assert.notEqual(tc(ns('r'), 'e3')[0].kind, 'tbf');
    assert.deepEqual(lab.status().drift, ['impair r:e3: rate 100mbit (tbf)']);
    await lab.up();
    assert.equal(tc(ns('r'), 'e3')[0].kind, 'tbf');
  });

  it('link down sets one end down, the other loses its carrier; link up restores the routes it took', async () => {
    assert.equal(pingLoss('a', b, 1), 0);
    await lab.linkDown('a:e0');
    assert.ok(!link('a', 'e0').flags.includes('UP'));
    assert.ok(link('r', 'e1').flags.includes('NO-CARRIER'));
    assert.equal(pingLoss('a', b, 1), 100);
    const ops = await lab.linkUp('a:e0');
    assert.ok(
      ops.some((o) => o.op === 'route-add' && o.route.dst === '0.0.0.0/0'),
      'the default route comes back',
    );
    assert.ok(link('a', 'e0').flags.includes('UP'));
    await lab.waitForReach('a', 'b', { timeoutMs: 5000 });
    assert.deepEqual(lab.status().drift, []);
  });

  it('impair --rate 10mbit across a router: iperf3 measures 10 Mbit/s within 20%, cleared it is above 1 Gbit/s', async () => {
    const server = lab.spawn('b', 'iperf3', ['-s'], { stdio: 'ignore' });
    children.push(server);
    await lab.waitForPort('b', 5201, { timeoutMs: 5000 });
    const r = nslab(['impair', name, 'r:e2', '--rate', '10mbit', '--host-netns', sandbox]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /tc qdisc replace dev e2 root tbf rate 10mbit/);
    assert.equal(tc(ns('r'), 'e2')[0].options?.rate, 1_250_000);
    const slow = await iperf(lab, b);
    console.log(`    iperf3 through tbf 10mbit: ${(slow / 1e6).toFixed(2)} Mbit/s`);
    assert.ok(Math.abs(slow - 10e6) <= 2e6, `${slow} bit/s`);
    await lab.clearImpair('r:e2');
    const fast = await iperf(lab, b);
    console.log(`    iperf3 cleared: ${(fast / 1e9).toFixed(2)} Gbit/s`);
    assert.ok(fast > 1e9, `${fast} bit/s`);
    server.kill();
  });

  it('loss without netem is an nftables rule: 50% loss drops about half of 200 pings', {
    skip: netemAvailable() && 'this kernel has netem: loss is netem’s',
  }, async () => {
    const ops = await lab.impair('a:e0', { loss: 0.5 });
    assert.deepEqual(
      ops.map((o) => o.op),
      ['nft-loss-add'],
    );
    const rules = nftRules(ns('a'));
    assert.match(JSON.stringify(rules), /"mod":100,"offset":0\}\},"right":50\}/);
    const loss = pingLoss('a', b, 200, '0.005');
    assert.ok(loss >= 30 && loss <= 70, `${loss}% lost`);
    await lab.clearImpair('a:e0');
    assert.deepEqual(nftRules(ns('a')), []);
    assert.equal(pingLoss('a', b, 20, '0.005'), 0);
  });

  it('delay without netem fails with one sentence naming sch_netem, exit 1', {
    skip: netemAvailable() && 'this kernel has netem',
  }, async () => {
    const r = nslab(['impair', name, 'a:e0', '--delay', '20ms', '--host-netns', sandbox]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^error: a:e0 asks for delay 20ms, but this kernel has no netem qdisc \(the sch_netem module\)[^\n]*\.\n$/,
    );
    await assert.rejects(
      lab.impair('a:e0', { delay: 20, jitter: 5 }),
      (e: NslabError) => e.exitCode === 1 && /sch_netem/.test(e.message),
    );
    assert.ok(!['tbf', 'netem'].includes(tc(ns('a'), 'e0')[0].kind));
    const timeline =
      'timeline:\n  - { at: 0s, link: a:e0, state: down }\n  - { at: 1s, impair: a:e0, delay: 20ms }\n';
    const delayed = new Lab(parseTopology(text.replace(/timeline:[\s\S]*$/, timeline)), {
      hostNetns: sandbox,
    });
    await assert.rejects(
      delayed.play(),
      /the timeline gives a:e0 delay 20ms \(<inline>:\d+:5\), but this kernel has no netem qdisc \(the sch_netem module\)/,
    );
    assert.ok(link('a', 'e0').flags.includes('UP'), 'nothing was played');
  });

  it('delay with netem: the round trip grows by twice the delay', {
    skip: !netemAvailable() && 'this kernel has no netem (sch_netem)',
  }, async () => {
    await lab.impair('a:e0', { delay: '50ms' });
    await lab.impair('r:e1', { delay: '50ms' });
    const r = netnsExec(ns('a'), ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', b]);
    const avg = Number(/= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1]);
    assert.ok(avg >= 100, r.stdout);
    await lab.clearImpair('a:e0');
    await lab.clearImpair('r:e1');
  });

  it('partition drops traffic between groups, nodes in no group keep theirs, links stay up; heal restores it', async () => {
    const r1 = lab.addr('r:e1');
    const ops = await lab.partition([['a'], ['b']]);
    assert.deepEqual(
      ops.map((o) => `${o.op} ${o.node}`),
      ['nft-partition a', 'nft-partition b'],
    );
    assert.equal(pingLoss('a', b, 2), 100);
    assert.equal(pingLoss('b', lab.addr('a'), 2), 100);
    assert.equal(pingLoss('a', r1, 1), 0);
    assert.equal(pingLoss('b', lab.addr('r:e2'), 1), 0);
    for (const [n, d] of [
      ['a', 'e0'],
      ['r', 'e1'],
      ['r', 'e2'],
      ['b', 'e0'],
    ])
      assert.equal(link(n, d).operstate, 'UP');
    await assert.rejects(
      lab.waitForReach('a', 'b', { timeoutMs: 300 }),
      /a cannot reach b after 0.3 s: [\d.]+ lost/,
    );
    await lab.heal();
    assert.deepEqual(nftRules(ns('a')), []);
    assert.equal(pingLoss('a', b, 1), 0);
  });

  it('the timeline plays each event at its time and undoes those with for', async () => {
    const calls: string[] = [];
    const seen: string[] = [];
    const played = await lab.play({
      processes: {
        problem: (node, p) => (node === 'b' && p === 'srv' ? undefined : 'no such process'),
        stop: async (node, p) => void calls.push(`stop ${node}/${p}`),
        start: async (node, p) => void calls.push(`start ${node}/${p}`),
      },
      onEvent: (e) => {
        // The kernel as each event leaves it.
        if (e.text === 'link a:e0 down')
          seen.push(`a:e0 ${link('a', 'e0').flags.includes('UP') ? 'up' : 'down'}`);
        if (e.text === 'impair r:e1 loss 10%')
          seen.push(netemAvailable() ? tc(ns('r'), 'e1')[0].kind : JSON.stringify(nftRules(ns('r')).length));
      },
    });
    assert.deepEqual(
      played.map((e) => [e.atMs, e.text]),
      [
        [0, 'link a:e0 down'],
        [100, 'partition [a] [b]'],
        [150, 'impair r:e1 loss 10%'],
        [300, 'link a:e0 up (after 300ms)'],
        [350, 'heal (after 250ms)'],
        [400, "impair r:e1 back to the file's (after 250ms)"],
        [450, 'stop b/srv'],
        [500, 'start b/srv'],
      ],
    );
    for (const e of played)
      assert.ok(e.elapsedMs >= e.atMs - 1 && e.elapsedMs < e.atMs + 250, `${e.text} at ${e.elapsedMs}`);
    assert.deepEqual(calls, ['stop b/srv', 'start b/srv']);
    assert.deepEqual(seen, ['a:e0 down', netemAvailable() ? 'netem' : '1']);
    assert.ok(link('a', 'e0').flags.includes('UP'));
    assert.deepEqual(nftRules(ns('a')), []);
    await lab.waitForReach('a', 'b', { timeoutMs: 5000 });
    assert.deepEqual(lab.status().drift, []);
  });

  it('a timeline that stops a process the lab does not have fails before it plays, exit 2', () => {
    const r = nslab(['play', name, '--host-netns', sandbox]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /the timeline stops b\/srv \(<inline>:14:5\), but lab \S+ has no process srv on node b/,
    );
    assert.ok(link('a', 'e0').flags.includes('UP'));
  });

  it('waitForRoute sees a route added a moment later, and reports the table when none comes', async () => {
    const gw = lab.addr('r:e1');
    const t0 = performance.now();
    setTimeout(() => spawn('ip', ['-n', ns('a'), 'route', 'add', '10.9.2.0/24', 'via', gw]), 300);
    const route = await lab.waitForRoute('a', '10.9.2.0/24', { timeoutMs: 5000 });
    assert.equal(route.via, gw);
    assert.ok(performance.now() - t0 >= 290);
    assert.equal(ipJson(ns('a'), 'route', 'show', '10.9.2.0/24').length, 1);
    await assert.rejects(
      lab.waitForRoute('a', '10.9.3.0/24', { timeoutMs: 200 }),
      new RegExp(
        `^NslabError: a has no route to 10.9.3.0/24 after 0.2 s; its table: default via ${gw} dev e0, `,
      ),
    );
    execFileSync('ip', ['-n', ns('a'), 'route', 'del', '10.9.2.0/24']);
  });

  it('nslab addr prints addresses one a line; link verbs run from the command line', () => {
    const r = nslab(['addr', name, 'r', '-4', '--host-netns', sandbox]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), lab.addrs('r', { family: 4 }));
    assert.equal(r.stdout.trim().split('\n').length, 3);
    const down = nslab(['link', 'down', name, 'b:e0', '--host-netns', sandbox]);
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`ip netns exec ${ns('b')} ip link set dev e0 down`));
    assert.ok(link('r', 'e2').flags.includes('NO-CARRIER'));
    assert.equal(nslab(['link', 'up', name, 'b:e0', '--host-netns', sandbox]).status, 0);
    const bad = nslab(['link', 'down', name, 'b:e9', '--host-netns', sandbox]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /'b:e9' names no interface: node 'b' has no 'e9' \(its interfaces: e0\)/);
  });

  it('down removes the lab’s table from the host namespace', async () => {
    assert.deepEqual(nftTables(sandbox), netemAvailable() ? [] : [`nslab_${name}`]);
    const r = await lab.down();
    assert.ok(r.changed);
    assert.deepEqual(nftTables(sandbox), []);
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith(prefix)),
      [],
    );
  });
});
