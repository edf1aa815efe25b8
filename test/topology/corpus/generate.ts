/**
 * Writes the bad-input corpus: test/topology/corpus/files/*.nslab.yml, every one a topology file with one kind of
 * mistake put into one of a few valid labs (templates × kinds of mistake, where the mistake applies). The first
 * line of each file says what it holds and where the problem must be reported:
 *
 *   # corpus: <mistake> in <template>; expect <line>:<col> /<regex of the message>/
 *
 * Every lab's prefix starts with `nslab-t-corpus-`, so that even a bug that reached the kernel would create only
 * names of ours. Run `node --import tsx test/topology/corpus/generate.ts` after changing it;
 * test/topology/corpus.test.ts fails when the files are not what this script writes.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CORPUS_DIR = join(import.meta.dirname, 'files');

/** A valid lab; its first node has a `sysctls:` block and its first link starts with `["<n1>:e0", ...`. */
interface Template {
  id: string;
  text: string;
}

const TEMPLATES: Template[] = [
  {
    id: 'pair',
    text: `name: corpus-pair
prefix: nslab-t-corpus-pair-
topology:
  nodes:
    a:
      sysctls:
        net.ipv4.ip_forward: 1
    b: {}
  links:
    - endpoints: ["a:e0", "b:e0"]
      ipv4: [10.0.0.1/24, 10.0.0.2/24]
expect:
  - { from: a, to: b, reach: true }
`,
  },
  {
    id: 'star',
    text: `name: corpus-star
prefix: nslab-t-corpus-star-
topology:
  nodes:
    n1:
      sysctls:
        net.ipv4.conf.all.rp_filter: 0
      routes:
        - { dst: default, via: 10.0.1.1 }
    n2: {}
    n3: {}
  links:
    - endpoints: ["n1:e0", "host:s1"]
      ipv4: [10.0.1.2/24, 10.0.1.1/24]
    - endpoints: ["n2:e0", "host:s2"]
      ipv4: [10.0.2.2/24, 10.0.2.1/24]
    - endpoints: ["n3:e0", "host:s3"]
`,
  },
  {
    id: 'lan',
    text: `name: corpus-lan
prefix: nslab-t-corpus-lan-
topology:
  nodes:
    h1:
      sysctls:
        net.ipv6.conf.all.disable_ipv6: 0
    h2: {}
    h3: {}
    sw: { kind: bridge }
  links:
    - endpoints: ["h1:e0", "sw:p1"]
      ipv4: [192.168.7.1/24, null]
    - endpoints: ["h2:e0", "sw:p2"]
      ipv4: [192.168.7.2/24, null]
    - endpoints: ["h3:e0", "sw:p3"]
      ipv4: [192.168.7.3/24, null]
`,
  },
  {
    id: 'chain',
    text: `name: corpus-chain
prefix: nslab-t-corpus-chain-
topology:
  nodes:
    r1:
      sysctls:
        net.ipv4.ip_forward: 1
      routes:
        - { dst: 10.0.3.0/24, via: 10.0.2.2 }
    h1:
      routes:
        - { dst: default, via: 10.0.1.1 }
    r2:
      sysctls: { net.ipv4.ip_forward: 1 }
      routes:
        - { dst: 10.0.1.0/24, via: 10.0.2.1 }
    h2:
      routes:
        - { dst: default, via: 10.0.3.1 }
  links:
    - endpoints: ["r1:e0", "h1:e0"]
      ipv4: [10.0.1.1/24, 10.0.1.2/24]
    - endpoints: ["r1:e1", "r2:e1"]
      ipv4: [10.0.2.1/24, 10.0.2.2/24]
    - endpoints: ["r2:e0", "h2:e0"]
      ipv4: [10.0.3.1/24, 10.0.3.2/24]
expect:
  - { from: h1, to: h2, reach: true, hops: 2 }
`,
  },
  {
    id: 'auto',
    text: `name: corpus-auto
prefix: nslab-t-corpus-auto-
routing: auto
topology:
  defaults:
    ipv4-pool: 10.77.0.0/16
  nodes:
    left:
      sysctls:
        net.ipv4.conf.all.forwarding: 1
    mid: {}
    right: {}
  links:
    - endpoints: ["left:e0", "mid:e0"]
    - endpoints: ["mid:e1", "right:e0"]
`,
  },
  {
    id: 'dual',
    text: `name: corpus-dual
prefix: nslab-t-corpus-dual-
topology:
  nodes:
    r:
      sysctls:
        net.ipv6.conf.all.forwarding: 1
    c1:
      routes:
        - { dst: default, via: "fd00:1::1" }
    c2:
      routes:
        - { dst: default, via: "fd00:2::1" }
  links:
    - endpoints: ["r:e0", "c1:e0"]
      ipv6: ["fd00:1::1/64", "fd00:1::2/64"]
    - endpoints: ["r:e1", "c2:e0"]
      ipv6: ["fd00:2::1/64", "fd00:2::2/64"]
`,
  },
  {
    id: 'clab',
    text: `name: corpus-clab
prefix: nslab-t-corpus-clab-
topology:
  kinds:
    linux:
      exec: ["ip link set dev lo up"]
  nodes:
    srv:
      kind: linux
      sysctls:
        net.ipv4.ip_forward: 1
    cli:
      kind: linux
  links:
    - endpoints: ["srv:e0", "cli:eth1"]
`,
  },
];

