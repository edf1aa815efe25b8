/**
 * End to end: the built CLI against examples/seed.nslab.yml inside a sandbox host namespace, checked with
 * `ip -json`; a second up that does nothing; edits applied as differences; rollback; down leaving nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeSandbox, nslab, nslabAsync, nslabRun, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipJson, ipNetnsList, netnsExec, skipUnlessRoot, sysctlIn } from '../helpers/kernel.js';

const REAL_FORWARD = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
const SEED = join(import.meta.dirname, '..', '..', 'examples', 'seed.nslab.yml');

interface IpAddr {
  ifname: string;
  flags: string[];
  operstate: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
/** What the file decides about a namespace's interfaces: names, up or down, global addresses. */
function interfaces(ns: string): string {
  return JSON.stringify(
    ipJson<IpAddr[]>(ns, 'addr', 'show').map((a) => ({
      name: a.ifname,
      up: a.flags.includes('UP'),
      addrs: a.addr_info.filter((i) => !i.local.startsWith('fe80')).map((i) => `${i.local}/${i.prefixlen}`),
    })),
  );
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

function v4(ns: string, dev: string): { up: boolean; addrs: string[] } {
  const a = ipJson<IpAddr[]>(ns, 'addr', 'show', 'dev', dev)[0];
  return {
    up: a.flags.includes('UP'),
    addrs: a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`),
  };
}

// The seed file names its namespaces ns0 and ns1, as the tutorial does: never touch them if they are someone's.
const seedSkip =
  skipUnlessRoot ||
  (ipNetnsList().some((n) => n === 'ns0' || n === 'ns1')
    ? 'namespaces ns0/ns1 already exist on this machine, and the seed lab needs those names'
    : false);

describe('nslab up/down with the tutorial lab', { skip: seedSkip }, () => {
  let sandbox = '';

  before(() => {
    sandbox = makeSandbox('seed');
  });

  after(() => {
    if (!sandbox) return;
    nslab(['down', 'seed', '--host-netns', sandbox]);
    removeSandbox(sandbox, ['ns0', 'ns1']);
  });

  it('builds exactly the tutorial lab', () => {
    const r = nslab(['up', SEED, '--host-netns', sandbox]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ip netns add ns0/);
    assert.match(r.stdout, /lab seed is up/);
    const listed = ipNetnsList();
    assert.ok(listed.includes('ns0') && listed.includes('ns1'));
    assert.deepEqual(v4(sandbox, 'veth11'), { up: true, addrs: ['10.1.10.1/24'] });
    assert.deepEqual(v4(sandbox, 'veth21'), { up: true, addrs: ['10.1.20.1/24'] });
    assert.deepEqual(v4('ns0', 'veth12'), { up: true, addrs: ['10.1.10.2/24'] });
    assert.deepEqual(v4('ns1', 'veth22'), { up: true, addrs: ['10.1.20.2/24'] });
    const r0 = ipJson<IpRoute[]>('ns0', 'route', 'show');
    const r1 = ipJson<IpRoute[]>('ns1', 'route', 'show');
    assert.ok(r0.some((x) => x.dst === '10.1.20.0/24' && x.gateway === '10.1.10.1' && x.dev === 'veth12'));
    assert.ok(r1.some((x) => x.dst === '10.1.10.0/24' && x.gateway === '10.1.20.1' && x.dev === 'veth22'));
    assert.equal(sysctlIn(sandbox, 'net.ipv4.ip_forward'), '1');
  });

  it('ns0 pings ns1 through the host with ttl=63', () => {
    const p = netnsExec('ns0', ['ping', '-c', '1', '-W', '2', '10.1.20.2']);
    assert.equal(p.status, 0, p.stdout + p.stderr);
    assert.match(p.stdout, /ttl=63/);
  });

  it('a second up changes nothing and says so', () => {
    const before = interfaces(sandbox);
    const r = nslab(['up', SEED, '--host-netns', sandbox, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.changed, false);
    assert.deepEqual(res.operations, []);
    assert.match(nslab(['up', SEED, '--host-netns', sandbox]).stdout, /up to date: nothing to change/);
    assert.equal(interfaces(sandbox), before);
  });

  it('status reads the lab back from the kernel', () => {
    const r = nslab(['status', 'seed', '--host-netns', sandbox, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.deployed, true);
    assert.deepEqual(s.drift, []);
    const ns0 = s.nodes.find((n: { name: string }) => n.name === 'ns0');
    assert.deepEqual(ns0.interfaces[0].addresses, ['10.1.10.2/24']);
    assert.deepEqual(ns0.routes, ['10.1.20.0/24 via 10.1.10.1 dev veth12']);
  });

  it('status reports drift made behind its back, and up repairs only that', () => {
    netnsExec('ns1', ['ip', 'route', 'del', '10.1.10.0/24']);
    const s = nslab(['status', 'seed', '--host-netns', sandbox]);
    assert.equal(s.status, 1);
    assert.match(s.stdout, /drift from the file/);
    const r = JSON.parse(nslab(['up', SEED, '--host-netns', sandbox, '--json']).stdout);
    assert.deepEqual(
      r.operations.map((o: { command: string }) => o.command),
      ['ip netns exec ns1 ip route add 10.1.10.0/24 via 10.1.20.1 dev veth22'],
    );
  });

  it('exec runs inside a node and passes the exit code through', () => {
    const ok = nslab([
      'exec',
      '--host-netns',
      sandbox,
      'ns1',
      '--',
      'ip',
      '-br',
      'addr',
      'show',
      'dev',
      'veth22',
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /10\.1\.20\.2\/24/);
    assert.equal(nslab(['exec', '--host-netns', sandbox, 'ns0', '--', 'sh', '-c', 'exit 7']).status, 7);
    const missing = nslab(['exec', '--host-netns', sandbox, 'ns9', '--', 'true']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no lab that is up has a node called ns9/);
  });

  it('down removes every namespace and veth and restores ip_forward', () => {
    const r = nslab(['down', 'seed', '--host-netns', sandbox]);
    assert.equal(r.status, 0, r.stderr);
    const listed = ipNetnsList();
    assert.ok(!listed.includes('ns0') && !listed.includes('ns1'));
    const links = ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').map((l) => l.ifname);
    assert.deepEqual(links, ['lo']);
    assert.equal(sysctlIn(sandbox, 'net.ipv4.ip_forward'), '0');
    assert.match(nslab(['down', 'seed', '--host-netns', sandbox]).stdout, /not up: nothing to remove/);
  });
});

describe('nslab up applies edits as differences, and rolls back failures', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  const prefix = `nslab-t-ed${process.pid}-`;
  const names = ['a', 'b', 'c'].map((n) => `${prefix}${n}`);
  const base = (extra = '', route = '10.9.2.0/24') => `name: edits
prefix: ${prefix}
topology:
  nodes:
    host: { sysctls: { net.ipv4.ip_forward: 1 } }
    a: { routes: [{ dst: ${route}, via: 10.9.1.1 }] }
    b: {}
${extra}
  links:
    - endpoints: ["host:ea", "a:eth0"]
      ipv4: [10.9.1.1/24, 10.9.1.2/24]
    - endpoints: ["host:eb", "b:eth0"]
      ipv4: [10.9.2.1/24, 10.9.2.2/24]
`;

  before(() => {
    sandbox = makeSandbox('edits');
  });
  after(() => {
    nslab(['down', 'edits', '--host-netns', sandbox]);
    removeSandbox(sandbox, names);
  });

  it('adds a node and a link, changes a route, and touches nothing else', () => {
    const file = topologyFile(base());
    assert.equal(nslab(['up', file, '--host-netns', sandbox]).status, 0);
    const edited = topologyFile(
      `${base('    c: {}', '10.9.0.0/16').replace('  links:\n', '  links:\n    - endpoints: ["host:ec", "c:eth0"]\n      ipv4: [10.9.3.1/24, 10.9.3.2/24]\n')}`,
    );
    const r = JSON.parse(nslab(['up', edited, '--host-netns', sandbox, '--json']).stdout);
    const cmds: string[] = r.operations.map((o: { command: string }) => o.command);
    assert.ok(cmds.includes(`ip netns add ${prefix}c`));
    assert.ok(cmds.some((c) => c.includes(`ip link add ec type veth peer name eth0 netns ${prefix}c`)));
    assert.ok(cmds.some((c) => c.includes('10.9.0.0/16 via 10.9.1.1')));
    assert.ok(!cmds.some((c) => c.includes(`netns add ${prefix}a`) || c.includes('10.9.2.1/24')));
    assert.ok(ipNetnsList().includes(`${prefix}c`));
    const aRoutes = ipJson<IpRoute[]>(`${prefix}a`, 'route', 'show').map((x) => x.dst);
    assert.ok(aRoutes.includes('10.9.0.0/16') && !aRoutes.includes('10.9.2.0/24'));
    // and back: the node goes, with its veth
    const back = JSON.parse(nslab(['up', topologyFile(base()), '--host-netns', sandbox, '--json']).stdout);
    assert.ok(back.operations.some((o: { command: string }) => o.command === `ip netns del ${prefix}c`));
    assert.ok(!ipNetnsList().includes(`${prefix}c`));
    assert.ok(!ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').some((l) => l.ifname === 'ec'));
  });

  it('a failure half way rolls back what the run created and names the operation and the error', () => {
    const failing = topologyFile(
      base('    c: { exec: ["echo starting; exit 3"] }').replace(
        '  links:\n',
        '  links:\n    - endpoints: ["host:ec", "c:eth0"]\n      ipv4: [10.9.3.1/24, 10.9.3.2/24]\n',
      ),
    );
    // Only this lab's namespaces: other tests on the machine make and delete theirs meanwhile.
    const mine = () => ipNetnsList().filter((n) => n.startsWith(prefix));
    const before = JSON.stringify([mine(), interfaces(sandbox)]);
    const r = nslab(['up', failing, '--host-netns', sandbox]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /echo starting; exit 3/);
    assert.match(r.stderr, /exited with status 3/);
    assert.match(r.stderr, /rolled back/);
    assert.equal(JSON.stringify([mine(), interfaces(sandbox)]), before);
    // the lab is still the one deployed before, in line with its file
    const s = JSON.parse(nslab(['status', 'edits', '--host-netns', sandbox, '--json']).stdout);
    assert.deepEqual(s.drift, []);
  });

  it('serialises concurrent runs of the same lab with a lock', async () => {
    assert.equal(nslab(['down', 'edits', '--host-netns', sandbox]).status, 0);
    const file = topologyFile(base());
    const runs = [0, 1].map(() => nslabRun(['up', file, '--host-netns', sandbox, '--json']));
    const results = await Promise.all(runs);
    assert.deepEqual(
      results.map((x) => x.code),
      [0, 0],
    );
    const changed = results.map((x) => JSON.parse(x.out).changed).sort();
    assert.deepEqual(changed, [false, true]);
  });
});

describe('nslab up killed half way converges on the next up or down', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  const prefix = `nslab-t-k${process.pid}-`;
  const N = 120;
  const nodes = Array.from({ length: N }, (_, i) => `n${i}`);
  const text = `name: kill
prefix: ${prefix}
topology:
  nodes:
    host: { sysctls: { net.ipv4.ip_forward: 1 } }
${nodes.map((n) => `    ${n}: {}`).join('\n')}
  links:
${nodes.map((n, i) => `    - endpoints: ["host:h${i}", "${n}:eth0"]`).join('\n')}
`;
  const ours = () => ipNetnsList().filter((n) => n.startsWith(prefix));

  before(() => {
    sandbox = makeSandbox('kill');
  });
  after(() => {
    nslab(['down', 'kill', '--host-netns', sandbox]);
    removeSandbox(
      sandbox,
      nodes.map((n) => `${prefix}${n}`),
    );
  });

  const nsCount = () => ours().length;
  const hostLinks = () => ipJson(sandbox, 'link', 'show').length - 1;

  /** Starts `up` and kills it (SIGKILL) once `progress()` reaches a quarter of the lab. */
  async function killMidway(file: string, progress: () => number): Promise<void> {
    const p = nslabAsync(['up', file, '--host-netns', sandbox]);
    const exited = new Promise((r) => p.on('close', r));
    for (let i = 0; i < 5000 && progress() < N / 4; i++) await new Promise((r) => setTimeout(r, 1));
    p.kill('SIGKILL');
    await exited;
  }

  for (const [phase, progress] of [
    ['while making namespaces', nsCount],
    ['while making veth pairs', hostLinks],
  ] as const)
    for (const next of ['up', 'down'] as const) {
      it(`${phase}, then ${next}`, async () => {
        const file = topologyFile(text);
        await killMidway(file, progress);
        if (phase === 'while making veth pairs')
          assert.ok(hostLinks() > 0, 'the kill came after some veths were made');
        assert.ok(ours().length > 0, 'the kill came after some namespaces were made');
        if (next === 'up') {
          const r = nslab(['up', file, '--host-netns', sandbox]);
          assert.equal(r.status, 0, r.stderr);
          assert.equal(ours().length, N);
          assert.equal(ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').length, N + 1);
          assert.match(nslab(['up', file, '--host-netns', sandbox]).stdout, /nothing to change/);
        }
        const d = nslab(['down', 'kill', '--host-netns', sandbox]);
        assert.equal(d.status, 0, d.stderr);
        assert.deepEqual(ours(), []);
        for (let i = 0; i < 200 && ipJson(sandbox, 'link', 'show').length > 1; i++)
          await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(
          ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').map((l) => l.ifname),
          ['lo'],
        );
        assert.equal(sysctlIn(sandbox, 'net.ipv4.ip_forward'), '0');
        assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), REAL_FORWARD);
      });
    }
});

describe('a lab whose host namespace was deleted by hand', { skip: skipUnlessRoot }, () => {
  const prefix = `nslab-t-gone${process.pid}-`;
  let sandbox = '';
  before(() => {
    sandbox = makeSandbox('gone');
  });
  after(() => {
    if (sandbox) removeSandbox(sandbox, [`${prefix}a`, `${prefix}b`]);
  });

  it('is shown as gone by status, and down removes its namespaces and its record', () => {
    const file = topologyFile(`name: gone
prefix: ${prefix}
topology:
  nodes: { a: {}, b: {} }
  links:
    - endpoints: ["host:ha", "a:eth0"]
    - endpoints: ["a:eth1", "b:eth0"]
`);
    assert.equal(nslab(['up', file, '--host-netns', sandbox]).status, 0);
    execFileSync('ip', ['netns', 'del', sandbox]);
    const s = nslab(['status']);
    assert.match(s.stdout, new RegExp(`${sandbox} \\(gone\\)`));
    const d = nslab(['down', 'gone', '--host-netns', sandbox]);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, new RegExp(`ip netns del ${prefix}a`));
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith(prefix)),
      [],
    );
    assert.doesNotMatch(nslab(['status']).stdout, /\bgone\b.*\(gone\)/);
  });
});
