/**
 * A chain of 250 routers with `routing: auto` and no address written: nslab addresses every link, routes every
 * subnet, turns on forwarding and raises the default TTL; every pair reaches every other, live.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/topology/load.js';
import { makeSandbox, removeSandbox } from '../helpers/cli.js';
import { ipJson, ipNetnsList, netnsExec, skipUnlessRoot } from '../helpers/kernel.js';

const N = 250;
const prefix = `nslab-t-c${process.pid}-`;
const text = `name: chain250
prefix: ${prefix}
routing: auto
topology:
  nodes:
${Array.from({ length: N }, (_, i) => `    r${i}: {}`).join('\n')}
  links:
${Array.from({ length: N - 1 }, (_, i) => `    - endpoints: ["r${i}:right", "r${i + 1}:left"]`).join('\n')}
`;

describe(`a chain of ${N} routers with routing: auto`, { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  let lab: Lab;
  before(() => {
    sandbox = makeSandbox('chain');
    lab = new Lab(parseTopology(text), { hostNetns: sandbox });
  });
  after(async () => {
    await lab.down();
    removeSandbox(
      sandbox,
      ipNetnsList().filter((n) => n.startsWith(prefix)),
    );
  });

  it('deploys with the computed routes', async () => {
    const r = await lab.up();
    assert.ok(r.changed);
    // r0 has one way out: a default route; a router in the middle has a route to every subnet it is not on
    const routes = ipJson<{ dst: string; gateway?: string }[]>(`${prefix}r0`, 'route', 'show');
    assert.deepEqual(
      routes.filter((x) => x.gateway).map((x) => x.dst),
      ['default'],
    );
    assert.equal(ipJson(`${prefix}r125`, 'route', 'show').length, N - 1);
  });

  it('every pair reaches every other (ping r0 -> r249 crosses 248 routers)', async () => {
    const report = await lab.check({ timeoutMs: 1500, addresses: 'first' });
    const notReached = report.matrix.results.filter((x) => x.verdict !== 'reached');
    assert.equal(notReached.length, 0, JSON.stringify(notReached.slice(0, 3)));
    assert.deepEqual(report.findings, []);
    const far = lab.topology.nodes[N - 1].interfaces[0].ipv4[0].split('/')[0];
    const p = netnsExec(`${prefix}r0`, ['ping', '-c', '1', '-W', '2', far]);
    assert.equal(p.status, 0, p.stdout + p.stderr);
    assert.match(p.stdout, /ttl=7\b/); // 255 - 248 routers
  });
});
