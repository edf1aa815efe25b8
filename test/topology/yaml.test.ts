import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MAX_ALIAS_VALUES, readYaml, type Spot } from '../../src/topology/yaml.js';
import { readFast } from '../../src/topology/yaml-fast.js';
import { SEED } from './fixtures.js';

/** Both readers on `text`: the fast one (undefined when it gives up) and the yaml library's. */
function both(text: string) {
  return { fast: readFast(text), library: readYaml(text, 'f.yml', { fast: false }) };
}

function samePlaces(a: Spot, b: Spot, path: string): void {
  if (typeof a === 'number' || typeof b === 'number') {
    assert.equal(a, b, `${path}: offset`);
    return;
  }
  assert.equal(a.at, b.at, `${path}: offset`);
  assert.equal(a.items === undefined, b.items === undefined, `${path}: sequence`);
  assert.deepEqual(
    (a.entries ?? []).filter((_, i) => i % 3 !== 2),
    (b.entries ?? []).filter((_, i) => i % 3 !== 2),
    `${path}: keys and their offsets`,
  );
  (a.entries ?? []).forEach((e, i) => {
    if (i % 3 === 2) samePlaces(e as Spot, b.entries![i] as Spot, `${path}.${a.entries![i - 2]}`);
  });
  if (a.items && b.items) {
    assert.equal(a.items.length, b.items.length, `${path}: length`);
    a.items.forEach((item, i) => {
      samePlaces(item, b.items![i], `${path}[${i}]`);
    });
  }
}

/** The fast reader, when it reads `text`, gives the library's value and places; returns whether it read it. */
function agree(text: string): boolean {
  const { fast, library } = both(text);
  if (!fast) return false;
  const problems = (r: ReturnType<typeof readYaml>) =>
    r.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
  assert.deepEqual(problems(readYaml(text, 'f.yml')), problems(library), JSON.stringify(text));
  assert.deepStrictEqual(fast.value, library.value, JSON.stringify(text));
  samePlaces(fast.root, library.root, JSON.stringify(text));
  return true;
}

/** A random YAML-ish text from pieces topology files use, and pieces that must make the fast reader give up. */
function randomText(seed: number): string {
  let s = seed;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
  const pick = <T>(xs: T[]): T => xs[rnd(xs.length)];
  const words = [
    'a',
    'ns0',
    'host:veth1',
    '10.0.0.1/24',
    'fd00::1',
    '"fd00::2/64"',
    "'it''s'",
    'null',
    '~',
    'true',
    'False',
    '0x1f',
    '0o17',
    '017',
    '-5',
    '+3',
    '1.5',
    '.5',
    '1e3',
    '.inf',
    '-.Inf',
    '.NaN',
    'a b',
    'a#b',
    'a: b',
    'a:b',
    '"a: b"',
    "'#x'",
    'x #c',
    '-x',
    ':x',
    '?x',
    '*al',
    '&an x',
    '!!str 1',
    '|',
    '>',
    '@x',
    '`x',
    '%x',
    '"a\\nb"',
    'é',
    'a,b',
    '[a, b]',
    '{a: 1}',
    '[]',
    '{}',
    '[a, [b, {c: d}]]',
    '{ a: b, a: c }',
    '[a,]',
    '{a: }',
    '"x"y',
    'yes',
    'No',
    '0',
    '00',
    '1_000',
    '12:30',
    'a\tb',
    '- x',
    'constructor',
    'toString',
  ];
  const keys = [
    'a',
    'b',
    'name',
    'x y',
    '"q k"',
    "'s k'",
    '1',
    'true',
    'null',
    '<<',
    'a',
    '__proto__',
    '-k',
    'k#',
  ];
  const lines: string[] = [];
  const block = (indent: number, depth: number) => {
    const pad = ' '.repeat(indent);
    const n = 1 + rnd(4);
    const seq = rnd(3) === 0;
    for (let i = 0; i < n; i++) {
      const head = seq ? `${pad}- ` : `${pad}${pick(keys)}:`;
      const r = rnd(10);
      if (depth < 3 && r < 3) {
        lines.push(head.trimEnd() + (rnd(4) === 0 ? ' # c' : ''));
        if (rnd(6) === 0) lines.push(`${pad}  # a comment`);
        if (rnd(5) === 0) lines.push('');
        block(indent + (seq ? 2 : pick([2, 4])), depth + 1);
      } else if (depth < 3 && r < 4 && seq) {
        // a mapping that starts on the dash's line
        lines.push(`${head}${pick(keys)}: ${pick(words)}`);
        for (let k = rnd(3); k > 0; k--) lines.push(`${pad}  ${pick(keys)}: ${pick(words)}`);
      } else if (r < 5 && !seq) {
        lines.push(head);
        for (let k = 1 + rnd(3); k > 0; k--) lines.push(`${pad}- ${pick(words)}`);
      } else {
        lines.push(`${head}${seq ? '' : ' '}${pick(words)}${rnd(5) === 0 ? '  # trailing' : ''}`);
      }
    }
  };
  if (rnd(8) === 0) lines.push('---');
  block(0, 0);
  return `${lines.join('\n')}${rnd(6) === 0 ? '' : '\n'}`;
}