interface Case {
  text: string;
  /** Text whose first occurrence marks where the problem must be reported. */
  needle: string;
  /** Characters into the needle where the position is (default 0). */
  shift?: number;
  says: RegExp;
}

/** A kind of mistake: the file it makes of a template, or undefined when it does not apply there. */
type Mistake = [string, (t: Template) => Case | undefined];

const firstNode = (t: Template) => /^ {2}nodes:\n {4}([^\s:]+):/m.exec(t.text)![1];
const firstEnd = (t: Template) => /- endpoints: \["([^":]+):e0"/.exec(t.text)!;
const firstLinkLine = (t: Template) => /^ {4}- endpoints: .*$/m.exec(t.text)![0];

/** Puts `lines` (each indented for the body of the first node) at the start of the first node's body. */
function intoFirstNode(t: Template, lines: string): string {
  const head = `    ${firstNode(t)}:\n`;
  return t.text.replace(head, `${head}${lines}`);
}

/** Adds a route (a flow mapping) to the first node, in its `routes:` list when it has one. */
function addRoute(t: Template, ...routes: string[]): string {
  const lines = t.text.split('\n');
  const head = lines.indexOf(`    ${firstNode(t)}:`);
  let end = head + 1;
  while (end < lines.length && lines[end].startsWith('      ')) end++;
  const at = lines.slice(head, end).indexOf('      routes:');
  const items = routes.map((r) => `        - ${r}`);
  if (at >= 0) lines.splice(head + at + 1, 0, ...items);
  else lines.splice(head + 1, 0, '      routes:', ...items);
  return lines.join('\n');
}

/** Whether the first link of the template plugs into a bridge (whose ports take no address). */
const firstLinkOnBridge = (t: Template) => t.id === 'lan';

/** Replaces the interface of the first endpoint of the first link with `name` (as YAML text). */
function firstInterface(t: Template, name: string, says: RegExp): Case {
  const [whole, node] = firstEnd(t);
  const text = t.text.replace(whole, `- endpoints: ["${node}:${name}"`);
  return { text, needle: `["${node}:${name}"`, shift: 1, says };
}

/** After the first link's line, `ipv4: [...]` in place of what the link had. */
function firstLinkAddresses(t: Template, ipv4: string): string {
  const line = firstLinkLine(t);
  const after = t.text.slice(t.text.indexOf(line) + line.length);
  const rest = after.replace(/^\n {6}ipv[46]: .*/, '');
  return `${t.text.slice(0, t.text.indexOf(line))}${line}\n      ipv4: ${ipv4}${rest}`;
}

/** Adds a link at the end of the links. */
function extraLink(t: Template | string, link: string): string {
  const lines = (typeof t === 'string' ? t : t.text).split('\n');
  const last = lines.findLastIndex((l) => /^ {4}- endpoints:|^ {6}ipv[46]:/.test(l));
  lines.splice(last + 1, 0, link);
  return lines.join('\n');
}

