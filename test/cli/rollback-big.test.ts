/**
 * `up` of a lab big enough that its namespaces' mount points are made ahead on a worker thread (32 or more), failing
 * after its namespaces exist (a sysctl this kernel does not have, on the last node): the rollback leaves nothing,
 * no namespace and no file under /run/netns with the lab's prefix; then `up` of the lab without the mistake
 * works, and `down` removes it all. Witnesses: `ip netns list` and /run/netns itself.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipNetnsList, skipUnlessRoot } from '../helpers/kernel.js';

const N = 48;

describe('a big up that fails midway', { skip: skipUnlessRoot }, () => {
  const prefix = `nslab-t-rb${process.pid}-`;
  const name = `rb${process.pid}`;
  const names = Array.from({ length: N }, (_, i) => `${prefix}n${i}`);
  const text = (sysctl: string) => {
    const nodes = Array.from({ length: N }, (_, i) =>
      i === N - 1 && sysctl ? `    n${i}: { sysctls: { ${sysctl}: "1" } }` : `    n${i}: {}`,
    ).join('\n');
    const links = Array.from(
      { length: N },
      (_, i) => `    - endpoints: ["host:s${i}", "n${i}:e0"]\n      ipv4: [10.78.${i}.1/30, 10.78.${i}.2/30]`,
    ).join('\n');
    return `name: ${name}\nprefix: ${prefix}\ntopology:\n  nodes:\n    host: {}\n${nodes}\n  links:\n${links}\n`;
  };
  const sandbox = makeSandbox('rb');
  after(() => {
    nslab(['down', name, '--host-netns', sandbox, '-q']);
    removeSandbox(sandbox, names);
  });
  const mine = () => ({
    netns: ipNetnsList().filter((n) => n.startsWith(prefix)),
    files: readdirSync('/run/netns').filter((n) => n.startsWith(prefix)),
  });

  it('rolls back every namespace and every mount-point file, then comes up without the mistake', () => {
    const bad = nslab([
      'up',
      topologyFile(text('net.ipv4.nslab_no_such_sysctl')),
      '--host-netns',
      sandbox,
      '-q',
    ]);
    assert.notEqual(bad.status, 0, 'up fails');
    assert.match(bad.stderr, /nslab_no_such_sysctl/);
    assert.deepEqual(mine(), { netns: [], files: [] });

    const good = nslab(['up', topologyFile(text('')), '--host-netns', sandbox, '-q']);
    assert.equal(good.status, 0, good.stderr);
    assert.equal(mine().netns.length, N);
    const down = nslab(['down', name, '--host-netns', sandbox, '-q']);
    assert.equal(down.status, 0, down.stderr);
    assert.deepEqual(mine(), { netns: [], files: [] });
  });
});