describe('the fast YAML reader', () => {
  it('reads the examples and fixtures exactly as the yaml library does', () => {
    const texts = [SEED, ...readdirSync('examples').map((f) => readFileSync(`examples/${f}`, 'utf8'))];
    for (const t of texts) {
      // Block scalars (`frr.conf: |`, in the OSPF example) are outside the subset: the yaml library reads those.
      if (/:\s*[|>][-+]?\s*$/m.test(t)) assert.equal(both(t).fast, undefined, t.slice(0, 60));
      else assert.ok(agree(t), t.slice(0, 60));
    }
  });

  it('agrees with the yaml library on 5000 random texts, or gives up', () => {
    let read = 0;
    for (let seed = 1; seed <= 5000; seed++) if (agree(randomText(seed))) read++;
    // The generator mixes in pieces outside the subset; a good share must still be read fast.
    assert.ok(read > 500, `read only ${read}`);
  });

  it('gives up on what only the yaml library reads', () => {
    for (const text of [
      'a: &x 1\nb: *x\n',
      'a: |\n  text\n',
      'a: "esc\\n"\n',
      'a: [1,\n  2]\n',
      'a: b\n  c\n',
      'a:\n\tb: 1\n',
      '%YAML 1.2\n---\na: 1\n',
      'a: 1\n---\nb: 2\n',
      '? a\n: b\n',
      'a: !!str 1\n',
      '<<: {a: 1}\n',
      '1: a\n',
      '',
    ])
      assert.equal(readFast(text), undefined, JSON.stringify(text));
  });

  it('finds keys written twice, with both lines', () => {
    for (const fast of [true, false]) {
      const r = readYaml('name: t\nx: { a: 1, a: 2 }\nname: u\n', 'f.yml', { fast });
      assert.deepEqual(
        r.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`),
        [
          "2:12: key 'a' is written twice in this mapping (first on line 2); the last one would win",
          "3:1: key 'name' is written twice in this mapping (first on line 1); the last one would win",
        ],
        `fast: ${fast}`,
      );
      assert.deepEqual(r.value, { name: 'u', x: { a: 2 } });
    }
  });
});

describe('aliases', () => {
  const problems = (text: string) =>
    readYaml(text, 'f.yml').problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);

  it('resolve to the last anchor before them, and merge keys add what a mapping lacks', () => {
    const r = readYaml(
      'd: &d { kind: netns, mtu: 1400 }\nn:\n  <<: *d\n  mtu: 9000\nm: &d 2\nk: *d\n',
      'f.yml',
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.value, {
      d: { kind: 'netns', mtu: 1400 },
      n: { kind: 'netns', mtu: 9000 },
      m: 2,
      k: 2,
    });
    // A merged key is located where it is written: in the anchor.
    assert.deepEqual(r.locate(['n', 'kind']), { file: 'f.yml', line: 1, col: 15 });
    assert.deepEqual(r.locate(['n', 'mtu']), { file: 'f.yml', line: 4, col: 8 });
  });

  it('an alias without anchor, and one inside the value it names, are problems at the alias', () => {
    assert.deepEqual(problems('a: *nope\n'), [
      "1:4: alias '*nope' names no anchor: '&nope' must come before it",
    ]);
    assert.deepEqual(problems('t: &a\n  n:\n    x: *a\n'), [
      "3:8: alias '*a' is inside the value it names ('&a'): it never ends",
    ]);
    assert.deepEqual(problems('a: &a\n  <<: *a\n'), [
      "2:7: alias '*a' is inside the value it names ('&a'): it never ends",
    ]);
  });

  it('an alias bomb stops at once, with bounded memory', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const before = process.memoryUsage().heapUsed;
    const t = performance.now();
    const p = problems(`${lines.join('\n')}\n`);
    assert.ok(performance.now() - t < 500, 'fast');
    assert.ok(process.memoryUsage().heapUsed - before < 50e6, 'bounded memory');
    assert.equal(p.length, 1);
    assert.match(
      p[0],
      new RegExp(`^\\d+:\\d+: aliases expand the file to more than ${MAX_ALIAS_VALUES} values`),
    );
  });
});