const MISTAKES: Mistake[] = [
  // YAML itself
  [
    'undefined alias',
    (t) => ({
      text: intoFirstNode(t, '      exec: *nowhere\n'),
      needle: '*nowhere',
      says: /alias '\*nowhere' names no anchor/,
    }),
  ],
  [
    'self-referencing alias',
    (t) => ({
      text: t.text
        .replace(/^topology:/m, 'topology: &top')
        .replace(`    ${firstNode(t)}:\n`, `    ${firstNode(t)}:\n      exec: *top\n`),
      needle: '*top',
      says: /alias '\*top' is inside the value it names/,
    }),
  ],
  [
    'alias bomb',
    (t) => {
      const rows = ['x0: &x0 [a, a, a, a, a, a, a, a, a, a]'];
      for (let i = 1; i < 9; i++)
        rows.push(
          `x${i}: &x${i} [${Array(10)
            .fill(`*x${i - 1}`)
            .join(', ')}]`,
        );
      return {
        text: `${rows.join('\n')}\n${t.text}`,
        // x1 to x4 add 123,330 values, each *x4 111,111 more: the 8th *x4 of x5 passes the limit.
        needle: 'x5: &x5 [',
        shift: 9 + 7 * '*x4, '.length,
        says: /aliases expand the file to more than 1000000 values/,
      };
    },
  ],
  [
    'bad indentation',
    (t) => ({
      text: t.text.replace(`    ${firstNode(t)}:\n`, `    ${firstNode(t)}:\n     oops: 1\n`),
      needle: '     oops: 1',
      shift: 11, // where the yaml library says the mapping goes wrong
      says: /YAML syntax error/,
    }),
  ],
  [
    'unclosed flow sequence',
    (t) => {
      const broken = firstLinkLine(t).replace(/\]$/, '');
      const text = t.text.replace(firstLinkLine(t), broken);
      // The yaml library notices at the next line's first character.
      const next = text.slice(text.indexOf(broken) + broken.length + 1);
      return {
        text,
        needle: broken,
        shift: broken.length + 1 + /^ */.exec(next)![0].length,
        says: /YAML syntax error/,
      };
    },
  ],
  [
    'tab indentation',
    (t) => ({
      text: t.text.replace(`    ${firstNode(t)}:\n      sysctls:`, `    ${firstNode(t)}:\n\tsysctls:`),
      needle: '\tsysctls',
      says: /YAML syntax error/,
    }),
  ],
  [
    'duplicate key',
    (t) => ({
      text: t.text.replace(/^(prefix: .*)$/m, '$1\nprefix: nslab-t-corpus-again-'),
      needle: 'prefix: nslab-t-corpus-again',
      says: /key 'prefix' is written twice in this mapping \(first on line \d+\)/,
    }),
  ],
  [
    'duplicate node',
    (t) => ({
      text: t.text.replace(/^ {2}links:/m, `    ${firstNode(t)}: {}\n  links:`),
      needle: `    ${firstNode(t)}: {}\n  links:`,
      shift: 4,
      says: new RegExp(`key '${firstNode(t)}' is written twice`),
    }),
  ],
  [
    '__proto__ key',
    (t) => ({
      text: intoFirstNode(t, '      __proto__: { kind: bridge }\n'),
      needle: '__proto__:',
      says: /'__proto__' cannot be a key/,
    }),
  ],
  [
    'two documents',
    (t) => ({ text: `${t.text}---\nname: second\n`, needle: '---\nname: second', says: /YAML syntax error/ }),
  ],
  // interface names
  ['interface name with NUL', (t) => firstInterface(t, 'e\\0', /control character/)],
  ['interface name with %', (t) => firstInterface(t, 'e%d', /contains '%'/)],
  ['interface name with :', (t) => firstInterface(t, 'e0:1', /contains ':'/)],
  ['interface name with /', (t) => firstInterface(t, 'e/0', /contains '\/' or whitespace/)],
  ['interface name with a space', (t) => firstInterface(t, 'e 0', /contains '\/' or whitespace/)],
  ['interface name with a newline', (t) => firstInterface(t, 'e\\n0', /control character/)],
  ['interface named all', (t) => firstInterface(t, 'all', /cannot be 'all'/)],
  ['interface named default', (t) => firstInterface(t, 'default', /cannot be 'default'/)],
  ['interface name over 15 bytes', (t) => firstInterface(t, 'averyveryverylongname', /too long.*at most 15/)],
  ['interface named ..', (t) => firstInterface(t, '..', /cannot be '\.\.'/)],
  ['interface named lo', (t) => firstInterface(t, 'lo', /taken by the loopback device/)],
  ['empty interface name', (t) => firstInterface(t, '', /is empty|must be 'node:interface'/)],
  [
    'interface declared twice',
    (t) => {
      const [, node] = firstEnd(t);
      return {
        text: extraLink(t, `    - endpoints: ["${node}:e0", "xx:e0"]`).replace(
          /^ {2}links:/m,
          '    xx: {}\n  links:',
        ),
        needle: `["${node}:e0", "xx:e0"]`,
        shift: 1,
        says: /already has an interface named 'e0' \(line \d+\)/,
      };
    },
  ],
  // node and lab names
  [
    'node named .',
    (t) => ({
      text: t.text.replace(/^ {2}links:/m, '    ".": {}\n  links:'),
      needle: '".": {}',
      says: /cannot be '\.'/,
    }),
  ],
  [
    'node named ..',
    (t) => ({
      text: t.text.replace(/^ {2}links:/m, '    "..": {}\n  links:'),
      needle: '"..": {}',
      says: /cannot be '\.\.'/,
    }),
  ],
  [
    'node name too long for a namespace',
    (t) => {
      const name = 'n'.repeat(250);
      return {
        text: t.text.replace(/^ {2}links:/m, `    ${name}: {}\n  links:`),
        needle: `    ${name}`,
        shift: 4,
        says: /namespace name .* at most 255/,
      };
    },
  ],
  [
    'node name with a slash',
    (t) => ({
      text: t.text.replace(/^ {2}links:/m, '    "a/b": {}\n  links:'),
      needle: '"a/b"',
      says: /must use only letters/,
    }),
  ],
  [
    'link to undeclared constructor',
    (t) => ({
      text: extraLink(t, `    - endpoints: ["constructor:x0", "${firstNode(t)}:x9"]`),
      needle: '"constructor:x0"',
      says: /names node 'constructor', which is not declared/,
    }),
  ],
  [
    'link to undeclared toString',
    (t) => ({
      text: extraLink(t, `    - endpoints: ["${firstNode(t)}:x9", "toString:x0"]`),
      needle: '"toString:x0"',
      says: /names node 'toString', which is not declared/,
    }),
  ],
  [
    'link to undeclared __proto__',
    (t) => ({
      text: extraLink(t, `    - endpoints: ["__proto__:x0", "${firstNode(t)}:x9"]`),
      needle: '"__proto__:x0"',
      says: /names node '__proto__', which is not declared/,
    }),
  ],
  [
    'expectation from hasOwnProperty',
    (t) => ({
      text: `${t.text.includes('expect:') ? t.text : `${t.text}expect:\n`}  - { from: hasOwnProperty, to: ${firstNode(t)}, reach: true }\n`,
      needle: 'hasOwnProperty,',
      says: /starts from 'hasOwnProperty', which is not a node/,
    }),
  ],
  [
    'undeclared node',
    (t) => ({
      text: extraLink(t, `    - endpoints: ["${firstNode(t)}:x9", "zz:e0"]`),
      needle: '"zz:e0"',
      says: /names node 'zz', which is not declared/,
    }),
  ],
  [
    'lab name too long',
    (t) => {
      const name = `corpus-${'l'.repeat(70)}`;
      return {
        text: t.text.replace(/^name: .*$/m, `name: ${name}`),
        needle: name,
        says: /is too long: it has \d+ bytes, at most 64/,
      };
    },
  ],
  [
    'lab named ..',
    (t) => ({ text: t.text.replace(/^name: .*$/m, 'name: ".."'), needle: '".."', says: /cannot be '\.\.'/ }),
  ],
  [
    'lab name with a slash',
    (t) => ({
      text: t.text.replace(/^name: .*$/m, 'name: a/b'),
      needle: 'a/b',
      says: /must use only letters/,
    }),
  ],
  [
    'prefix and node name too long together',
    (t) => {
      const prefix = `nslab-t-corpus-${'p'.repeat(225)}`;
      const node = 'a-node-with-a-long-name';
      return {
        text: t.text
          .replace(/^prefix: .*$/m, `prefix: ${prefix}`)
          .replace(/^ {2}links:/m, `    ${node}: {}\n  links:`),
        needle: `    ${node}:`,
        shift: 4,
        says: /the namespace name of node 'a-node-with-a-long-name' \(prefix \+ name\) would be 263 bytes long/,
      };
    },
  ],
  [
    'missing name',
    (t) => ({
      text: t.text.replace(/^name: .*\n/m, ''),
      needle: 'prefix',
      says: /missing required key 'name'/,
    }),
  ],
  // routes
  [
    'route destination written twice',
    (t) => ({
      text: addRoute(t, '{ dst: 10.55.0.0/16, dev: e0 }', '{ dst: 10.55.0.0/16, dev: e0, metric: 5 }'),
      needle: '10.55.0.0/16, dev: e0, metric',
      says: /goes to 10\.55\.0\.0\/16 in the main table, as route 1 \(line \d+\) does/,
    }),
  ],
  [
    'default and 0.0.0.0/0 in one table',
    (t) => ({
      text: addRoute(t, '{ dst: 10.56.0.0/16, dev: e0 }', '{ dst: 10.56.0.0/16, via: 10.56.9.9, dev: e0 }')
        .replace('{ dst: 10.56.0.0/16, dev: e0 }', '{ dst: 0.0.0.0/0, dev: e0, table: 7 }')
        .replace('{ dst: 10.56.0.0/16, via: 10.56.9.9, dev: e0 }', '{ dst: default, dev: e0, table: 7 }'),
      needle: 'default, dev: e0, table: 7',
      says: /goes to default \(0\.0\.0\.0\/0\) in table 7, as route \d+ \(line \d+\) does/,
    }),
  ],
  [
    'gateway off-link',
    (t) => ({
      text: addRoute(t, '{ dst: 10.66.0.0/16, via: 10.250.250.250 }'),
      needle: '10.250.250.250',
      says: /gateway 10\.250\.250\.250 of the route to 10\.66\.0\.0\/16 is on no subnet connected/,
    }),
  ],
  [
    'gateway named after no node',
    (t) => ({
      text: addRoute(t, '{ dst: 10.66.0.0/16, via: nosuchrouter }'),
      needle: 'nosuchrouter',
      says: /'nosuchrouter' is neither an address nor a node/,
    }),
  ],
  [
    'destination named after no node',
    (t) => ({
      text: addRoute(t, '{ dst: nosuchhost, dev: e0 }'),
      needle: 'nosuchhost',
      says: /goes to 'nosuchhost', which is neither a network nor a node/,
    }),
  ],
  [
    'gw instead of via',
    (t) => ({
      text: addRoute(t, '{ dst: 10.66.0.0/16, gw: 10.0.0.9 }'),
      needle: 'gw:',
      says: /unknown key 'gw' .*did you mean 'via'/,
    }),
  ],
  [
    'destination without prefix length',
    (t) => ({
      text: addRoute(t, '{ dst: 10.66.0.1, dev: e0 }'),
      needle: '10.66.0.1,',
      says: /must be a network like/,
    }),
  ],
  [
    'route out of an unknown device',
    (t) => ({
      text: addRoute(t, '{ dst: 10.66.0.0/16, dev: e7 }'),
      needle: 'e7 }',
      says: /goes out of 'e7', which is not an interface/,
    }),
  ],
  // sysctls
  ...(
    [
      ['net..x', /has an empty part/],
      ['net.ipv4.', /has an empty part/],
      ['net/ipv4//ip_forward', /has an empty part/],
      ['net/ipv4/../ip_forward', /has a '\.' or '\.\.' part/],
      ['kernel.panic', /is not a network sysctl/],
      ['net.ipv4.conf/all', /mixes '\.' and '\/'/],
    ] as const
  ).map(
    ([key, says]): Mistake => [
      `sysctl ${key}`,
      (t) => {
        const line = /^ {6}sysctls:\n {8}(\S+):/m.exec(t.text);
        if (!line) return undefined;
        return { text: t.text.replace(`        ${line[1]}:`, `        "${key}":`), needle: `"${key}"`, says };
      },
    ],
  ),
  // the address plan
  [
    'ends of a link in different subnets',
    (t) =>
      firstLinkOnBridge(t)
        ? undefined
        : {
            text: firstLinkAddresses(t, '[10.0.2.1/24, 10.0.3.1/24]'),
            needle: '10.0.3.1/24]',
            says: /the two ends of link 1 are in different subnets/,
          },
  ],
  [
    'one subnet on two links',
    (t) =>
      firstLinkOnBridge(t)
        ? undefined
        : {
            text: extraLink(
              firstLinkAddresses(t, '[10.88.0.1/24, 10.88.0.2/24]'),
              `    - endpoints: ["${firstNode(t)}:x8", "xx:e0"]\n      ipv4: [10.88.0.3/24, 10.88.0.4/24]`,
            ).replace(/^ {2}links:/m, '    xx: {}\n  links:'),
            needle: '10.88.0.3/24,',
            says: /10\.88\.0\.3\/24 of .* is in 10\.88\.0\.0\/24 of link 1 at line \d+, on another segment/,
          },
  ],
  [
    'overlapping subnets',
    (t) =>
      firstLinkOnBridge(t)
        ? undefined
        : {
            text: extraLink(
              firstLinkAddresses(t, '[10.88.0.1/24, 10.88.0.2/24]'),
              `    - endpoints: ["${firstNode(t)}:x8", "xx:e0"]\n      ipv4: [10.88.0.129/25, 10.88.0.130/25]`,
            ).replace(/^ {2}links:/m, '    xx: {}\n  links:'),
            needle: '10.88.0.129/25,',
            says: /overlaps 10\.88\.0\.0\/24 of link 1 at line \d+/,
          },
  ],
  [
    'address used twice',
    (t) =>
      firstLinkOnBridge(t)
        ? undefined
        : {
            text: extraLink(
              firstLinkAddresses(t, '[10.88.0.1/24, 10.88.0.2/24]'),
              `    - endpoints: ["${firstNode(t)}:x8", "xx:e0"]\n      ipv4: [10.89.0.1/24, 10.88.0.2/24]`,
            ).replace(/^ {2}links:/m, '    xx: {}\n  links:'),
            needle: '[10.89.0.1/24, 10.88.0.2/24]',
            shift: 15,
            says: /address 10\.88\.0\.2 is already used by/,
          },
  ],
  [
    'bad CIDR',
    (t) =>
      firstLinkOnBridge(t)
        ? undefined
        : {
            text: firstLinkAddresses(t, '[10.0.0.300/24, 10.0.0.2/24]'),
            needle: '10.0.0.300',
            says: /not '10\.0\.0\.300\/24'/,
          },
  ],
  [
    'one address for two endpoints',
    (t) =>
      firstLinkOnBridge(t)
        ? undefined
        : {
            text: firstLinkAddresses(t, '[10.0.0.1/24]'),
            needle: '[10.0.0.1/24]',
            says: /one address per endpoint/,
          },
  ],
  [
    'pool too small',
    (t) => {
      if (!t.text.includes('ipv4-pool:')) return undefined;
      return {
        text: t.text.replace(/ipv4-pool: .*/, 'ipv4-pool: 10.77.0.0/30'),
        needle: '10.77.0.0/30',
        says: /has no room left/,
      };
    },
  ],
  [
    'bad pool',
    (t) => ({
      text: t.text.includes('  defaults:\n')
        ? t.text.replace('  defaults:\n', '  defaults:\n    ipv6-pool: "fd00::1/64"\n')
        : t.text.replace(/^topology:\n/m, 'topology:\n  defaults: { ipv6-pool: "fd00::1/64" }\n'),
      needle: '"fd00::1/64"',
      says: /must be an IPv6 network/,
    }),
  ],
  // containerlab settings
  [
    'image on a node',
    (t) => ({
      text: intoFirstNode(t, '      image: alpine:latest\n'),
      needle: 'image:',
      says: /'image' in node .* is a container setting of containerlab: nslab runs no containers/,
    }),
  ],
  [
    'binds on a node',
    (t) => ({
      text: intoFirstNode(t, '      binds: [/tmp:/tmp]\n'),
      needle: 'binds:',
      says: /is a container setting of containerlab/,
    }),
  ],
  [
    'management network',
    (t) => ({
      text: t.text.replace(/^topology:/m, 'mgmt:\n  network: custom\ntopology:'),
      needle: 'mgmt:',
      says: /'mgmt' at the top level is a container setting/,
    }),
  ],
  [
    'a container kind',
    (t) => ({
      text: t.text.includes('      kind: linux\n')
        ? t.text.replace('      kind: linux\n', '      kind: nokia_srlinux\n')
        : intoFirstNode(t, '      kind: nokia_srlinux\n'),
      needle: 'nokia_srlinux',
      says: /containerlab kind that runs a container image/,
    }),
  ],
  [
    'an unknown kind under kinds',
    (t) => ({
      text: t.text.includes('  kinds:\n')
        ? t.text.replace('  kinds:\n', '  kinds:\n    ceos: {}\n')
        : t.text.replace(/^topology:\n/m, 'topology:\n  kinds:\n    ceos: {}\n'),
      needle: 'ceos: {}',
      says: /kind 'ceos' of topology.kinds is not a kind nslab has/,
    }),
  ],
  // the schema
  [
    'misspelt key',
    (t) => ({
      text: intoFirstNode(t, '      rotues: []\n'),
      needle: 'rotues',
      says: /unknown key 'rotues' in node .* \(did you mean 'routes'\?\)/,
    }),
  ],
  [
    'wrong type',
    (t) => ({
      text: intoFirstNode(t, '      exec: echo\n'),
      needle: 'echo\n',
      says: /'exec' in node .* must be a list/,
    }),
  ],
  [
    'mtu out of range',
    (t) => ({
      text: t.text.replace(firstLinkLine(t), `${firstLinkLine(t)}\n      mtu: 20`),
      needle: 'mtu: 20',
      shift: 5,
      says: /must be at least 68/,
    }),
  ],
];

