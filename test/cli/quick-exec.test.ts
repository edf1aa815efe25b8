/**
 * `nslab exec` on its fast path (from the ledgers, before the library loads): what it runs, where, with what
 * exit code and timeout; and when it steps aside for the full path. Witnesses: the namespace inode the command
 * reads in /proc/self/ns/net against `ip netns identify`-style stats, the node's view, exit codes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseQuickExec } from '../../src/cli/quick-exec.js';
import { quickExecTarget } from '../../src/lab/quick-exec.js';
import { makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { skipUnlessRoot } from '../helpers/kernel.js';

describe('the fast spelling of nslab exec', () => {
  it('takes exec [--lab L] [--timeout S] [--host-netns NS] NODE -- CMD..., and nothing else', () => {
    assert.deepEqual(parseQuickExec(['exec', 'a', '--', 'ip', '-4', 'route']), {
      node: 'a',
      command: ['ip', '-4', 'route'],
    });
    assert.deepEqual(
      parseQuickExec(['exec', '--lab', 'x', '--timeout=1.5', '--host-netns', 'sbx', 'a', '--', 'true']),
      { lab: 'x', timeout: 1.5, hostNetns: 'sbx', node: 'a', command: ['true'] },
    );
    assert.deepEqual(parseQuickExec(['exec', 'a', '--host-netns', 'sbx', '--', 'true']), {
      hostNetns: 'sbx',
      node: 'a',
      command: ['true'],
    });
    for (const argv of [
      ['exec', 'a', 'true'], // no --: commander decides what the options are
      ['exec', 'a', '--'],
      ['exec', '--verbose', 'a', '--', 'true'],
      ['exec', '--timeout', 'soon', 'a', '--', 'true'],
      ['exec', '-h'],
      ['exec', 'a', 'b', '--', 'true'],
      ['exec', 'a', '-x', '--', 'true'],
      ['status', 'a', '--', 'true'],
    ])
      assert.equal(parseQuickExec(argv), undefined, argv.join(' '));
  });
});

describe('nslab exec without the library', { skip: skipUnlessRoot }, () => {
  const prefix = `nslab-t-qx${process.pid}-`;
  const name = `qx${process.pid}`;
  let sandbox = '';
  const file = topologyFile(`name: ${name}
prefix: ${prefix}
topology:
  nodes:
    a:
      files: { /etc/frr/frr.conf: "hostname a\\n" }
    b: {}
    host: { kind: host }
  links:
    - endpoints: ["a:e0", "b:e0"]
    - endpoints: ["host:${name}-b", "b:e1"]
`);
  const inode = (path: string) => statSync(path).ino;
  before(() => {
    sandbox = makeSandbox('qx');
    const r = nslab(['up', file, '--host-netns', sandbox, '-q']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    nslab(['down', name, '--host-netns', sandbox]);
    removeSandbox(sandbox, [`${prefix}a`, `${prefix}b`]);
  });

  it('runs the command in the node, in its view, with its exit code', () => {
    const t = quickExecTarget('a', { hostNetns: sandbox });
    assert.equal(t?.netnsPath, `/run/netns/${prefix}a`);
    assert.ok(t?.view, 'a has a view');
    const ns = nslab(['exec', '--host-netns', sandbox, 'b', '--', 'readlink', '/proc/self/ns/net']);
    assert.equal(ns.stdout.trim(), `net:[${inode(`/run/netns/${prefix}b`)}]`);
    const conf = nslab(['exec', '--lab', name, 'a', '--', 'cat', '/etc/frr/frr.conf']);
    assert.equal(conf.stdout, 'hostname a\n');
    assert.equal(nslab(['exec', '--lab', name, 'a', '--', 'sh', '-c', 'exit 7']).status, 7);
    // The host node runs in the namespace playing the host.
    const host = nslab(['exec', '--lab', name, 'host', '--', 'readlink', '/proc/self/ns/net']);
    assert.equal(host.stdout.trim(), `net:[${inode(`/run/netns/${sandbox}`)}]`);
  });

  it('kills the command at --timeout: exit 124, said in one line', () => {
    const t0 = performance.now();
    const r = nslab(['exec', '--lab', name, '--timeout', '0.3', 'b', '--', 'sleep', '30']);
    assert.equal(r.status, 124);
    assert.match(r.stderr, /sleep in b was still running after 0\.3 s: killed/);
    assert.ok(performance.now() - t0 < 10_000);
  });

  it('steps aside when the ledgers do not settle it: a namespace under the lab name that is not the one it made', () => {
    const ns = `${prefix}b`;
    const before = quickExecTarget('b', { hostNetns: sandbox });
    assert.equal(before?.netnsPath, `/run/netns/${ns}`);
    assert.equal(quickExecTarget('nope', { hostNetns: sandbox }), undefined);
    assert.equal(quickExecTarget('b', { lab: file }), undefined, 'a file: the full path reads it');
    // Another namespace under b's name (the lab's own deleted and made again by hand).
    execFileSync('ip', ['netns', 'del', ns]);
    execFileSync('ip', ['netns', 'add', ns]);
    assert.equal(quickExecTarget('b', { hostNetns: sandbox }), undefined);
    execFileSync('ip', ['netns', 'del', ns]);
  });
});
