/**
 * The sysctls nslab writes in lab namespaces by itself: ICMP error rate limiting off on the routers only, IPv6
 * DAD off everywhere in labs with IPv6; namespaces that neither route nor have IPv6 keep the kernel's defaults
 * (nslab writes nothing under /proc/sys there, which would cost a walk past every namespace's sysctl entries).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { parseTopology } from '../../src/topology/load.js';
import { makeSandbox, removeSandbox } from '../helpers/cli.js';
import { ipJson, ipNetnsList, skipUnlessRoot, sysctlIn } from '../helpers/kernel.js';

function text(prefix: string, ipv6: boolean, name = `defaults${ipv6 ? '6' : '4'}`): string {
  const v6 = (a: string, b: string) => (ipv6 ? `\n      ipv6: ["${a}", "${b}"]` : '');
  return `name: ${name}
prefix: ${prefix}
routing: auto
topology:
  nodes:
    r:
      sysctls: { net.ipv4.ip_forward: 1${ipv6 ? ', net.ipv6.conf.all.forwarding: 1' : ''} }
    a: {}
    b: {}
    host: {}
  links:
    - endpoints: ["host:h-r", "r:up"]
      ipv4: ["10.71.0.1/24", "10.71.0.2/24"]${v6('fd71::1/64', 'fd71::2/64')}
    - endpoints: ["a:eth0", "r:a"]
      ipv4: ["10.71.1.2/24", "10.71.1.1/24"]${v6('fd71:1::2/64', 'fd71:1::1/64')}
    - endpoints: ["b:eth0", "r:b"]
      ipv4: ["10.71.2.2/24", "10.71.2.1/24"]${v6('fd71:2::2/64', 'fd71:2::1/64')}
`;
}

for (const ipv6 of [false, true]) {
  describe(`lab namespace defaults, ${ipv6 ? 'IPv4 and IPv6' : 'IPv4 only'}`, {
    skip: skipUnlessRoot,
  }, () => {
    const prefix = `nslab-t-d${ipv6 ? 6 : 4}${process.pid}-`;
    let sandbox: string;
    let lab: Lab;
    before(async () => {
      sandbox = makeSandbox('defaults');
      lab = new Lab(parseTopology(text(prefix, ipv6)), { hostNetns: sandbox });
      await lab.up();
    });
    after(async () => {
      await lab.down();
      removeSandbox(
        sandbox,
        ipNetnsList().filter((n) => n.startsWith(prefix)),
      );
    });

    it('turns ICMP error rate limiting off on the router only', () => {
      assert.equal(sysctlIn(`${prefix}r`, 'net.ipv4.icmp_ratelimit'), '0');
      for (const leaf of ['a', 'b'])
        assert.equal(sysctlIn(`${prefix}${leaf}`, 'net.ipv4.icmp_ratelimit'), '1000');
      if (ipv6) assert.equal(sysctlIn(`${prefix}r`, 'net.ipv6.icmp.ratelimit'), '0');
    });

    it(ipv6 ? 'turns IPv6 DAD off in every namespace' : 'leaves IPv6 DAD as the kernel has it', () => {
      for (const node of ['r', 'a', 'b']) {
        assert.equal(sysctlIn(`${prefix}${node}`, 'net.ipv6.conf.default.accept_dad'), ipv6 ? '0' : '1');
      }
      assert.equal(sysctlIn(sandbox, 'net.ipv6.conf.default.accept_dad'), '1');
    });

    it(
      ipv6
        ? 'keeps IPv6 on the host-side devices, DAD off'
        : 'turns IPv6 off on the host-side devices it makes',
      () => {
        assert.equal(sysctlIn(sandbox, 'net.ipv6.conf.h-r.disable_ipv6'), ipv6 ? '0' : '1');
        if (ipv6) assert.equal(sysctlIn(sandbox, 'net.ipv6.conf.h-r.accept_dad'), '0');
        assert.equal(sysctlIn(sandbox, 'net.ipv6.conf.lo.disable_ipv6'), '0');
      },
    );

    it('reaches across the router with every probe answered', async () => {
      const report = await lab.check({ timeoutMs: 1500 });
      assert.deepEqual(report.findings, []);
      const pairs = report.matrix.results.filter((x) => x.from === 'a' && x.toNode === 'b');
      assert.ok(pairs.length > 0 && pairs.every((x) => x.verdict === 'reached'), JSON.stringify(pairs));
    });
  });
}

describe('a lab without IPv6 given IPv6 by an edit', { skip: skipUnlessRoot }, () => {
  const prefix = `nslab-t-d46${process.pid}-`;
  let sandbox: string;
  before(() => {
    sandbox = makeSandbox('defaults');
  });
  after(() => {
    removeSandbox(
      sandbox,
      ipNetnsList().filter((n) => n.startsWith(prefix)),
    );
  });

  it('turns IPv6 back on on the host-side devices and adds their addresses', async () => {
    await new Lab(parseTopology(text(prefix, false, 'edited')), { hostNetns: sandbox }).up();
    assert.equal(sysctlIn(sandbox, 'net.ipv6.conf.h-r.disable_ipv6'), '1');
    const lab = new Lab(parseTopology(text(prefix, true, 'edited')), { hostNetns: sandbox });
    const r = await lab.up();
    assert.ok(r.changed);
    assert.equal(sysctlIn(sandbox, 'net.ipv6.conf.h-r.disable_ipv6'), '0');
    const addrs = ipJson<{ addr_info: { local: string }[] }[]>(sandbox, 'addr', 'show', 'dev', 'h-r');
    assert.ok(
      addrs[0].addr_info.some((a) => a.local === 'fd71::1'),
      JSON.stringify(addrs),
    );
    assert.equal((await lab.up()).changed, false);
    await lab.down();
  });
});
