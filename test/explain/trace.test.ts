import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainCore } from '../../src/explain/explain.js';
import { predictMatrix, toResult } from '../../src/explain/matrix.js';
import { LabModel } from '../../src/explain/model.js';
import { simulate } from '../../src/explain/simulate.js';
import { Tracer } from '../../src/explain/trace.js';
import type { MatrixOptions } from '../../src/explain/types.js';
import { judgeExpectations } from '../../src/reach/matrix.js';
import type { ReachResult } from '../../src/reach/types.js';
import { parseTopology } from '../../src/topology/load.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { LabBuilder } from '../helpers/lab.js';
import { asymmetric, autoChainText, campus, chain, lan, overlapping, tutorial } from './fixtures.js';

/** n0 -> r1 -> r2 -> n3, but r1 and r2 send 10.0.9.0/24 to each other: a loop towards a node's address. */
function loopToNode(): ResolvedLab {
  return new LabBuilder('loop')
    .node('r1', 'netns', { 'net.ipv4.ip_forward': '1' })
    .node('r2', 'netns', { 'net.ipv4.ip_forward': '1' })
    .node('r3', 'netns', { 'net.ipv4.ip_forward': '1' })
    .link('n0:eth0', ['10.0.0.2/24'], 'r1:eth0', ['10.0.0.1/24'])
    .link('r1:eth1', ['10.0.1.1/24'], 'r2:eth0', ['10.0.1.2/24'])
    .link('r2:eth1', ['10.0.2.1/24'], 'r3:eth0', ['10.0.2.2/24'])
    .link('r3:eth1', ['10.0.9.1/24'], 'n3:eth0', ['10.0.9.2/24'])
    .route('n0', 'default', '10.0.0.1')
    .route('n3', 'default', '10.0.9.1')
    .route('r1', '10.0.9.0/24', '10.0.1.2')
    .route('r2', '10.0.9.0/24', '10.0.1.1')
    .route('r3', 'default', '10.0.2.1')
    .route('r2', '10.0.0.0/24', '10.0.1.1')
    .build();
}

/** b's address is also c's, and r sends it to c: b's echo request to a is answered, the reply goes to c. */
function duplicate(): ResolvedLab {
  return new LabBuilder('dup')
    .node('r', 'netns', { 'net.ipv4.ip_forward': '1' })
    .link('a:eth0', ['10.0.1.2/24'], 'r:eth0', ['10.0.1.1/24'])
    .link('b:eth0', ['10.0.2.2/24'], 'r:eth1', ['10.0.2.1/24'])
    .link('c:eth0', ['10.0.3.2/24', '10.0.2.2/32'], 'r:eth2', ['10.0.3.1/24'])
    .route('a', 'default', '10.0.1.1')
    .route('b', 'default', '10.0.2.1')
    .route('c', 'default', '10.0.3.1')
    .route('r', '10.0.2.2/32', '10.0.3.2')
    .build();
}

/**
 * n0 — r1 — … — r`n` — n`n+1`, dual-stack, interfaces named after their link (`b3` — `a3`), routes to every
 * link both ways on every node; router `off` does not forward; `ttl` is every node's TTL and hop limit.
 */
function line(n: number, off: number, ttl?: string): ResolvedLab {
  const b = new LabBuilder('line');
  const name = (i: number) => (i === 0 || i === n + 1 ? `n${i}` : `r${i}`);
  for (let i = 0; i <= n + 1; i++) {
    const on = name(i).startsWith('r') && i !== off ? '1' : '0';
    const sysctls = { 'net.ipv4.ip_forward': on, 'net.ipv6.conf.all.forwarding': on };
    b.node(
      name(i),
      'netns',
      ttl ? { ...sysctls, 'net.ipv4.ip_default_ttl': ttl, 'net.ipv6.conf.all.hop_limit': ttl } : sysctls,
    );
  }
  for (let i = 0; i <= n; i++)
    b.link(`${name(i)}:b${i}`, [`10.1.${i}.1/24`, `fd01:${i}::1/64`], `${name(i + 1)}:a${i}`, [
      `10.1.${i}.2/24`,
      `fd01:${i}::2/64`,
    ]);
  for (let i = 0; i <= n + 1; i++) {
    for (let j = 0; j <= n; j++) {
      if (j > i)
        b.route(name(i), `10.1.${j}.0/24`, `10.1.${i}.2`).route(name(i), `fd01:${j}::/64`, `fd01:${i}::2`);
      if (j < i - 1)
        b.route(name(i), `10.1.${j}.0/24`, `10.1.${i - 1}.1`).route(
          name(i),
          `fd01:${j}::/64`,
          `fd01:${i - 1}::1`,
        );
    }
  }
  return b.build();
}

