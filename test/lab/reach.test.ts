/**
 * End to end: labs whose answers are known are deployed in a sandbox host namespace; the live ping matrix must
 * agree with the matrix predicted from the file, pair by pair, and the `expect:` entries must hold.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tutorialTopology } from '../../src/lab/demo.js';
import { Lab } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/topology/load.js';
import { makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipNetnsList, netnsExec, skipUnlessRoot } from '../helpers/kernel.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');

/** Deploys, checks predicted == observed and every expectation, takes down; returns the report. */
async function deployAndCheck(lab: Lab) {
  await lab.up();
  try {
    const report = await lab.check({ timeoutMs: 500 });
    assert.deepEqual(
      report.findings.map((f) => f.message),
      [],
      'every live answer agrees with the prediction',
    );
    for (const e of report.expectations) assert.ok(e.holds, e.message);
    assert.ok(report.matrix.results.length > 0);
    return report;
  } finally {
    await lab.down();
  }
}

describe('predicted and observed matrices agree', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  const prefix = `nslab-t-r${process.pid}-`;

  before(() => {
    sandbox = makeSandbox('reach');
  });
  after(() =>
    removeSandbox(
      sandbox,
      ipNetnsList().filter((n) => n.startsWith(prefix)),
    ),
  );

  for (const [stage, label, expected] of [
    [0, 'tutorial without routes: Network is unreachable', 'unreachable'],
    [1, 'tutorial with routes but no forwarding on the host: lost', 'lost'],
    [2, 'the working tutorial: reached across one router', 'reached'],
  ] as const) {
    it(label, async () => {
      const lab = new Lab(parseTopology(tutorialTopology(stage, prefix)), { hostNetns: sandbox });
      const report = await deployAndCheck(lab);
      const r = report.matrix.results.find((x) => x.from === 'ns0' && x.to === '10.1.20.2');
      assert.equal(r?.verdict, expected);
      if (stage === 0) assert.equal(r?.reason, 'Network is unreachable');
      if (stage === 2) assert.deepEqual([r?.hops, r?.replyTtl], [1, 63]);
      const fromHost = report.matrix.results.find((x) => x.from === 'host' && x.to === '10.1.20.2');
      assert.deepEqual([fromHost?.verdict, fromHost?.hops], ['reached', 0]);
    });
  }

  it('a route only one way: the echo arrives, the reply has no way back', async () => {
    const text = tutorialTopology(2, prefix).replace(
      '      routes:\n        - dst: 10.1.10.0/24\n          via: 10.1.20.1',
      '      routes: []',
    );
    const lab = new Lab(parseTopology(text), { hostNetns: sandbox });
    const [e] = lab.explain('ns0', '10.1.20.2');
    assert.equal(e.verdict, 'lost');
    assert.equal(e.failure?.direction, 'back');
    const report = await deployAndCheck(lab);
    assert.equal(
      report.matrix.results.find((x) => x.from === 'ns0' && x.to === '10.1.20.2')?.verdict,
      'lost',
    );
  });

  for (const name of ['lan', 'chain', 'dualstack', 'auto-chain']) {
    it(`examples/${name}.nslab.yml: expectations hold live and match the prediction`, async () => {
      const text = readFileSync(join(EXAMPLES, `${name}.nslab.yml`), 'utf8').replace(
        /^prefix: .*$/m,
        `prefix: ${prefix}`,
      );
      const lab = new Lab(parseTopology(text, `${name}.nslab.yml`), { hostNetns: sandbox });
      const report = await deployAndCheck(lab);
      assert.ok(report.expectations.length >= 4);
    });
  }

  it('nslab check exits 0 when every expectation holds and 1 with a report when one fails', () => {
    const good = tutorialTopology(2, prefix).replace('name: demo', 'name: checks');
    const expect = (reach: boolean) =>
      `${good}expect:\n  - { from: ns0, to: ns1, reach: ${reach}, hops: 1 }\n  - { from: host, to: ns0, reach: true }\n`;
    const ok = topologyFile(expect(true));
    assert.equal(nslab(['up', ok, '--host-netns', sandbox]).status, 0);
    try {
      const pass = nslab(['check', ok, '--host-netns', sandbox]);
      assert.equal(pass.status, 0, pass.stdout + pass.stderr);
      assert.match(pass.stdout, /2 expectation\(s\) hold/);
      const bad = topologyFile(expect(false));
      const fail = nslab(['check', bad, '--host-netns', sandbox]);
      assert.equal(fail.status, 1);
      assert.match(fail.stdout, /ns0 -> ns1/);
      assert.match(fail.stdout, /1 expectation\(s\) failed/);
      const ping = nslab(['ping', 'checks', '--host-netns', sandbox]);
      assert.equal(ping.status, 0, ping.stderr);
      assert.match(ping.stdout, /ns0\s+│.*ok 1h/);
      // a witness outside nslab
      assert.match(netnsExec(`${prefix}ns0`, ['ping', '-c', '1', '-W', '1', '10.1.20.2']).stdout, /ttl=63/);
    } finally {
      nslab(['down', 'checks', '--host-netns', sandbox]);
    }
  });
});

describe('check --predict and explain need no root and no kernel', () => {
  it('predicts the tutorial and explains the failure with the fix', () => {
    const text = tutorialTopology(0);
    const file = topologyFile(`${text}expect:\n  - { from: ns0, to: ns1, reach: true }\n`);
    const r = nslab(['check', file, '--predict']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /✘/);
    const e = nslab(['explain', file, 'ns0', '10.1.20.2']);
    assert.equal(e.status, 1, 'explain exits 1 when the pair does not reach');
    assert.match(
      e.stdout,
      /ns0 has no route to 10\.1\.20\.2 \(10\.1\.20\.0\/24\): the kernel answers 'Network is unreachable'/,
    );
    assert.match(e.stdout, /Add to ns0: `dst: 10\.1\.20\.0\/24, via: 10\.1\.10\.1`/);
  });
});
