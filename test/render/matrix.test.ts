/**
 * Unit: how reachability matrices and expectation verdicts print, predicted or observed, as a table or summed up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeExpectations } from '../../src/reach/matrix.js';
import {
  formatExpectations,
  formatMatrix,
  formatMatrixLine,
  formatMatrixSummary,
} from '../../src/render/matrix.js';
import { lab, matrix } from '../reach/fixtures.js';

describe('formatMatrix', () => {
  it('prints a table with rows from, columns to, ok Nh / lost / unr cells, and a legend', () => {
    const text = formatMatrix(matrix());
    const lines = text.split('\n');
    const row = (name: string) =>
      lines
        .find((l) => l.startsWith(`│ ${name} `))!
        .split('│')
        .slice(2, -1)
        .map((c) => c.trim());
    assert.deepEqual(
      lines
        .find((l) => l.includes('from'))!
        .split('│')
        .slice(2, -1)
        .map((c) => c.trim()),
      ['host', 'r', 'mgmt', 'a', 'b'],
    );
    assert.deepEqual(row('host'), ['-', 'ok 0h', '', 'unr*', 'lost']);
    assert.deepEqual(row('a'), ['ok 1h', 'ok 0h', 'lost', '-', 'unr']);
    assert.deepEqual(row('r'), ['', '-', '', 'ok 0h', '']);
    assert.match(text, /ok Nh reached, the reply across N routers/);
    assert.match(text, /\n6\/10 pings reached \(60%\), 4 failed; 4 of 8 node pairs$/);
  });

  it('colours cells through the given function', () => {
    const text = formatMatrix(matrix(), { color: (s, t) => `<${s}:${t}>` });
    assert.match(text, /<reached:ok 1h>/);
    assert.match(text, /<unreachable:unr\*>/);
    assert.match(text, /<lost:lost>/);
  });
});

describe('formatMatrixLine and formatMatrixSummary', () => {
  it('count pings pingall-style, never rounding a failure up to 100%', () => {
    const m = matrix();
    m.results = m.results.flatMap((r) =>
      Array.from({ length: 1000 }, () => ({ ...r, verdict: 'reached' as const })),
    );
    m.results[5].verdict = 'lost';
    assert.equal(formatMatrixLine(m), '9999/10000 pings reached (99.9%), 1 failed; 7 of 8 node pairs');
    m.source = 'predicted';
    assert.match(formatMatrixLine(m), /^9999\/10000 pings predicted to reach/);
  });

  it('sum a big matrix up: the count, then the first failures with what stopped them', () => {
    const text = formatMatrixSummary(matrix(), { failures: 2 });
    assert.deepEqual(text.split('\n'), [
      '6/10 pings reached (60%), 4 failed; 4 of 8 node pairs',
      'first 2 of 4 failures:',
      '  host -> a fd00:1::10: unreachable (Network is unreachable)',
      '  host -> b 10.9.0.2: lost (no reply)',
    ]);
    assert.doesNotMatch(formatMatrixSummary(matrix()), /first/);
  });
});

describe('formatExpectations', () => {
  it('prints one line per expectation and a count', () => {
    const text = formatExpectations(judgeExpectations(lab(), matrix()));
    const lines = text.split('\n');
    assert.equal(lines.length, 8);
    assert.equal(lines[0], '✔ a -> host reach, 1 hop: a reaches host (10.0.0.1) across 1 router');
    assert.equal(
      lines[3],
      '✘ host -> a no reach: host reaches 10.0.1.10, but the file expects a to be unreachable',
    );
    assert.equal(lines[7], '3 of 7 expectations hold');
  });
});
