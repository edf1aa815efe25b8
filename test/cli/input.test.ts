/**
 * Bad input through the built CLI: every problem named with file:line:col and a sentence, exit code 2, no
 * stack trace, and nothing created in the kernel. Plus the sentence a user without root gets.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { BIN, makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipJson, ipNetnsList, skipUnlessRoot } from '../helpers/kernel.js';

const good = (nodes: string, links: string) => `name: bad
prefix: nslab-t-bad-
topology:
  nodes:
${nodes}
  links:
${links}
`;
const twoNodes = '    a: {}\n    b: {}';
const oneLink = (addr = '[10.0.0.1/24, 10.0.0.2/24]') =>
  `    - endpoints: ["a:e0", "b:e0"]\n      ipv4: ${addr}`;

const cases: { name: string; text: string; line: number; col: number; says: RegExp }[] = [
  {
    name: 'unknown key (typo)',
    text: good('    a: { rotues: [] }\n    b: {}', oneLink()),
    line: 5,
    col: 10,
    says: /unknown key 'rotues'.*did you mean 'routes'/,
  },
  {
    name: 'bad CIDR',
    text: good(twoNodes, oneLink('[10.0.0.300/24, 10.0.0.2/24]')),
    line: 9,
    col: 14,
    says: /not '10\.0\.0\.300\/24'/,
  },
  {
    name: 'not one address per endpoint',
    text: good(twoNodes, oneLink('[10.0.0.1/24]')),
    line: 9,
    col: 13,
    says: /one address per endpoint/,
  },
  {
    name: 'duplicate address',
    text: good(
      '    a: {}\n    b: {}\n    c: {}',
      `${oneLink()}\n    - endpoints: ["a:e1", "c:e0"]\n      ipv4: [10.0.1.1/24, 10.0.0.2/24]`,
    ),
    line: 12,
    col: 27,
    says: /address 10\.0\.0\.2 is already used by b:e0/,
  },
  {
    name: 'duplicate interface name',
    text: good(
      '    a: {}\n    b: {}\n    c: {}',
      `${oneLink()}\n    - endpoints: ["a:e0", "c:e0"]\n      ipv4: [10.0.1.1/24, 10.0.1.2/24]`,
    ),
    line: 11,
    col: 19,
    says: /e0/,
  },
  {
    name: 'interface name over 15 bytes',
    text: good(twoNodes, '    - endpoints: ["a:averyveryverylongname", "b:e0"]'),
    line: 8,
    col: 19,
    says: /15/,
  },
  {
    name: 'gateway on no connected subnet',
    text: good('    a: { routes: [{ dst: 10.9.0.0/16, via: 10.5.5.5 }] }\n    b: {}', oneLink()),
    line: 5,
    col: 44,
    says: /10\.5\.5\.5/,
  },
  {
    name: 'undeclared node',
    text: good(twoNodes, '    - endpoints: ["a:e0", "zz:e0"]'),
    line: 8,
    col: 27,
    says: /zz/,
  },
];

describe('bad topology files', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  before(() => {
    sandbox = makeSandbox('input');
  });
  after(() => removeSandbox(sandbox));

  for (const c of cases) {
    it(`${c.name}: file:line:col, a sentence, exit 2, nothing created`, () => {
      const file = topologyFile(c.text);
      // Only this test's own namespaces: other labs on the machine come and go meanwhile.
      const ours = () => ipNetnsList().filter((n) => n.startsWith('nslab-t-bad-'));
      const before = ours();
      const r = nslab(['up', file, '--host-netns', sandbox]);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(r.stderr.includes(`${file}:${c.line}:${c.col}: `), r.stderr);
      assert.match(r.stderr, c.says);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(ours(), before);
      assert.deepEqual(
        ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').map((l) => l.ifname),
        ['lo'],
      );
    });
  }

  it('a file that does not exist', () => {
    const r = nslab(['up', '/nonexistent/lab.nslab.yml', '--host-netns', sandbox]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot read topology file \/nonexistent\/lab\.nslab\.yml/);
  });

  it('an unknown flag exits 2', () => {
    assert.equal(nslab(['up', '--frobnicate', 'x.yml']).status, 2);
  });

  it('a host namespace that does not exist', () => {
    const file = topologyFile(good(twoNodes, oneLink()));
    const r = nslab(['up', file, '--host-netns', 'nslab-t-no-such-ns']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /host namespace nslab-t-no-such-ns does not exist/);
  });
});

/** The built CLI run as user nobody (uid 65534), without any capability. */
function asNobody(args: string[]) {
  return spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
}

describe('without root', { skip: skipUnlessRoot }, () => {
  it('says in one sentence what privilege is needed, with no stack trace', () => {
    // (`up` makes a private lab for a user who is not root: test/cli/private.test.ts.)
    const r = asNobody(['gc']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr.trim(),
      'error: nslab needs root to create network namespaces and interfaces (CAP_SYS_ADMIN and CAP_NET_ADMIN): run it with sudo.',
    );
  });

  it('plan still works, against an empty kernel', () => {
    const r = asNobody(['plan', 'examples/seed.nslab.yml']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /not root/);
    assert.match(r.stdout, /^ip netns add ns0/m);
  });
});
