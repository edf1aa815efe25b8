/**
 * Address plans through the built CLI, against a sandbox host namespace, with the kernel as the witness
 * (`ip -json`): plans that cannot work are refused with both places and create nothing; an IPv6-only file gets
 * no IPv4; a route to 0.0.0.0/0 is the default route, and automatic addressing still works beside it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipJson, ipNetnsList, skipUnlessRoot, uniqueName } from '../helpers/kernel.js';

interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

/** The global addresses of each interface of a namespace but lo, as `ifname family address/len`. */
function addresses(ns: string): string[] {
  return ipJson<IpAddr[]>(ns, 'addr', 'show')
    .filter((a) => a.ifname !== 'lo')
    .flatMap((a) =>
      a.addr_info
        .filter((i) => i.scope === 'global')
        .map((i) => `${a.ifname} ${i.family} ${i.local}/${i.prefixlen}`),
    );
}

describe('address plans through nslab up', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  let prefix: string;
  const made = () => ipNetnsList().filter((n) => n.startsWith(prefix));
  before(() => {
    sandbox = makeSandbox('addr');
    prefix = `${uniqueName('ap')}-`;
  });
  after(() => removeSandbox(sandbox, made()));

  /** `nslab up` of a two- or three-node file in the sandbox. */
  const up = (body: string, name = 'ap') =>
    nslab(['up', topologyFile(`name: ${name}\nprefix: ${prefix}\n${body}`), '--host-netns', sandbox]);
  const down = (name = 'ap') => nslab(['down', name, '--host-netns', sandbox]);

  it('refuses the two ends of a link in different subnets, and overlapping subnets, with both places', () => {
    const apart = up(`topology:
  nodes: { a: {}, b: {} }
  links:
    - endpoints: ["a:e0", "b:e0"]
      ipv4: [10.0.2.1/24, 10.0.3.1/24]
`);
    assert.equal(apart.status, 2, apart.stderr);
    assert.match(
      apart.stderr,
      /lab\.nslab\.yml:7:27: the two ends of link 1 are in different subnets: 10\.0\.3\.1\/24 of b:e0 and 10\.0\.2\.1\/24 of a:e0 \(line 7\)/,
    );
    const overlap = up(`topology:
  nodes: { a: {}, b: {}, c: {} }
  links:
    - endpoints: ["a:e0", "b:e0"]
      ipv4: [10.0.0.1/24, 10.0.0.2/24]
    - endpoints: ["a:e1", "c:e0"]
      ipv4: [10.0.0.129/25, 10.0.0.130/25]
`);
    assert.equal(overlap.status, 2, overlap.stderr);
    assert.match(
      overlap.stderr,
      /lab\.nslab\.yml:9:14: 10\.0\.0\.129\/25 of a:e1 \(10\.0\.0\.128\/25\) overlaps 10\.0\.0\.0\/24 of link 1 at line 7/,
    );
    assert.deepEqual(made(), []);
    assert.deepEqual(
      ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').map((l) => l.ifname),
      ['lo'],
    );
  });

  it('an IPv6-only file gets IPv6 addresses on every link and no IPv4 at all', () => {
    const r = up(`topology:
  nodes: { a: {}, b: {}, c: {} }
  links:
    - endpoints: ["a:e0", "b:e0"]
      ipv6: ["fd00:77::1/64", "fd00:77::2/64"]
    - endpoints: ["b:e1", "c:e0"]
    - endpoints: ["host:v6c", "c:e1"]
`);
    assert.equal(r.status, 0, r.stderr);
    try {
      assert.deepEqual(addresses(`${prefix}a`), ['e0 inet6 fd00:77::1/64']);
      assert.deepEqual(addresses(`${prefix}b`), ['e0 inet6 fd00:77::2/64', 'e1 inet6 fd00:200::1/64']);
      assert.deepEqual(addresses(`${prefix}c`), ['e0 inet6 fd00:200::2/64', 'e1 inet6 fd00:200:0:1::2/64']);
      assert.deepEqual(addresses(sandbox), ['v6c inet6 fd00:200:0:1::1/64']);
    } finally {
      assert.equal(down().status, 0);
    }
    assert.deepEqual(made(), []);
  });

  it('a route to 0.0.0.0/0 is the default route, and the links still get addresses', () => {
    const r = up(
      `topology:
  nodes:
    h: { routes: [{ dst: 0.0.0.0/0, via: r }] }
    r: {}
  links:
    - endpoints: ["h:e0", "r:e0"]
`,
      'zero',
    );
    assert.equal(r.status, 0, r.stderr);
    try {
      assert.deepEqual(addresses(`${prefix}h`), ['e0 inet 10.200.0.1/30']);
      assert.deepEqual(
        ipJson<IpRoute[]>(`${prefix}h`, 'route', 'show', 'default').map((x) => [x.dst, x.gateway, x.dev]),
        [['default', '10.200.0.2', 'e0']],
      );
    } finally {
      assert.equal(down('zero').status, 0);
    }
    assert.deepEqual(made(), []);
  });
});
