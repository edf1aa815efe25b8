import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mermaidEscape, toMermaid } from '../../src/render/mermaid.js';
import { parseCidr } from '../../src/topology/ip.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { LabBuilder } from '../helpers/lab.js';
import { bridgeLab, dualStackLab, largeLab, observedFromLab, tutorialLab } from './fixtures.js';

interface MNode {
  id: string;
  shape: 'rect' | 'subroutine' | 'hexagon';
  label: string;
  cls?: string;
}
interface MEdge {
  from: string;
  to: string;
  line: '---' | '-.-';
  label: string;
}
interface MChart {
  title: string;
  direction: string;
  nodes: Map<string, MNode>;
  edges: MEdge[];
  classDefs: Map<string, string>;
  classes: Map<string, string>;
  linkStyles: Map<string, string>;
}

const ALLOWED_TAGS = /^<\/?(b|i|s|small)>$|^<br\/>$/;

/** Label text as Mermaid shows it: entity codes decoded, tags dropped, `<br/>` as newlines. */
function visible(label: string): string {
  return label
    .replace(/<br\/>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/#quot;/g, '"')
    .replace(/#lt;/g, '<')
    .replace(/#gt;/g, '>')
    .replace(/#amp;/g, '&')
    .replace(/#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)));
}

function checkLabel(label: string, where: string): void {
  assert.ok(!label.includes('"'), `${where}: raw quote in label`);
  assert.ok(!label.includes('|'), `${where}: raw pipe in label`);
  for (const tag of label.match(/<[^>]*>/g) ?? []) assert.match(tag, ALLOWED_TAGS, `${where}: tag ${tag}`);
  const stripped = label.replace(/<[^>]*>/g, '');
  assert.ok(!/[<>]/.test(stripped), `${where}: stray angle bracket`);
  for (const ent of stripped.match(/#[^;\s]*;/g) ?? []) assert.match(ent, /^#(quot|lt|gt|amp|\d+);$/, where);
}

/** A strict reader for the flowchart subset toMermaid writes: any other line is a syntax error. */
function parseMermaid(text: string): MChart {
  const lines = text.split('\n');
  assert.equal(lines.at(-1), '', 'ends with a newline');
  lines.pop();
  assert.equal(lines[0], '---');
  const titleLine = /^title: (".*")$/.exec(lines[1]);
  assert.ok(titleLine, 'front matter title');
  const title = JSON.parse(titleLine[1]) as string;
  assert.equal(lines[2], '---');
  const dir = /^flowchart (LR|TB|TD|RL|BT)$/.exec(lines[3]);
  assert.ok(dir, 'flowchart header');
  const chart: MChart = {
    title,
    direction: dir[1],
    nodes: new Map(),
    edges: [],
    classDefs: new Map(),
    classes: new Map(),
    linkStyles: new Map(),
  };
  let depth = 0;
  const STYLES = '([\\w-]+:[^,\\s]+(?: [^,\\s]+)*(?:,[\\w-]+:[^,\\s]+(?: [^,\\s]+)*)*)';
  const rules: [RegExp, (m: RegExpExecArray, where: string) => void][] = [
    [/^%%/, () => {}],
    [
      /^(\w+)(\[\["([^"]*)"\]\]|\{\{"([^"]*)"\}\}|\["([^"]*)"\])(?::::(\w+))?$/,
      ([, id, , sub, hex, rect, cls], where) => {
        assert.ok(!chart.nodes.has(id), `${where}: node defined twice`);
        const label = sub ?? hex ?? rect;
        checkLabel(label, where);
        const shape = sub !== undefined ? 'subroutine' : hex !== undefined ? 'hexagon' : 'rect';
        chart.nodes.set(id, { id, shape, label, cls });
      },
    ],
    [
      /^(\w+) (---|-\.-)\|"([^"]*)"\| (\w+)$/,
      (m, where) => {
        checkLabel(m[3], where);
        chart.edges.push({ from: m[1], line: m[2] as MEdge['line'], label: m[3], to: m[4] });
      },
    ],
    [
      /^subgraph (\w+) \["([^"]*)"\]$/,
      (m, where) => {
        checkLabel(m[2], where);
        depth++;
      },
    ],
    [
      /^end$/,
      (_, where) => {
        assert.ok(depth > 0, `${where}: end without subgraph`);
        depth--;
      },
    ],
    [
      new RegExp(`^classDef (\\w+) ${STYLES}$`),
      (m) => {
        chart.classDefs.set(m[1], m[2]);
      },
    ],
    [
      /^class ([\w,]+) (\w+)$/,
      (m) => {
        for (const id of m[1].split(',')) chart.classes.set(id, m[2]);
      },
    ],
    [
      new RegExp(`^linkStyle (default|\\d+(?:,\\d+)*) ${STYLES}$`),
      (m) => {
        for (const k of m[1].split(',')) chart.linkStyles.set(k, m[2]);
      },
    ],
  ];
  for (const [i, raw] of lines.slice(4).entries()) {
    const line = raw.trim();
    const where = `line ${i + 5}: ${raw}`;
    const rule = rules.map(([re, fn]) => [re.exec(line), fn] as const).find(([m]) => m !== null);
    if (!rule) assert.fail(`${where}: not valid flowchart syntax`);
    rule[1](rule[0]!, where);
  }
  assert.equal(depth, 0, 'subgraphs closed');
  for (const e of chart.edges) {
    assert.ok(
      chart.nodes.has(e.from) && chart.nodes.has(e.to),
      `edge ${e.from}-${e.to} between defined nodes`,
    );
  }
  for (const [id, cls] of chart.classes) {
    assert.ok(chart.nodes.has(id), `class on defined node ${id}`);
    assert.ok(chart.classDefs.has(cls), `class ${cls} defined`);
  }
  for (const n of chart.nodes.values())
    if (n.cls) assert.ok(chart.classDefs.has(n.cls), `class ${n.cls} defined`);
  for (const k of chart.linkStyles.keys()) {
    if (k !== 'default') assert.ok(Number(k) < chart.edges.length, `linkStyle ${k} names an edge`);
  }
  return chart;
}

function nodeByName(chart: MChart, name: string): MNode {
  const found = [...chart.nodes.values()].filter((n) => visible(n.label).split('\n')[0] === name);
  assert.equal(found.length, 1, `one Mermaid node named ${name}`);
  return found[0];
}

function checkStructure(lab: ResolvedLab, chart: MChart): void {
  const labNodes = [...chart.nodes.values()].filter((n) => !n.id.startsWith('legend_'));
  assert.equal(labNodes.length, lab.nodes.length);
  for (const node of lab.nodes) {
    const m = nodeByName(chart, node.name);
    const text = visible(m.label);
    assert.equal(m.shape, node.kind === 'host' ? 'subroutine' : node.kind === 'bridge' ? 'hexagon' : 'rect');
    for (const iface of node.interfaces) {
      const line = text.split('\n').find((l) => l.startsWith(iface.name));
      assert.ok(line, `${node.name} lists ${iface.name}`);
      for (const a of [...iface.ipv4, ...iface.ipv6])
        assert.ok(line.includes(a), `${node.name}:${iface.name} ${a}`);
    }
  }
  assert.equal(chart.edges.length, lab.links.length, 'one edge per link');
  for (const link of lab.links) {
    const [a, b] = link.endpoints;
    const ids = [nodeByName(chart, a.node).id, nodeByName(chart, b.node).id].sort().join(' ');
    const matching = chart.edges.filter((e) => {
      const label = visible(e.label).split('\n')[0];
      return (
        [e.from, e.to].sort().join(' ') === ids &&
        (label === `${a.interface} - ${b.interface}` || label === `${b.interface} - ${a.interface}`)
      );
    });
    assert.equal(matching.length, 1, `one edge for link ${link.index}`);
    for (const ep of link.endpoints) {
      const iface = lab.nodes
        .find((n) => n.name === ep.node)!
        .interfaces.find((i) => i.name === ep.interface)!;
      for (const addr of [...iface.ipv4, ...iface.ipv6]) {
        assert.ok(visible(matching[0].label).includes(parseCidr(addr)!.network), `link ${link.index} subnet`);
      }
    }
  }
}

describe('toMermaid', () => {
  for (const [name, make] of [
    ['tutorial', tutorialLab],
    ['bridge LAN', bridgeLab],
    ['dual-stack', dualStackLab],
    ['100-node', largeLab],
  ] as const) {
    it(`writes valid flowchart syntax with every node, interface, address and link of the ${name} lab`, () => {
      const lab = make();
      const chart = parseMermaid(toMermaid(lab));
      assert.equal(chart.title, lab.name);
      checkStructure(lab, chart);
      assert.equal(chart.nodes.size, lab.nodes.length, 'no legend without observation');
    });
  }

  it('draws the tutorial with the host between ns0 and ns1', () => {
    const chart = parseMermaid(toMermaid(tutorialLab()));
    const host = nodeByName(chart, 'host').id;
    const ns0 = nodeByName(chart, 'ns0').id;
    const ns1 = nodeByName(chart, 'ns1').id;
    assert.deepEqual(
      chart.edges.map((e) => [e.from, e.to]),
      [
        [ns0, host],
        [host, ns1],
      ],
    );
  });

  it('adds routes and forwarding with opts.routes', () => {
    const lab = tutorialLab();
    assert.ok(!visible(nodeByName(parseMermaid(toMermaid(lab)), 'ns0').label).includes('routes'));
    const chart = parseMermaid(toMermaid(lab, { routes: true }));
    const ns0 = visible(nodeByName(chart, 'ns0').label);
    assert.ok(ns0.includes('10.1.20.0/24 via 10.1.10.1 dev veth12'));
    assert.ok(ns0.includes('ip_forward: off'));
    assert.ok(visible(nodeByName(chart, 'host').label).includes('ip_forward: on'));
  });

  it('marks a down link red and dashed, drift orange, with a legend', () => {
    const lab = tutorialLab();
    const obs = observedFromLab(lab);
    obs.nodes.ns1.links.find((l) => l.name === 'veth22')!.up = false;
    obs.nodes.ns0.addrs = obs.nodes.ns0.addrs.filter((a) => a.dev !== 'veth12' || a.family === 6);
    const chart = parseMermaid(toMermaid(lab, { observed: obs }));
    const down = chart.edges.findIndex((e) => visible(e.label).includes('veth22'));
    assert.equal(chart.edges[down].line, '-.-');
    assert.ok(visible(chart.edges[down].label).includes('down'));
    assert.match(chart.linkStyles.get(String(down))!, /stroke:#d62728/);
    assert.match(chart.linkStyles.get(String(down))!, /stroke-dasharray/);
    const up = chart.edges.findIndex((e) => visible(e.label).includes('veth12'));
    assert.equal(chart.edges[up].line, '---');
    assert.equal(chart.linkStyles.get(String(up)), undefined);
    assert.equal(chart.classes.get(nodeByName(chart, 'ns1').id), 'down');
    assert.equal(chart.classes.get(nodeByName(chart, 'ns0').id), 'drift');
    assert.ok(visible(nodeByName(chart, 'ns0').label).includes('10.1.10.2/24 (missing)'));
    assert.match(chart.classDefs.get('drift')!, /stroke:#e8710a/);
    assert.ok(chart.nodes.has('legend_down') && chart.nodes.has('legend_drift'));
  });

  it('escapes labels so names cannot break the syntax', () => {
    assert.equal(mermaidEscape('a"b<c>&#d|e'), 'a#quot;b#lt;c#gt;#amp;#35;d#124;e');
    const lab = new LabBuilder('we"ird <lab>', '')
      .node('x"y')
      .node('end')
      .link('x"y:e|1', ['10.9.0.1/24'], 'end:n#1', ['10.9.0.2/24'])
      .build();
    const chart = parseMermaid(toMermaid(lab));
    assert.equal(chart.title, 'we"ird <lab>');
    checkStructure(lab, chart);
  });
});