/** What the first line of a corpus file expects: the place and the words of one problem. */
export function expectation(text: string): { line: number; col: number; says: RegExp } {
  const m = /^# corpus: .*; expect (\d+):(\d+) \/(.*)\/$/.exec(text.split('\n')[0]);
  if (!m) throw new Error(`no expectation in ${text.split('\n')[0]}`);
  return { line: Number(m[1]), col: Number(m[2]), says: new RegExp(m[3]) };
}

/**
 * How many templates the k-th kind of mistake is put in: three or two, so that the corpus holds a little over 150
 * files (each costs the CLI test a Node process, about 0.3 s of CPU).
 */
const perMistake = (k: number) => (k < 20 ? 3 : 2);

/** Every corpus file: its name and text. */
export function corpusFiles(): { name: string; text: string }[] {
  const files: { name: string; text: string }[] = [];
  MISTAKES.forEach(([kind, make], k) => {
    // Each mistake in a few templates, different ones for the next mistake: every template meets many kinds.
    let taken = 0;
    for (let n = 0; n < TEMPLATES.length && taken < perMistake(k); n++) {
      const t = TEMPLATES[(k * 2 + n) % TEMPLATES.length];
      const c = make(t);
      if (!c || c.text === t.text) continue;
      taken++;
      const slug = kind.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      const header = `# corpus: ${kind} in ${t.id}; expect LINE:COL /${c.says.source}/\n`;
      const text = header + c.text;
      const at = text.indexOf(c.needle, header.length) + (c.shift ?? 0);
      if (at < header.length)
        throw new Error(`${kind} in ${t.id}: the needle ${JSON.stringify(c.needle)} is not in the file`);
      const before = text.slice(0, at);
      const line = before.split('\n').length;
      const col = at - before.lastIndexOf('\n');
      files.push({
        name: `${String(files.length + 1).padStart(3, '0')}-${slug}-${t.id}.nslab.yml`,
        text: text.replace('LINE:COL', `${line}:${col}`),
      });
    }
  });
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(CORPUS_DIR, { recursive: true });
  for (const f of readdirSync(CORPUS_DIR)) rmSync(join(CORPUS_DIR, f));
  const files = corpusFiles();
  for (const f of files) writeFileSync(join(CORPUS_DIR, f.name), f.text);
  console.log(`wrote ${files.length} files to ${CORPUS_DIR}`);
}
