/**
 * Unit: how `check` compares live answers with the prediction (hops on the reply's path), waits for a lab to
 * converge, judges only the expectations when asked, and blames a full neighbour table; on matrices built by
 * hand and a fake prober (no root).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLab, compareMatrices, pingWatchingNeighbours } from '../../src/lab/reach.js';
import type { PingMatrixOptions } from '../../src/probe/matrix.js';
import type { ReachMatrix, ReachResult } from '../../src/reach/types.js';
import { tutorial } from '../explain/fixtures.js';

const reached = (from: string, to: string, toNode: string, hops: number, extra = {}): ReachResult => ({
  from,
  to,
  toNode,
  family: 4,
  verdict: 'reached',
  hops,
  replyTtl: 64 - hops,
  ...extra,
});

const matrix = (source: ReachMatrix['source'], results: ReachResult[]): ReachMatrix => ({
  source,
  nodes: ['a', 'b', 'c'],
  results,
});

describe('compareMatrices', () => {
  it('compares the live hop count with the predicted reply path, not the request path', () => {
    const predicted = matrix('predicted', [
      reached('a', '10.0.0.3', 'c', 1, { requestHops: 2 }),
      reached('a', '10.0.0.2', 'b', 1, { requestHops: 1 }),
    ]);
    const observed = matrix('observed', [reached('a', '10.0.0.3', 'c', 1), reached('a', '10.0.0.2', 'b', 2)]);
    const findings = compareMatrices(predicted, observed);
    assert.deepEqual(
      findings.map((f) => f.message),
      [
        'a reaches 10.0.0.2 (b), the reply across 2 routers (ttl=62); the file predicts the reply across 1 router',
      ],
    );
    assert.deepEqual([findings[0].predictedHops, findings[0].observedHops], [1, 2]);
  });

  it('reports a verdict that differs, with the file’s reason when it predicted a failure', () => {
    const failure = {
      node: 'b',
      direction: 'forward' as const,
      reason: 'x',
      sentence: 'b does not forward.',
    };
    const predicted = matrix('predicted', [
      { from: 'a', to: '10.0.0.3', toNode: 'c', family: 4, verdict: 'lost', failure },
      reached('a', '10.0.0.2', 'b', 0),
    ]);
    const observed = matrix('observed', [
      reached('a', '10.0.0.3', 'c', 1),
      {
        from: 'a',
        to: '10.0.0.2',
        toNode: 'b',
        family: 4,
        verdict: 'unreachable',
        reason: 'No route to host',
      },
    ]);
    assert.deepEqual(
      compareMatrices(predicted, observed).map((f) => f.message),
      [
        'a reaches 10.0.0.3 (c) although the file predicts lost (the file says: b does not forward.): something outside the file lets it through',
        'a does not reach 10.0.0.2 (b) (unreachable: No route to host) although the file predicts it does',
      ],
    );
  });
});

describe('pingWatchingNeighbours', () => {
  it('says lost pings may be the neighbour table when its overflow counter rose during the run', async () => {
    let fulls = 10;
    const stats = (f: 4 | 6) =>
      f === 4 ? { entries: 1024, tableFulls: fulls } : { entries: 3, tableFulls: 0 };
    const m = await pingWatchingNeighbours(
      async () => {
        fulls += 7;
        return matrix('observed', [{ from: 'a', to: '10.0.0.2', toNode: 'b', family: 4, verdict: 'lost' }]);
      },
      stats,
      () => 1024,
    );
    assert.deepEqual(m.warnings, [
      "the kernel's IPv4 neighbour table was full 7 time(s) during the run (table_fulls in /proc/net/stat/arp_cache, " +
        '1024 entries now): the 1 lost IPv4 ping(s) may be the table overflowing, not the lab. Raise ' +
        'net.ipv4.neigh.default.gc_thresh3 (now 1024) on the host.',
    ]);
    const quiet = await pingWatchingNeighbours(async () => matrix('observed', []), stats);
    assert.equal(quiet.warnings, undefined);
  });
});

describe('checkLab', () => {
  const lab = tutorial('working');
  lab.expect = [{ from: 'ns0', to: 'ns1', reach: true, hops: 1 }];
  const good = [reached('ns0', '10.1.20.2', 'ns1', 1)];
  const bad: ReachResult[] = [{ from: 'ns0', to: '10.1.20.2', toNode: 'ns1', family: 4, verdict: 'lost' }];

  it('probes again until every expectation holds, about once a second, printing each attempt', async () => {
    const seen: PingMatrixOptions[] = [];
    const answers = [bad, bad, good];
    const attempts: string[] = [];
    const t0 = performance.now();
    const report = await checkLab(
      {
        lab,
        predict: () => assert.fail('no prediction with expectOnly'),
        ping: async (o) => {
          seen.push(o);
          return { source: 'observed', nodes: ['host', 'ns0', 'ns1'], results: answers.shift()! };
        },
      },
      { expectOnly: true, waitMs: 5000, onAttempt: (r) => attempts.push(`${r.attempts} ${r.ok}`) },
    );
    const took = performance.now() - t0;
    assert.deepEqual(attempts, ['1 false', '2 false', '3 true']);
    assert.equal(report.ok, true);
    assert.equal(report.predicted, undefined);
    assert.ok(took >= 1900 && took < 4000, `${took} ms for three attempts`);
    assert.deepEqual(
      seen.map((o) => [o.sweep, o.expectTargets]),
      [
        [false, true],
        [false, true],
        [false, true],
      ],
      'expect-only pings only what the expectations name',
    );
  });

  it('gives up when the time is up, with the last attempt', async () => {
    const report = await checkLab(
      {
        lab,
        predict: () => matrix('predicted', []),
        ping: async () => ({ source: 'observed', nodes: [], results: bad }),
      },
      { waitMs: 1500 },
    );
    assert.equal(report.ok, false);
    assert.equal(report.attempts, 2);
    assert.equal(report.expectations[0].holds, false);
  });

  it('without --expect-only, sweeps every pair and compares it with the prediction', async () => {
    let sweep: boolean | undefined;
    const report = await checkLab({
      lab,
      predict: (o) => {
        assert.equal(o.expectTargets, false);
        return matrix('predicted', [reached('ns0', '10.1.20.2', 'ns1', 2)]);
      },
      ping: async (o) => {
        sweep = o.sweep;
        return { source: 'observed', nodes: [], results: good };
      },
    });
    assert.equal(sweep, true);
    assert.equal(report.attempts, 1);
    assert.equal(report.findings.length, 1);
    assert.equal(report.ok, false, 'a finding fails the check');
  });
});
