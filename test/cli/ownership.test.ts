/**
 * `down` removes what the lab made and nothing else, proven from the kernel: after an `up` killed half way,
 * someone else's namespace and device under the lab's names survive `down` and are never adopted by `up`; a
 * forged ledger gets nothing deleted; a damaged ledger is said so, and `down --force` recovers from the kernel;
 * `gc` finds and removes a marked orphan and leaves an unmarked look-alike; host sysctls two labs set are
 * restored by the last one down. Witnesses: `ip -json` and /proc.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { makeSandbox, nslab, nslabAsync, nslabRun, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipJson, ipNetnsDelete, ipNetnsList, skipUnlessRoot, sysctlIn } from '../helpers/kernel.js';
import { netnsInode, pidsInNetns } from '../helpers/proc.js';

const STATE = process.env.NSLAB_STATE_DIR ?? '/run/nslab';

interface IpLink {
  ifname: string;
  ifalias?: string;
}
const links = (ns: string) => ipJson<IpLink[]>(ns, 'link', 'show');
const names = (ns: string) => links(ns).map((l) => l.ifname);
const loAddrs = (ns: string) =>
  ipJson<{ addr_info: { local: string }[] }[]>(ns, 'addr', 'show', 'dev', 'lo')[0].addr_info.map(
    (a) => a.local,
  );

/** A star: `n` namespaces named PREFIX + n<i>, each joined to the host by h<i> <-> eth0. */
function star(lab: string, prefix: string, n: number, extra = '', host = 'h'): string {
  const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
  return `name: ${lab}
prefix: ${prefix}
topology:
  nodes:
${extra}${nodes.map((x) => `    ${x}: {}`).join('\n')}
  links:
${nodes.map((x, i) => `    - endpoints: ["host:${host}${i}", "${x}:eth0"]`).join('\n')}
`;
}

/** `up` through the library: the steps of these tests that only set a lab up need no CLI process. */
async function up(file: string, hostNetns: string): Promise<void> {
  const lab = await Lab.load(file, { hostNetns });
  assert.ok((await lab.up()).changed);
}

/**
 * Names under /run/netns with `prefix` that are namespaces (bind mounts, from mountinfo), not the plain files an
 * up makes ahead of its namespaces (netns/placeholders.ts), which `ip netns list` shows too.
 */
function mountedNetns(prefix: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m?.startsWith(`/run/netns/${prefix}`))
    .map((m) => m.slice('/run/netns/'.length));
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 2) await new Promise((r) => setTimeout(r, 2));
}

