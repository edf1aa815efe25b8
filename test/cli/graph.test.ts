/**
 * `nslab graph` through the built CLI: from the file (no root), and `--live` from the kernel, where a link taken
 * down behind nslab's back and an address added by hand are marked.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { skipUnlessRoot } from '../helpers/kernel.js';

const SEED = join(import.meta.dirname, '..', '..', 'examples', 'seed.nslab.yml');

describe('nslab graph from the file', () => {
  it('writes DOT, Mermaid and SVG with every node, interface and address', () => {
    for (const format of ['dot', 'mermaid', 'svg']) {
      const r = nslab(['graph', SEED, '--format', format]);
      assert.equal(r.status, 0, r.stderr);
      for (const text of [
        'ns0',
        'ns1',
        'host',
        'veth11',
        'veth12',
        'veth21',
        'veth22',
        '10.1.10.1/24',
        '10.1.20.2/24',
      ]) {
        assert.ok(r.stdout.includes(text), `${format} has ${text}`);
      }
    }
  });

  it('writes a PNG to a file', () => {
    const out = join(topologyFile('unused'), '..', 'seed.png');
    const r = nslab(['graph', SEED, '--routes', '-f', 'png', '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([...readFileSync(out).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('refuses an unknown format with exit code 2', () => {
    assert.equal(nslab(['graph', SEED, '--format', 'gif']).status, 2);
  });
});

describe('nslab graph --live', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  const prefix = `nslab-t-g${process.pid}-`;
  const file = () =>
    topologyFile(readFileSync(SEED, 'utf8').replace('name: seed', `name: graphlive\nprefix: ${prefix}`));

  before(() => {
    sandbox = makeSandbox('graph');
    assert.equal(nslab(['up', file(), '--host-netns', sandbox]).status, 0);
  });
  after(() => {
    nslab(['down', 'graphlive', '--host-netns', sandbox]);
    removeSandbox(sandbox, [`${prefix}ns0`, `${prefix}ns1`]);
  });

  it('marks a link that is down and an address that is not in the file', () => {
    const clean = nslab(['graph', '--live', 'graphlive', '--host-netns', sandbox, '-f', 'dot']);
    assert.equal(clean.status, 0, clean.stderr);
    const edge = (dot: string, id = 'link-1') => dot.split('\n').find((l) => l.includes(`id="${id}"`)) ?? '';
    assert.doesNotMatch(edge(clean.stdout), /#d62728|dashed/);
    execFileSync('ip', ['-n', `${prefix}ns1`, 'link', 'set', 'veth22', 'down']);
    execFileSync('ip', ['-n', `${prefix}ns0`, 'addr', 'add', '10.1.10.99/24', 'dev', 'veth12']);
    const r = nslab(['graph', '--live', 'graphlive', '--host-netns', sandbox, '-f', 'dot']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(edge(r.stdout), /#d62728/, 'down link in red');
    assert.match(edge(r.stdout), /dashed/);
    assert.doesNotMatch(edge(r.stdout, 'link-0'), /#d62728/, 'the other link is still up');
    assert.match(r.stdout, /10\.1\.10\.99\/24/, 'the extra address is drawn');
  });
});
