/**
 * End to end, the built CLI as a user runs it: exit codes of explain, check and ping; big matrices summed up
 * unless --full; the roundabout fix; routing and neighbour-table warnings at `up`; check --wait and
 * --expect-only. Kernel parts in a sandbox host namespace.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tutorialTopology } from '../../src/lab/demo.js';
import { neighbourLimit } from '../../src/probe/neigh.js';
import { makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipNetnsList, skipUnlessRoot } from '../helpers/kernel.js';
import { ROUNDABOUT, ringText, TRIANGLE } from '../helpers/reach-labs.js';

/** `hosts` hosts on one bridge, addresses allocated, no routing needed. */
function lanText(hosts: number, prefix = 'x-'): string {
  const nodes = ['    sw: { kind: bridge }'];
  const links: string[] = [];
  for (let h = 1; h <= hosts; h++) {
    nodes.push(`    h${h}: {}`);
    links.push(`    - endpoints: ["h${h}:eth0", "sw:p${h}"]`);
  }
  return `name: bigLan\nprefix: ${prefix}\ntopology:\n  nodes:\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`;
}

describe('reachability from the command line, without root', () => {
  it('explain exits 0 when every address is reached, 1 when one is not, 2 for a node that is not there', () => {
    const ok = topologyFile(tutorialTopology(2));
    assert.equal(nslab(['explain', ok, 'ns0', 'ns1']).status, 0);
    const bad = topologyFile(tutorialTopology(1));
    const r = nslab(['explain', bad, 'ns0', 'ns1']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /no reply, at host: forwarding disabled/);
    const none = nslab(['explain', ok, 'ns0', 'nope']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /nope is neither an address nor a node/);
  });

  it('explain shows the routers of both paths when they differ', () => {
    const r = nslab(['explain', topologyFile(ringText(1, 'x-')), 'host', '10.200.0.22']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\n {2}request crosses r1, r2; reply crosses r1\n/);
  });

  it('explain proposes the next hop on the shortest path: r3 itself, not a roundabout through r1', () => {
    const r = nslab(['explain', topologyFile(ROUNDABOUT), 'h2', 'h3']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /fix: Add to r2: `dst: 10\.0\.3\.0\/24, via: 10\.0\.23\.3`/);
  });

  it('check --predict exits 1 when an expectation fails, with --json too', () => {
    const failing = topologyFile(`${tutorialTopology(0)}expect:\n  - { from: ns0, to: ns1, reach: true }\n`);
    const text = nslab(['check', failing, '--predict']);
    assert.equal(text.status, 1);
    assert.match(text.stdout, /✘ ns0 -> ns1 reach: ns0 cannot reach ns1/);
    const json = nslab(['check', failing, '--predict', '--json']);
    assert.equal(json.status, 1);
    assert.equal(JSON.parse(json.stdout).expectations[0].holds, false);
    const holding = topologyFile(TRIANGLE);
    assert.equal(nslab(['check', holding, '--predict', '--json']).status, 0);
  });

  it('a big matrix prints as a summary with the first failures; --full prints the table', () => {
    const file = topologyFile(ringText(5, 'x-').replace('    h3x5: {}', '    h3x5: { routing: static }'));
    const r = nslab(['check', file, '--predict']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(
      lines[0],
      /^\d+\/\d+ pings predicted to reach \(\d+(\.\d)?%\), \d+ failed; \d+ of 342 node pairs$/,
    );
    assert.match(lines[1], /^first 10 of \d+ failures:$/);
    assert.match(lines[2], /^ {2}\S+ -> h3x5 \S+: lost \(.*\)$|^ {2}h3x5 -> .*: unreachable \(/);
    assert.match(r.stdout, /\(19 nodes: --full prints the whole matrix as a table\)/);
    assert.doesNotMatch(r.stdout, /│/);
    const full = nslab(['check', file, '--predict', '--full']);
    assert.match(full.stdout, /│ from \\ to │ host/);
  });
});

describe('reachability from the command line, live', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  const prefix = `nslab-t-rc${process.pid}-`;

  before(() => {
    sandbox = makeSandbox('reach-cli');
  });
  after(() =>
    removeSandbox(
      sandbox,
      ipNetnsList().filter((n) => n.startsWith(prefix)),
    ),
  );

  it('ping exits 0 with a pingall-style line when every ping is answered, 1 when one is not', () => {
    const file = topologyFile(tutorialTopology(1, prefix).replace('name: demo', 'name: pinged'));
    assert.equal(nslab(['up', file, '--host-netns', sandbox, '-q']).status, 0);
    try {
      const r = nslab(['ping', 'pinged', '--host-netns', sandbox, '--timeout', '300']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /\n6\/8 pings reached \(75%\), 2 failed; 4 of 6 node pairs\n$/);
      const check = nslab(['check', 'pinged', '--host-netns', sandbox, '--timeout', '300', '--json']);
      assert.equal(check.status, 0, 'no expectation, and the prediction agrees: the check holds');
    } finally {
      nslab(['down', 'pinged', '--host-netns', sandbox]);
    }
    const good = topologyFile(
      `${tutorialTopology(2, prefix).replace('name: demo', 'name: pinged')}expect:\n  - { from: ns0, to: ns1, reach: false }\n`,
    );
    assert.equal(nslab(['up', good, '--host-netns', sandbox, '-q']).status, 0);
    try {
      const r = nslab(['ping', 'pinged', '--host-netns', sandbox]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\n8\/8 pings reached \(100%\); 6 of 6 node pairs\n$/);
      const check = nslab(['check', good, '--host-netns', sandbox, '--json']);
      assert.equal(check.status, 1, 'check --json exits 1 when an expectation fails');
      assert.equal(JSON.parse(check.stdout).ok, false);
      const wait = nslab(['check', good, '--host-netns', sandbox, '--wait', '1.5s', '--expect-only']);
      assert.equal(wait.status, 1);
      assert.match(wait.stdout, /^attempt 1 after \d\.\d s: 0 of 1 expectation\(s\) hold\nattempt 2 after/);
      assert.doesNotMatch(wait.stdout, /finding/);
      assert.match(wait.stdout, /✘ 1 expectation\(s\) failed/);
    } finally {
      nslab(['down', 'pinged', '--host-netns', sandbox]);
    }
  });

  it('up warns when routing: auto cannot route a subnet, and when the lab needs more neighbour entries than the table holds', () => {
    const unrouted = topologyFile(
      TRIANGLE.replace('routing: auto\n', `routing: auto\nprefix: ${prefix}\n`).replace(
        'sysctls: { net.ipv4.ip_forward: 1 }',
        'sysctls: {}',
      ),
      'tri.nslab.yml',
    );
    const r = nslab(['up', unrouted, '--host-netns', sandbox, '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /^warning: \S+tri\.nslab\.yml:2:10: routing: auto gives r1 no IPv4 route to 10\.0\.3\.0\/24 \(between h3 and r3\)/m,
    );
    // The cap is one value for the whole machine, settable only in the initial namespace: a sandbox cannot
    // raise it for itself, so the test sizes the lab past it and checks the warning alone.
    const cap = neighbourLimit(4)!;
    const hosts = Math.ceil(Math.sqrt(cap)) + 1;
    const big = nslab([
      'up',
      topologyFile(lanText(hosts, prefix)),
      '--host-netns',
      sandbox,
      '--dry-run',
      '-q',
    ]);
    assert.equal(big.status, 0, big.stderr);
    assert.match(
      big.stderr,
      new RegExp(
        `warning: lab bigLan needs up to ${hosts * (hosts - 1)} IPv4 neighbour \\(ARP\\) entries .* at most ${cap} \\(net\\.ipv4\\.neigh\\.default\\.gc_thresh3\\).*sysctl -w net\\.ipv4\\.neigh\\.default\\.gc_thresh3=`,
      ),
    );
    assert.ok(!ipNetnsList().some((n) => n.startsWith(prefix)), 'a dry run makes nothing');
    const small = nslab(['up', topologyFile(lanText(4, prefix)), '--host-netns', sandbox, '--dry-run', '-q']);
    assert.doesNotMatch(small.stderr, /neighbour/);
  });
});