describe('ownership proven from the kernel', { skip: skipUnlessRoot }, () => {
  const pid = process.pid;
  let sandbox = '';
  const made: string[] = [];
  before(() => {
    sandbox = makeSandbox('own');
  });
  after(async () => {
    for (const lab of ['ownkill', 'ownforge', 'owndmg', 'ownplace', 'ownlock', 'ownsysa', 'ownsysb'])
      await Lab.remove(`${lab}${pid}`, { hostNetns: sandbox, graceMs: 0, force: true });
    const present = new Set(ipNetnsList());
    removeSandbox(
      sandbox,
      [...present].filter((n) => n.startsWith(`nslab-t-o${pid}`) || made.includes(n)),
    );
  });

  it('after an up killed half way, a foreign namespace and device under the lab’s names survive down, and up refuses them', async () => {
    const lab = `ownkill${pid}`;
    const prefix = `nslab-t-o${pid}k-`;
    const N = 120;
    const file = topologyFile(star(lab, prefix, N));
    const ours = () => ipNetnsList().filter((n) => n.startsWith(prefix));
    const p = nslabAsync(['up', file, '--host-netns', sandbox]);
    const exited = new Promise((r) => p.on('close', r));
    await waitFor(() => mountedNetns(prefix).length >= N / 4);
    p.kill('SIGKILL');
    await exited;
    const left = mountedNetns(prefix);
    assert.ok(left.length > 0 && left.length < N, `killed with ${left.length} of ${N} namespaces made`);
    // Someone else takes the name of the last namespace and of its host device, not made yet. The killed up may
    // have left the namespace's mount-point file made ahead (a plain file): that someone removes it first, as
    // `ip netns add` would refuse the name otherwise.
    const foreignNs = `${prefix}n${N - 1}`;
    assert.ok(!left.includes(foreignNs));
    rmSync(join('/run/netns', foreignNs), { force: true });
    execFileSync('ip', ['netns', 'add', foreignNs]);
    made.push(foreignNs);
    execFileSync('ip', ['-n', foreignNs, 'addr', 'add', '192.0.2.77/32', 'dev', 'lo']);
    execFileSync('ip', ['-n', sandbox, 'link', 'add', `h${N - 1}`, 'type', 'bridge']);

    const refused = nslab(['up', file, '--host-netns', sandbox]);
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`namespace ${foreignNs} \\(node n${N - 1}\\) already exists and lab ${lab} did not make it`),
    );
    assert.doesNotMatch(refused.stderr, /this is a bug/);

    const down = nslab(['down', lab, '--host-netns', sandbox, '--json']);
    assert.equal(down.status, 0, down.stderr);
    assert.deepEqual(ours(), [foreignNs]);
    assert.ok(loAddrs(foreignNs).includes('192.0.2.77'));
    assert.deepEqual(names(sandbox).sort(), [`h${N - 1}`, 'lo'].sort());
    ipNetnsDelete(foreignNs);
    execFileSync('ip', ['-n', sandbox, 'link', 'del', `h${N - 1}`]);
  });

  it('a forged ledger naming a foreign namespace, an unmarked device and the host namespace gets none of them deleted', () => {
    const lab = `ownforge${pid}`;
    const foreign = `nslab-t-o${pid}f-x`;
    execFileSync('ip', ['netns', 'add', foreign]);
    made.push(foreign);
    execFileSync('ip', ['-n', foreign, 'addr', 'add', '192.0.2.78/32', 'dev', 'lo']);
    execFileSync('ip', ['-n', sandbox, 'link', 'add', 'fbr0', 'type', 'bridge']);
    const id = (ns: string) => {
      const st = statSync(`/run/netns/${ns}`);
      return { name: ns, dev: st.dev, ino: st.ino };
    };
    const node = (name: string, netns: string | null, kind = 'netns') => ({
      name,
      kind,
      netns,
      sysctls: {},
      routes: [],
      exec: [],
      interfaces: [],
    });
    const forged = {
      version: 2,
      lab,
      hostNetns: sandbox,
      applied: {
        name: lab,
        prefix: '',
        nodes: [
          {
            ...node('host', null, 'host'),
            interfaces: [
              { node: 'host', name: 'fbr0', ipv4: [], ipv6: [], link: 0, peer: { node: 'x', name: 'e0' } },
            ],
          },
          node('x', foreign),
          node('sbx', sandbox),
        ],
        links: [],
        expect: [],
      },
      namespaces: [foreign, sandbox],
      // Even their identities: the foreign namespace's loopback has no mark, and the host is never the lab's.
      identities: [id(foreign), id(sandbox)],
      hostLinks: ['fbr0'],
      hostAddrs: [],
      hostRoutes: [],
      sysctls: [],
      execDone: [],
      createdAt: 'x',
      updatedAt: 'x',
    };
    writeFileSync(join(STATE, `${lab}@${sandbox}.json`), JSON.stringify(forged));
    const r = nslab(['down', lab, '--host-netns', sandbox]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `namespace ${sandbox} has a name of the lab but is not the lab's \\(it is the namespace playing the host\\)`,
      ),
    );
    assert.match(
      r.stderr,
      new RegExp(`namespace ${foreign} has the identity the lab recorded but not its mark on lo`),
    );
    assert.ok(ipNetnsList().includes(foreign) && ipNetnsList().includes(sandbox));
    assert.ok(loAddrs(foreign).includes('192.0.2.78'));
    assert.ok(names(sandbox).includes('fbr0'));
    ipNetnsDelete(foreign);
    execFileSync('ip', ['-n', sandbox, 'link', 'del', 'fbr0']);
  });

  it('a damaged ledger is said so by status and down, and down --force recovers from the kernel alone', async () => {
    const lab = `owndmg${pid}`;
    const prefix = `nslab-t-o${pid}d-`;
    const file = topologyFile(star(lab, prefix, 3, `    n0x: { exec: ["sleep 2001 &"] }\n`));
    await up(file, sandbox);
    const lookalike = `${prefix}zz`;
    execFileSync('ip', ['netns', 'add', lookalike]);
    made.push(lookalike);
    execFileSync('ip', [
      '-n',
      sandbox,
      'link',
      'add',
      'h9',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      lookalike,
    ]);
    const inodes = [`${prefix}n0x`, `${prefix}n0`].map(netnsInode);
    assert.equal(pidsInNetns(inodes).length, 1);
    const ledgerFile = join(STATE, `${lab}@${sandbox}.json`);
    const text = readFileSync(ledgerFile, 'utf8');
    writeFileSync(ledgerFile, text.slice(0, Math.floor(text.length / 3)));

    for (const args of [
      ['status', lab],
      ['down', lab],
    ]) {
      const r = nslab(args);
      assert.equal(r.status, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /is damaged: it is not valid JSON/);
      assert.match(r.stderr, new RegExp(`nslab down --force ${lab} --host-netns ${sandbox}`));
    }
    assert.equal(ipNetnsList().filter((n) => n.startsWith(prefix)).length, 5);
    assert.match(nslab(['status']).stdout, /damaged ledger/);

    const r = nslab(['down', '--force', lab, '--grace', '0.2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /stopped 1 process: sleep/);
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith(prefix)),
      [lookalike],
    );
    assert.deepEqual(names(sandbox).sort(), ['h9', 'lo']);
    assert.deepEqual(pidsInNetns(inodes), []);
    assert.ok(!Lab.list().some((l) => l.name === lab));
    ipNetnsDelete(lookalike);
  });

  it('the file of a creation killed before its bind mount is removed by up and by down', async () => {
    const lab = `ownplace${pid}`;
    const prefix = `nslab-t-o${pid}p-`;
    const file = topologyFile(star(lab, prefix, 2, '', 'p'));
    await up(file, sandbox);
    for (const next of ['up', 'down'] as const) {
      execFileSync('ip', ['netns', 'del', `${prefix}n1`]);
      writeFileSync(`/run/netns/${prefix}n1`, ''); // what `ip netns add` leaves when killed before mounting
      if (next === 'up') {
        const r = await (await Lab.load(file, { hostNetns: sandbox })).up();
        assert.ok(r.plan.ops.some((o) => o.op === 'netns-add' && o.ns === `${prefix}n1`));
        assert.equal(
          statSync(`/run/netns/${prefix}n1`).dev,
          statSync('/proc/self/ns/net').dev,
          'a namespace again',
        );
      } else {
        assert.ok((await Lab.remove(lab, { hostNetns: sandbox })).changed);
        assert.deepEqual(
          ipNetnsList().filter((n) => n.startsWith(prefix)),
          [],
        );
      }
    }
  });

  it('a stale lock, then 6 concurrent ups of one lab: all succeed, one after the other', async () => {
    const lab = `ownlock${pid}`;
    const prefix = `nslab-t-o${pid}l-`;
    const lock = join(STATE, `${lab}@${sandbox}.lock`);
    // A holder killed with SIGKILL while holding the lock; then an old-style pid file of a dead process.
    const holder = nslabAsync(['--version']);
    await new Promise((r) => holder.on('close', r));
    writeFileSync(lock, `${holder.pid}\n`);
    const file = topologyFile(star(lab, prefix, 4, '', 'l'));
    const runs = Array.from({ length: 6 }, () => nslabRun(['up', file, '--host-netns', sandbox, '--json']));
    const results = await Promise.all(runs);
    assert.deepEqual(
      results.map((x) => x.code),
      [0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(results.map((x) => JSON.parse(x.out).changed).sort(), [
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    assert.equal(ipNetnsList().filter((n) => n.startsWith(prefix)).length, 4);
    assert.ok((await Lab.remove(lab, { hostNetns: sandbox })).changed);
  });

  it('a host sysctl set by two labs is restored by the last one down, and only while it holds the value set', async () => {
    const key = 'net.ipv4.conf.all.arp_ignore';
    const before = sysctlIn(sandbox, key);
    const labA = `ownsysa${pid}`;
    const labB = `ownsysb${pid}`;
    const file = (lab: string, p: string) =>
      topologyFile(
        star(lab, `nslab-t-o${pid}${p}-`, 1, `    host: { sysctls: { ${key}: 1 } }\n`).replace('h0', `h${p}`),
      );
    await up(file(labA, 'a'), sandbox);
    await up(file(labB, 'b'), sandbox);
    assert.equal(sysctlIn(sandbox, key), '1');
    await Lab.remove(labA, { hostNetns: sandbox });
    assert.equal(sysctlIn(sandbox, key), '1', 'lab B still holds it');
    await Lab.remove(labB, { hostNetns: sandbox });
    assert.equal(sysctlIn(sandbox, key), before);
    // Changed by someone else after the lab set it: left as they set it.
    await up(file(labA, 'a'), sandbox);
    execFileSync('ip', ['netns', 'exec', sandbox, 'sysctl', '-qw', `${key}=2`]);
    await Lab.remove(labA, { hostNetns: sandbox });
    assert.equal(sysctlIn(sandbox, key), '2');
    execFileSync('ip', ['netns', 'exec', sandbox, 'sysctl', '-qw', `${key}=${before}`]);
  });
});

describe('labs found by name', { skip: skipUnlessRoot }, () => {
  const lab = `ownname${process.pid}`;
  const sandboxes: string[] = [];
  before(() => {
    sandboxes.push(makeSandbox('name'), makeSandbox('name'));
  });
  after(async () => {
    for (const s of sandboxes) {
      await Lab.remove(lab, { hostNetns: s, graceMs: 0 });
      removeSandbox(s);
    }
  });

  it('whatever host namespace they were built against, asking for --host-netns only when two share the name', async () => {
    const file = (i: number) => topologyFile(star(lab, `nslab-t-n${process.pid}${i}-`, 1));
    await up(file(0), sandboxes[0]);
    const one = nslab(['status', lab, '--json']);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout).hostNetns, sandboxes[0]);
    await up(file(1), sandboxes[1]);
    const two = nslab(['status', lab]);
    assert.equal(two.status, 2);
    assert.match(
      two.stderr,
      new RegExp(
        `several labs named ${lab} are up, with host namespaces .*${sandboxes[1]}.*: choose one with --host-netns NAME`,
      ),
    );
    const chosen = nslab(['down', lab, '--host-netns', sandboxes[1]]);
    assert.equal(chosen.status, 0, chosen.stderr);
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith(`nslab-t-n${process.pid}`)),
      [`nslab-t-n${process.pid}0-n0`],
    );
  });
});

