/**
 * Every example lab loads, says what it shows, and its `expect:` entries hold by the forwarding simulator
 * (the live check of the same entries is in test/lab/examples.test.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import { predictMatrix } from '../../src/explain/matrix.js';
import { judgeExpectations } from '../../src/reach/matrix.js';
import { loadTopology, parseTopology } from '../../src/topology/load.js';
import { SEED } from '../topology/fixtures.js';

const dir = 'examples';
const files = readdirSync(dir).filter((f) => f.endsWith('.nslab.yml'));

describe('examples', () => {
  it('include the seed, lan, chain, dualstack and auto-chain labs', () => {
    for (const name of ['seed', 'lan', 'chain', 'dualstack', 'auto-chain']) {
      assert.ok(files.includes(`${name}.nslab.yml`), name);
    }
  });

  for (const f of files) {
    it(`${f} loads, starts with a comment saying what it shows, and its expectations hold`, async () => {
      const path = join(dir, f);
      assert.match(readFileSync(path, 'utf8'), /^# \S/);
      const lab = await loadTopology(path);
      if (f !== 'seed.nslab.yml') assert.ok(lab.expect.length > 0, 'no expect: entries');
      for (const r of judgeExpectations(lab, predictMatrix(lab))) {
        assert.ok(r.holds, `line ${r.expectation.pos?.line}: ${r.message}`);
      }
    });
  }

  it('seed.nslab.yml is the seed of the brief, exactly, after its comment', () => {
    const text = readFileSync(join(dir, 'seed.nslab.yml'), 'utf8');
    assert.equal(text.replace(/^(#.*\n)+/, ''), SEED);
  });

  it('the seed works as the tutorial says: through the host, thanks to its ip_forward and routes', () => {
    const lab = parseTopology(SEED);
    const e = explain(lab, 'ns0', 'ns1');
    assert.deepEqual([e.verdict, e.hops, e.replyTtl], ['reached', 1, 63]);
    lab.nodes[0].sysctls = {};
    assert.equal(explain(lab, 'ns0', '10.1.20.2').verdict, 'lost');
    const noRoutes = parseTopology(SEED);
    noRoutes.nodes[1].routes = [];
    assert.equal(explain(noRoutes, 'ns0', '10.1.20.2').failure?.reason, 'Network is unreachable');
  });

  it('auto-chain gets its addresses, routes and forwarding from nslab', async () => {
    const lab = await loadTopology(join(dir, 'auto-chain.nslab.yml'));
    assert.ok(lab.nodes.every((n) => n.interfaces.every((i) => i.autoAddressed && i.ipv4.length === 1)));
    assert.deepEqual(
      lab.nodes.map((n) => [n.name, n.sysctls['net.ipv4.ip_forward'], n.routes.length]),
      [
        ['h1', undefined, 1],
        ['r1', '1', 1],
        ['r2', '1', 2],
        ['r3', '1', 1],
        ['h2', undefined, 1],
      ],
    );
  });
});
