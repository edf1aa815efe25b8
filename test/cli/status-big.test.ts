/**
 * `nslab status` of a lab of more than 50 nodes: one line per node (how many interfaces, how many down, the first
 * addresses), `--full` the table of every interface. Witness: `ip link set ... down` in the sandbox.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { skipUnlessRoot } from '../helpers/kernel.js';

const N = 60;

describe('status of a big lab', { skip: skipUnlessRoot }, () => {
  const prefix = `nslab-t-sb${process.pid}-`;
  const name = `sb${process.pid}`;
  const nodes = Array.from({ length: N }, (_, i) => `    n${i}: {}`).join('\n');
  const links = Array.from(
    { length: N },
    (_, i) => `    - endpoints: ["host:s${i}", "n${i}:e0"]\n      ipv4: [10.77.${i}.1/30, 10.77.${i}.2/30]`,
  ).join('\n');
  const file = topologyFile(
    `name: ${name}\nprefix: ${prefix}\ntopology:\n  nodes:\n    host: {}\n${nodes}\n  links:\n${links}\n`,
  );
  let sandbox = '';
  before(() => {
    sandbox = makeSandbox('sb');
    const r = nslab(['up', file, '--host-netns', sandbox, '-q']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    nslab(['down', name, '--host-netns', sandbox, '-q']);
    removeSandbox(
      sandbox,
      Array.from({ length: N }, (_, i) => `${prefix}n${i}`),
    );
  });

  it('prints one line per node, and with --full one row per interface', () => {
    const r = nslab(['status', name]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const nodeLines = lines.filter((l) => /^(host|n\d+)\s/.test(l));
    assert.equal(nodeLines.length, N + 1);
    assert.match(
      lines.find((l) => l.startsWith('host '))!,
      /\(host\)\s+60 \(all up\)\s+10\.77\.0\.1\/30 10\.77\.1\.1\/30 \(\+58 more\)/,
    );
    assert.match(
      lines.find((l) => l.startsWith('n7 '))!,
      new RegExp(`${prefix}n7\\s+1 \\(all up\\)\\s+10\\.77\\.7\\.2/30$`),
    );
    assert.match(r.stdout, /61 nodes, one line each: --full for every interface/);
    const full = nslab(['status', name, '--full']);
    assert.equal(full.status, 0, full.stderr);
    assert.match(full.stdout, /│ s59\s+│ up\s+│ 10\.77\.59\.1\/30/);
  });

  it('counts the interfaces that are down, and says the drift', () => {
    execFileSync('ip', ['-n', sandbox, 'link', 'set', 's3', 'down']);
    const r = nslab(['status', name]);
    assert.equal(r.status, 1);
    assert.match(r.stdout.split('\n').find((l) => l.startsWith('host '))!, /60 \(1 down\)/);
    assert.match(r.stdout, /drift from the file \(1\)/);
  });
});
