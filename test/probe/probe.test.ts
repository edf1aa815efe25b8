/**
 * Integration: live ICMP probing against the real kernel, inside sandbox namespaces made by this test (every
 * address pinged belongs to them; none of the labs has a route out). `ip netns exec NS ping -c 1 -W 1` is the
 * independent witness, `ss` shows the sockets.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { labNetnsSysctls } from '../../src/apply/session.js';
import { Lab } from '../../src/lab/lab.js';
import { NetnsHandle } from '../../src/netns/handle.js';
import { openProbeSockets, probe } from '../../src/probe/icmp.js';
import { pingMatrix } from '../../src/probe/matrix.js';
import { judgeExpectations, summarizeMatrix } from '../../src/reach/matrix.js';
import type { ReachResult } from '../../src/reach/types.js';
import * as sys from '../../src/sys/libc.js';
import { makeSandbox, removeSandbox } from '../helpers/cli.js';
import { ipNetnsDelete, netnsExec, skipUnlessRoot, uniqueName } from '../helpers/kernel.js';
import { LabBuilder } from '../helpers/lab.js';

interface Witnessed {
  status: ReachResult['verdict'];
  ttl?: number;
  reason?: string;
  reporter?: string;
}

/** `ip netns exec NS ping -c 1 -W 1 ADDR`, read the way a person reads it. */
function ping(ns: string, addr: string): Promise<Witnessed> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', '1', '-W', '1', addr]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 0) return resolve({ status: 'reached', ttl: Number(/ttl=(\d+)/.exec(out)?.[1]) });
      const local = /connect: (.+)/.exec(err);
      if (local) return resolve({ status: 'unreachable', reason: local[1].trim() });
      const remote = /From (\S+) icmp_seq=\d+ (.+)/.exec(out);
      if (remote) return resolve({ status: 'unreachable', reporter: remote[1], reason: remote[2].trim() });
      if (/100% packet loss/.test(out)) return resolve({ status: 'lost' });
      reject(new Error(`ping ${addr} in ${ns}: exit ${code}: ${out}${err}`));
    });
  });
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('probe: one router between two namespaces', { skip: skipUnlessRoot }, () => {
  const names = { a: uniqueName('pa'), r: uniqueName('pr'), b: uniqueName('pb') };
  const handles: NetnsHandle[] = [];
  let a: NetnsHandle;
  let r: NetnsHandle;
  let b: NetnsHandle;
  const from = (to: string) => ({ from: 'a', fd: a.fd, to });

  before(() => {
    a = NetnsHandle.create(names.a, { sysctls: labNetnsSysctls(true) });
    r = NetnsHandle.create(names.r, { sysctls: labNetnsSysctls(true) });
    b = NetnsHandle.create(names.b, { sysctls: labNetnsSysctls(true) });
    handles.push(a, r, b);
    a.addVeth('a0', { handle: r, name: 'r0' }, { up: true });
    r.addVeth('r1', { handle: b, name: 'b0' }, { up: true });
    for (const [h, dev] of [
      [a, 'lo'],
      [r, 'lo'],
      [b, 'lo'],
      [r, 'r0'],
      [b, 'b0'],
    ] as const) {
      h.setLink(dev, { up: true });
    }
    a.addAddr('a0', '10.61.1.2/24');
    a.addAddr('a0', 'fd61:1::2/64');
    r.addAddr('r0', '10.61.1.1/24');
    r.addAddr('r0', 'fd61:1::1/64');
    r.addAddr('r1', '10.61.2.1/24');
    r.addAddr('r1', 'fd61:2::1/64');
    b.addAddr('b0', '10.61.2.2/24');
    b.addAddr('b0', 'fd61:2::2/64');
    // a knows 10.61.2.0/24 and 10.61.3.0/24 lie behind r; r knows only its own two subnets.
    a.addRoute({ dst: '10.61.2.0/24', via: '10.61.1.1' });
    a.addRoute({ dst: '10.61.3.0/24', via: '10.61.1.1' });
    a.addRoute({ dst: 'fd61:2::/64', via: 'fd61:1::1' });
    a.addRoute({ dst: 'fd61:3::/64', via: 'fd61:1::1' });
    b.addRoute({ dst: '0.0.0.0/0', via: '10.61.2.1' });
    b.addRoute({ dst: '::/0', via: 'fd61:2::1' });
  });

  after(() => {
    for (const h of handles) {
      try {
        h.destroy();
      } catch {
        // iproute2 below
      }
    }
    for (const n of Object.values(names)) ipNetnsDelete(n);
  });

  it('opens a raw ICMP and a raw ICMPv6 socket inside the namespace, and only there', () => {
    const s = openProbeSockets(a.fd);
    try {
      assert.notEqual(s.v4, s.v6);
      const inA = netnsExec(names.a, ['ss', '-n', '-w', '-a']).stdout;
      assert.match(inA, /0\.0\.0\.0:1\s/);
      assert.match(inA, /\*:58\s/);
      const inB = netnsExec(names.b, ['ss', '-n', '-w', '-a']).stdout;
      assert.doesNotMatch(inB, /:1\s|:58\s/);
    } finally {
      sys.close(s.v4);
      sys.close(s.v6);
    }
    assert.doesNotMatch(netnsExec(names.a, ['ss', '-n', '-w', '-a']).stdout, /:58\s/);
  });

  it('reaches a directly connected neighbour: hops 0, reply ttl 64, as ping sees it', async () => {
    const [res] = await probe([{ ...from('10.61.1.1'), toNode: 'r' }]);
    assert.equal(res.verdict, 'reached');
    assert.equal(res.replyTtl, 64);
    assert.equal(res.hops, 0);
    assert.equal(res.toNode, 'r');
    assert.equal(res.family, 4);
    assert.ok(res.rttMs !== undefined && res.rttMs >= 0 && res.rttMs < 1000);
    assert.deepEqual(await ping(names.a, '10.61.1.1'), { status: 'reached', ttl: 64 });
  });

  it('loses what a router without ip_forward silently drops', async () => {
    assert.equal(r.sysctl('net.ipv4.ip_forward'), '0');
    const t = performance.now();
    const [res] = await probe([from('10.61.2.2')], { timeoutMs: 400 });
    const took = performance.now() - t;
    assert.deepEqual(res, { from: 'a', to: '10.61.2.2', family: 4, verdict: 'lost' });
    assert.ok(took >= 400 && took < 1500, `waited ${took} ms for a 400 ms timeout`);
    assert.deepEqual(await ping(names.a, '10.61.2.2'), { status: 'lost' });
  });

  it('reaches across a forwarding router: hops 1, reply ttl 63, IPv4 and IPv6', async () => {
    r.setSysctl('net.ipv4.ip_forward', '1');
    r.setSysctl('net.ipv6.conf.all.forwarding', '1');
    const res = await probe([from('10.61.2.2'), from('fd61:2::2')]);
    for (const x of res) {
      assert.equal(x.verdict, 'reached', `${x.to}: ${x.verdict}`);
      assert.equal(x.replyTtl, 63);
      assert.equal(x.hops, 1);
    }
    assert.deepEqual(
      res.map((x) => x.family),
      [4, 6],
    );
    assert.deepEqual(await ping(names.a, '10.61.2.2'), { status: 'reached', ttl: 63 });
    assert.deepEqual(await ping(names.a, 'fd61:2::2'), { status: 'reached', ttl: 63 });
  });

  it('reports a local route failure as ping does: Network is unreachable', async () => {
    const res = await probe([from('10.62.0.1'), from('fd62::1')]);
    for (const x of res) {
      assert.equal(x.verdict, 'unreachable');
      assert.equal(x.reason, 'Network is unreachable');
      assert.equal(x.reporter, undefined);
    }
    assert.deepEqual(await ping(names.a, '10.62.0.1'), {
      status: 'unreachable',
      reason: 'Network is unreachable',
    });
  });

  it('reports the router that has no route onward, with its ICMP error', async () => {
    const [v4, v6] = await probe([from('10.61.3.9'), from('fd61:3::9')]);
    assert.equal(v4.verdict, 'unreachable');
    assert.equal(v4.reason, 'Destination Net Unreachable');
    assert.equal(v4.reporter, '10.61.1.1');
    assert.equal(v6.verdict, 'unreachable');
    assert.equal(v6.reason, 'Destination unreachable: No route');
    assert.equal(v6.reporter, 'fd61:1::1');
    assert.deepEqual(await ping(names.a, '10.61.3.9'), {
      status: 'unreachable',
      reporter: '10.61.1.1',
      reason: 'Destination Net Unreachable',
    });
  });

  it('answers many targets from several namespaces in one run, in target order', async () => {
    const t = performance.now();
    const res = await probe(
      [
        from('10.61.2.2'),
        { from: 'b', fd: b.fd, to: '10.61.1.2' },
        from('10.62.0.1'),
        { from: 'b', fd: b.fd, to: 'fd61:1::2' },
        from('10.61.1.1'),
        { from: 'r', fd: r.fd, to: '10.61.2.2' },
        { from: 'r', fd: r.fd, to: '10.61.2.77' },
      ],
      { timeoutMs: 500 },
    );
    assert.deepEqual(
      res.map((x) => `${x.from}>${x.to} ${x.verdict}${x.hops === undefined ? '' : ` ${x.hops}`}`),
      [
        'a>10.61.2.2 reached 1',
        'b>10.61.1.2 reached 1',
        'a>10.62.0.1 unreachable',
        'b>fd61:1::2 reached 1',
        'a>10.61.1.1 reached 0',
        'r>10.61.2.2 reached 0',
        'r>10.61.2.77 lost',
      ],
    );
    // one lost target: the run waits for it once, not once per target
    assert.ok(performance.now() - t < 1500);
  });

  it('ignores answers meant for another run or another pinger in the same namespace', async () => {
    // From b: r rate-limits the ICMP errors it sends to one address (a has had its share above).
    const fromB = (to: string) => ({ from: 'b', fd: b.fd, to });
    const other = ping(names.b, '10.61.1.2');
    const [x, y] = await Promise.all([
      probe([fromB('10.61.1.2'), fromB('10.61.3.9')], { timeoutMs: 500 }),
      probe([fromB('10.61.2.1'), fromB('fd61:1::2'), fromB('10.61.2.99')], { timeoutMs: 500 }),
    ]);
    assert.deepEqual(
      x.map((v) => `${v.verdict} ${v.reporter ?? ''}`),
      ['reached ', 'unreachable 10.61.2.1'],
    );
    assert.deepEqual(
      y.map((v) => v.verdict),
      ['reached', 'reached', 'lost'],
    );
    assert.equal((await other).status, 'reached');
  });

  it('sends count requests per target and closes every socket it opened', async () => {
    const before = openFds();
    const res = await probe(
      [from('10.61.2.2'), from('fd61:2::2'), { from: 'b', fd: b.fd, to: '10.61.1.2' }],
      {
        count: 3,
        intervalMs: 20,
      },
    );
    assert.deepEqual(
      res.map((x) => x.verdict),
      ['reached', 'reached', 'reached'],
    );
    assert.equal(openFds(), before);
  });

  it('refuses a target that is not an address', async () => {
    await assert.rejects(probe([from('not-an-ip')]), /not an IP address/);
  });
});