/** Every lab the fast matrix is checked on, by name. */
function labs(): Record<string, ResolvedLab> {
  const out: Record<string, ResolvedLab> = {};
  for (const state of ['bare', 'routes', 'working'] as const) {
    out[`tutorial ${state}`] = tutorial(state);
    out[`tutorial ${state} IPv6`] = tutorial(state, 6);
  }
  out['bridge LAN, chained bridges, bridge address'] = lan()
    .node('sw2', 'bridge')
    .link('sw:up', [], 'sw2:down')
    .link('h5:eth0', ['10.0.0.5/24'], 'sw2:p1')
    .bridgeAddr('sw2', '10.0.0.254/24')
    .build();
  out['overlapping subnets'] = overlapping();
  out['same subnet on two interfaces'] = new LabBuilder()
    .link('Y:eth0', ['10.9.0.1/24'], 'P:eth0', ['10.9.0.7/24'])
    .link('Y:eth1', ['10.9.0.2/24'], 'Q:eth0', ['10.9.0.5/24'])
    .build();
  out['rp_filter off'] = asymmetric();
  out['strict rp_filter on the target'] = asymmetric({ 'net.ipv4.conf.all.rp_filter': '1' });
  out['strict rp_filter on the source'] = asymmetric({}, { 'net.ipv4.conf.all.rp_filter': '1' });
  out['loose rp_filter'] = asymmetric({ 'net.ipv4.conf.eth0.rp_filter': '2' });
  const oneWay = asymmetric();
  oneWay.nodes.find((n) => n.name === 'R2')!.sysctls['net.ipv4.ip_forward'] = '0';
  out['the reply path does not forward'] = oneWay;
  out['30-router chain'] = chain(30);
  out['30-router chain, TTL 255'] = chain(30, '255');
  out['30-router chain, TTL 20'] = chain(30, '20');
  out['routers in a line, one not forwarding'] = line(12, 7);
  out['routers in a line, one not forwarding beyond the TTL'] = line(30, 25, '20');
  out['routing loop towards a node'] = loopToNode();
  out['duplicate address'] = duplicate();
  const broken = campus(3, 4);
  for (const n of broken.nodes) if (n.name.startsWith('h2x')) n.routes = [];
  out['campus, one bridge without routes'] = broken;
  out['dual-stack auto chain, forwarding off in the middle'] = parseTopology(
    autoChainText(12, {
      ipv6: true,
      sysctls: { 6: 'net.ipv4.ip_forward: 0, net.ipv6.conf.all.forwarding: 0' },
    }),
  );
  out['auto chain, strict rp_filter everywhere'] = parseTopology(
    autoChainText(8, {
      sysctls: Object.fromEntries([0, 3, 5].map((i) => [i, 'net.ipv4.conf.all.rp_filter: 1'])),
    }),
  );
  return out;
}

/** predictMatrix as it was: `explainCore` for every (source, target address), hop by hop. */
function reference(lab: ResolvedLab, opts: MatrixOptions = {}): ReachResult[] {
  const m = new LabModel(lab, opts);
  const nodes = m.l3Nodes();
  const pairs: ReachResult[] = [];
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to) continue;
      let list = m.addressesOf(to, opts.family);
      if (opts.addresses === 'first')
        list = [4, 6].flatMap((f) => list.filter((t) => t.family === f).slice(0, 1));
      for (const t of list) {
        pairs.push({ ...toResult(explainCore(m, from, t).e), toNode: to });
      }
    }
  }
  return pairs;
}