describe('gc', { skip: skipUnlessRoot }, () => {
  const lab = `owngc${process.pid}`;
  const prefix = `nslab-t-g${process.pid}-`;
  let sandbox = '';
  const lookalike = `${prefix}look`;
  before(() => {
    sandbox = makeSandbox('gc');
  });
  after(async () => {
    await Lab.gc({ lab, yes: true, graceMs: 0 });
    removeSandbox(sandbox, [`${prefix}n0`, `${prefix}n1`, lookalike]);
  });

  it('lists a marked orphan, not an unmarked look-alike, and removes only the orphan with --yes', async () => {
    const file = topologyFile(star(lab, prefix, 2));
    await up(file, sandbox);
    // The ledger is lost: what the lab made is now an orphan.
    rmSync(join(STATE, `${lab}@${sandbox}.json`));
    // A look-alike: same names, no mark.
    execFileSync('ip', ['netns', 'add', lookalike]);
    execFileSync('ip', [
      '-n',
      sandbox,
      'link',
      'add',
      'hlook',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      lookalike,
    ]);
    execFileSync('ip', ['-n', lookalike, 'link', 'set', 'lo', 'alias', `not-${lab}`]);

    const listed = nslab(['gc', '--json']);
    assert.equal(listed.status, 0, listed.stderr);
    const all = JSON.parse(listed.stdout);
    const nsOf = (l: string) =>
      all.namespaces.filter((n: { lab: string }) => n.lab === l).map((n: { name: string }) => n.name);
    assert.deepEqual(nsOf(lab).sort(), [`${prefix}n0`, `${prefix}n1`]);
    assert.ok(!all.namespaces.some((n: { name: string }) => n.name === lookalike));
    assert.ok(!all.devices.some((d: { name: string }) => d.name === 'hlook'));

    const r = nslab(['gc', '--lab', lab, '--yes']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /removed 2 namespaces and 2 devices/);
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith(prefix)),
      [lookalike],
    );
    assert.deepEqual(names(sandbox).sort(), ['hlook', 'lo']);
    const again = await Lab.gc({ lab });
    assert.deepEqual([again.namespaces, again.devices], [[], []]);
  });
});