describe('pingMatrix over a six-node lab', { skip: skipUnlessRoot }, () => {
  // host (a sandbox playing the host) -- r -- [sw: bridge with its own address] -- a, b ; r -- c
  // r forwards; a and c route through r; b and sw have only connected routes; host knows only 10.60.1.0/24.
  // Namespaces are the lab's: sandbox prefix + node name, made and removed by Lab.up() / Lab.down().
  const l = new LabBuilder('probe-matrix', `${uniqueName('pm')}-`)
    .node('host', 'host')
    .node('r', 'netns', { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' })
    .node('sw', 'bridge')
    .bridgeAddr('sw', '10.60.1.5/24')
    .node('a')
    .node('b')
    .node('c')
    .link('host:v0', ['10.60.0.1/24'], 'r:e0', ['10.60.0.2/24'])
    .link('r:e1', ['10.60.1.1/24', 'fd60:1::1/64'], 'sw:p0')
    .link('a:eth0', ['10.60.1.10/24', 'fd60:1::10/64'], 'sw:p1')
    .link('b:eth0', ['10.60.1.11/24'], 'sw:p2')
    .link('r:e2', ['10.60.2.1/24'], 'c:eth0', ['10.60.2.2/24'])
    .route('host', '10.60.1.0/24', '10.60.0.2')
    .route('a', '0.0.0.0/0', '10.60.1.1')
    .route('a', '::/0', 'fd60:1::1')
    .route('c', '0.0.0.0/0', '10.60.2.1')
    .expect('a', 'host', true, { hops: 1 })
    .expect('a', 'c', true, { hops: 2 })
    .expect('host', 'c', true)
    .expect('c', 'host', false)
    .expect('b', 'a', true)
    .expect('b', 'a', true, { family: 4 })
    .expect('a', '10.60.9.9', false)
    .expect('a', 'a', true, { hops: 0 })
    .build();
  const labNamespaces = l.nodes.flatMap((n) => (n.netns ? [n.netns] : []));
  let sandbox: string | undefined;
  let lab: Lab | undefined;
  const nsOf = (node: string) =>
    node === 'host' ? sandbox! : (l.nodes.find((n) => n.name === node)?.netns as string);

  before(async () => {
    sandbox = makeSandbox('phost');
    lab = new Lab(l, { hostNetns: sandbox });
    await lab.up();
  });

  after(async () => {
    try {
      await lab?.down();
    } finally {
      if (sandbox) removeSandbox(sandbox, labNamespaces);
    }
  });

  const NIU = 'unreachable Network is unreachable';
  // Every answer, worked out by hand from the routes above: status, then hops or reason.
  const expected: Record<string, string> = {
    'host>10.60.0.2': 'reached 0',
    'host>10.60.1.1': 'reached 0',
    'host>fd60:1::1': NIU,
    'host>10.60.2.1': NIU,
    'host>10.60.1.5': 'lost', // sw has no route back
    'host>10.60.1.10': 'reached 1',
    'host>fd60:1::10': NIU,
    'host>10.60.1.11': 'lost', // b has no route back
    'host>10.60.2.2': NIU,
    'r>10.60.0.1': 'reached 0',
    'r>10.60.1.5': 'reached 0',
    'r>10.60.1.10': 'reached 0',
    'r>fd60:1::10': 'reached 0',
    'r>10.60.1.11': 'reached 0',
    'r>10.60.2.2': 'reached 0',
    'sw>10.60.0.1': NIU,
    'sw>10.60.0.2': NIU,
    'sw>10.60.1.1': 'reached 0',
    'sw>fd60:1::1': NIU,
    'sw>10.60.2.1': NIU,
    'sw>10.60.1.10': 'reached 0',
    'sw>fd60:1::10': NIU,
    'sw>10.60.1.11': 'reached 0',
    'sw>10.60.2.2': NIU,
    'a>10.60.0.1': 'reached 1',
    'a>10.60.0.2': 'reached 0',
    'a>10.60.1.1': 'reached 0',
    'a>fd60:1::1': 'reached 0',
    'a>10.60.2.1': 'reached 0',
    'a>10.60.1.5': 'reached 0',
    'a>10.60.1.11': 'reached 0',
    'a>10.60.2.2': 'reached 1',
    'b>10.60.0.1': NIU,
    'b>10.60.0.2': NIU,
    'b>10.60.1.1': 'reached 0',
    'b>fd60:1::1': NIU,
    'b>10.60.2.1': NIU,
    'b>10.60.1.5': 'reached 0',
    'b>10.60.1.10': 'reached 0',
    'b>fd60:1::10': NIU,
    'b>10.60.2.2': NIU,
    'c>10.60.0.1': 'lost', // host has no route back to 10.60.2.0/24
    'c>10.60.0.2': 'reached 0',
    'c>10.60.1.1': 'reached 0',
    'c>fd60:1::1': NIU,
    'c>10.60.2.1': 'reached 0',
    'c>10.60.1.5': 'lost',
    'c>10.60.1.10': 'reached 1',
    'c>fd60:1::10': NIU,
    'c>10.60.1.11': 'lost',
    // from lab.expect, beyond the all-pairs sweep
    'a>10.60.9.9': 'unreachable Destination Net Unreachable',
    'a>10.60.1.10': 'reached 0',
    'a>fd60:1::10': 'reached 0',
  };
  const text = (x: ReachResult) =>
    x.verdict === 'reached' ? `reached ${x.hops}` : x.verdict === 'lost' ? 'lost' : `unreachable ${x.reason}`;

  let m: Awaited<ReturnType<typeof pingMatrix>>;

  it('gets every answer right, from every L3 node to every address of every other', async () => {
    const t = performance.now();
    m = await pingMatrix(l, (node) => lab!.handle(node).fd, { timeoutMs: 600 });
    assert.ok(performance.now() - t < 2000, 'one parallel run, one timeout');
    assert.deepEqual(m.nodes, ['host', 'r', 'sw', 'a', 'b', 'c']);
    const got = Object.fromEntries(m.results.map((x) => [`${x.from}>${x.to}`, text(x)]));
    assert.deepEqual(got, expected);
    const dnu = m.results.find((x) => x.to === '10.60.9.9');
    assert.equal(dnu?.reporter, '10.60.1.1');
    assert.equal(
      m.results.find((x) => x.to === '10.60.1.10' && x.from === 'a')?.toNode,
      'a',
      'a literal target is attributed to its owner',
    );
  });

  it('agrees with ping run in each namespace, pair by pair', async () => {
    const sweep = m.results.filter((x) => x.to !== '10.60.9.9');
    const seen = await Promise.all(sweep.map((x) => ping(nsOf(x.from), x.to)));
    sweep.forEach((x, i) => {
      const w = seen[i];
      assert.equal(x.verdict, w.status, `${x.from} -> ${x.to}: probe ${x.verdict}, ping ${w.status}`);
      if (w.status === 'reached') assert.equal(x.replyTtl, w.ttl, `${x.from} -> ${x.to} ttl`);
      if (w.status === 'unreachable') assert.equal(x.reason, w.reason, `${x.from} -> ${x.to} reason`);
    });
  });

  it('summarises each pair by its worst answer', () => {
    const cells = summarizeMatrix(m);
    const cell = (from: string, to: string) => cells.find((c) => c.from === from && c.toNode === to);
    assert.equal(cells.length, 30);
    assert.equal(cell('a', 'c')?.verdict, 'reached');
    assert.equal(cell('a', 'c')?.hops, 1);
    assert.equal(cell('host', 'r')?.verdict, 'unreachable');
    assert.equal(cell('c', 'r')?.verdict, 'unreachable');
    assert.equal(cell('c', 'b')?.verdict, 'lost');
    assert.equal(cell('a', 'a'), undefined);
  });

  it('judges the expectations: which hold, which fail, and why', () => {
    const checks = judgeExpectations(l, m);
    assert.deepEqual(
      checks.map((c) => c.holds),
      [true, false, false, true, false, true, true, true],
    );
    assert.equal(checks[1].message, 'a reaches 10.60.2.2 across 1 router, not across 2 routers');
    assert.equal(checks[2].message, 'host cannot reach c: 10.60.2.2: Network is unreachable');
    assert.equal(checks[3].message, 'c cannot reach host: 10.60.0.1: no reply');
    assert.equal(checks[4].message, 'b cannot reach a: fd60:1::10: Network is unreachable');
    assert.equal(checks[6].message, 'a cannot reach 10.60.9.9: Destination Net Unreachable (from 10.60.1.1)');
    assert.deepEqual(
      checks[7].results.map((x) => x.to),
      ['10.60.1.10', 'fd60:1::10'],
    );
  });
});