describe('Tracer', () => {
  for (const [name, lab] of Object.entries(labs())) {
    it(`${name}: ends where simulate ends, after as many routers, with the same TTL and source`, () => {
      const m = new LabModel(lab);
      const tracer = new Tracer(m);
      const nodes = m.l3Nodes();
      let delivered = 0;
      let stops = 0;
      for (const from of nodes) {
        for (const to of nodes) {
          for (const { address, family } of m.addressesOf(to)) {
            const w = simulate(m, from, family, address);
            const t = tracer.trace(from, family, address);
            const at = `${from} -> ${address}`;
            assert.equal(t.delivered, w.stop.kind === 'delivered', at);
            if (t.delivered) {
              delivered++;
              assert.deepEqual(
                [t.end, t.routers, t.ttl, t.src],
                [w.hops[w.hops.length - 1].node, w.routers, w.ttl, w.src],
                at,
              );
              const b = simulate(m, t.end, family, t.src, address);
              const tb = tracer.trace(t.end, family, t.src, address);
              assert.equal(tb.delivered, b.stop.kind === 'delivered', `${at}, reply`);
              if (tb.delivered)
                assert.deepEqual([tb.end, tb.routers, tb.ttl], [b.hops.at(-1)?.node, b.routers, b.ttl]);
              else if (tb.stop) {
                stops++;
                const s = b.stop as { kind: string; node: string; inIf?: string };
                assert.deepEqual(
                  [tb.stop.kind, tb.stop.node, tb.stop.inIf, tb.stop.routers],
                  [s.kind, s.node, s.inIf, b.routers],
                  `${at}, reply`,
                );
              }
            } else if (t.stop) {
              stops++;
              const s = w.stop as { kind: string; node: string; inIf?: string };
              assert.deepEqual(
                [t.stop.kind, t.stop.node, t.stop.inIf, t.stop.routers],
                [s.kind, s.node, s.inIf, w.routers],
                at,
              );
            }
          }
        }
      }
      assert.ok(delivered + stops > 0);
    });
  }
});

