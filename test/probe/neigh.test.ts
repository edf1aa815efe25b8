/**
 * The kernel's neighbour tables as nslab reads them (/proc/net/stat/arp_cache, ndisc_cache, gc_thresh3),
 * against iproute2's own reading of the same tables (`ip -s -j ntable`). Reading only: the limit is one value
 * for the whole machine (every namespace's `neigh.default.gc_thresh3` is the same kernel variable), so no test
 * writes it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { neighbourLimit, neighbourLimitSysctl, neighbourTableStats } from '../../src/probe/neigh.js';
import { makeSandbox, removeSandbox } from '../helpers/cli.js';
import { netnsExec, skipUnlessRoot } from '../helpers/kernel.js';

function ntable(name: 'arp_cache' | 'ndisc_cache'): {
  thresh3: number;
  table_fulls: number;
  entries: number;
} {
  const all = JSON.parse(
    execFileSync('ip', ['-s', '-j', 'ntable', 'show', 'name', name], { encoding: 'utf8' }),
  );
  return all.find((t: { thresh3?: number }) => t.thresh3 !== undefined);
}

describe('neighbour tables', () => {
  for (const [family, name] of [
    [4, 'arp_cache'],
    [6, 'ndisc_cache'],
  ] as const) {
    it(`IPv${family}: table_fulls and the cap read as ip -s ntable shows them`, () => {
      const before = neighbourTableStats(family);
      const ip = ntable(name);
      const after = neighbourTableStats(family);
      assert.ok(before && after);
      // Other labs on the machine may fill the table meanwhile: the counter only grows.
      assert.ok(
        before.tableFulls <= ip.table_fulls && ip.table_fulls <= after.tableFulls,
        JSON.stringify(ip),
      );
      assert.equal(neighbourLimit(family), ip.thresh3);
      assert.equal(neighbourLimitSysctl(family), `net.ipv${family}.neigh.default.gc_thresh3`);
    });
  }

  it("a new namespace cannot have a cap of its own: no gc_thresh3, or the host's", {
    skip: skipUnlessRoot,
  }, (t) => {
    const sandbox = makeSandbox('neigh');
    try {
      for (const family of [4, 6] as const) {
        const r = netnsExec(sandbox, ['cat', `/proc/sys/net/ipv${family}/neigh/default/gc_thresh3`]);
        t.diagnostic(
          `IPv${family} in a new namespace: ${r.status === 0 ? r.stdout.trim() : r.stderr.trim()}`,
        );
        if (r.status === 0) assert.equal(Number(r.stdout), neighbourLimit(family));
        else assert.match(r.stderr, /No such file/);
      }
    } finally {
      removeSandbox(sandbox);
    }
  });
});