describe('predictMatrix, fast path', () => {
  for (const [name, lab] of Object.entries(labs())) {
    it(`${name}: the same pairs as explainCore pair by pair, for every family and address choice`, () => {
      for (const opts of [{}, { family: 4 }, { family: 6 }, { addresses: 'first' }] as MatrixOptions[]) {
        const fast = predictMatrix(lab, { ...opts, expectTargets: false });
        assert.deepEqual(fast.results, reference(lab, opts), JSON.stringify(opts));
      }
    });
  }

  it('the labs cover every kind of outcome: reach, loss on the way there or back, unreachable, each failure', () => {
    const kinds = new Set<string>();
    for (const lab of Object.values(labs())) {
      for (const p of predictMatrix(lab).results) {
        kinds.add(p.verdict);
        if (p.failure) kinds.add(`${p.failure.direction}: ${p.failure.reason}`);
      }
    }
    for (const k of [
      'reached',
      'lost',
      'unreachable',
      'forward: Network is unreachable',
      'back: Network is unreachable',
      'forward: forwarding disabled, dropped silently',
      'back: forwarding disabled, dropped silently',
      'forward: Destination Host Unreachable',
      'forward: Destination Net Unreachable',
      'forward: martian source, dropped by rp_filter',
      'back: martian source, dropped by rp_filter',
      'forward: Time to live exceeded',
      'back: duplicate address',
    ])
      assert.ok(kinds.has(k), k);
  });

  it("addresses: 'first' keeps the first address of each family, IPv4 first", () => {
    const lab = new LabBuilder()
      .link('a:eth0', ['10.0.0.1/24', '2001:db8::1/64'], 'b:eth0', ['10.0.0.2/24', '2001:db8::2/64'])
      .link('b:eth1', ['10.0.1.2/24', '10.0.2.2/24', '2001:db8:1::2/64'], 'c:eth0', ['10.0.1.3/24'])
      .build();
    const fromA = (opts: MatrixOptions) =>
      predictMatrix(lab, opts)
        .results.filter((p) => p.from === 'a' && p.toNode === 'b')
        .map((p) => p.to);
    assert.deepEqual(fromA({}), ['10.0.0.2', '10.0.1.2', '10.0.2.2', '2001:db8::2', '2001:db8:1::2']);
    assert.deepEqual(fromA({ addresses: 'first' }), ['10.0.0.2', '2001:db8::2']);
    assert.deepEqual(fromA({ addresses: 'first', family: 6 }), ['2001:db8::2']);
  });

  it('expectations on a matrix of first addresses are judged on every address of the node', () => {
    const lab = tutorial('routes');
    lab.expect = [
      { from: 'ns0', to: 'host', reach: true },
      { from: 'ns0', to: 'host', reach: false },
    ];
    const toHost = (opts: MatrixOptions) =>
      predictMatrix(lab, opts).results.filter((p) => p.from === 'ns0' && p.toNode === 'host').length;
    assert.equal(toHost({ addresses: 'first', expectTargets: false }), 1);
    assert.equal(toHost({ addresses: 'first' }), 2);
    const first = predictMatrix(lab, { addresses: 'first' });
    const [reach, noReach] = judgeExpectations(lab, first);
    assert.deepEqual(
      reach.results.map((p) => [p.to, p.verdict]),
      [
        ['10.1.10.1', 'reached'],
        ['10.1.20.1', 'reached'],
      ],
    );
    assert.equal(reach.holds, true);
    assert.equal(noReach.holds, false);
    assert.deepEqual(judgeExpectations(lab, predictMatrix(lab)), judgeExpectations(lab, first));
  });

  it('250-router auto chain: every pair, both addresses, in seconds (timings printed)', (t) => {
    const lab = parseTopology(autoChainText(250));
    const time = (opts: MatrixOptions) => {
      const t0 = performance.now();
      const m = predictMatrix(lab, opts);
      return { m, ms: performance.now() - t0 };
    };
    const all = time({});
    const first = time({ addresses: 'first' });
    t.diagnostic(
      `250-chain matrix: all addresses ${all.ms.toFixed(0)} ms, first address ${first.ms.toFixed(0)} ms`,
    );
    // 498 addresses (the two ends have one), each pinged by the 249 other nodes.
    assert.equal(all.m.results.length, 498 * 249);
    assert.equal(first.m.results.length, 250 * 249);
    assert.ok(all.m.results.every((p) => p.verdict === 'reached'));
    const end = all.m.results.find((p) => p.from === 'r0' && p.toNode === 'r249');
    assert.deepEqual([end?.hops, end?.requestHops, end?.replyTtl], [248, 248, 255 - 248]);
    assert.ok(all.ms < 15_000, `took ${all.ms.toFixed(0)} ms`);
  });

  it('the same chain with forwarding off in the middle: half the pairs fail there, in seconds', (t) => {
    const lab = parseTopology(autoChainText(250, { sysctls: { 125: 'net.ipv4.ip_forward: 0' } }));
    const t0 = performance.now();
    const m = predictMatrix(lab, { addresses: 'first' });
    const ms = performance.now() - t0;
    t.diagnostic(`250-chain, r125 not forwarding: ${ms.toFixed(0)} ms`);
    const across = m.results.filter((p) => p.verdict !== 'reached');
    // Pairs on both sides of r125 (and not r125 itself): 125 * 124 in each direction.
    assert.equal(across.length, 2 * 125 * 124);
    assert.ok(
      across.every((p) => p.failure?.node === 'r125' && p.failure.reason.startsWith('forwarding disabled')),
    );
    const p = m.results.find((x) => x.from === 'r0' && x.toNode === 'r249');
    assert.equal(p?.requestHops, 124);
    assert.ok(ms < 15_000, `took ${ms.toFixed(0)} ms`);
  });
});
