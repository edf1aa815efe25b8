import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { portName, toDot } from '../../src/render/dot.js';
import { routeText } from '../../src/render/model.js';
import { parseCidr } from '../../src/topology/ip.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { LabBuilder } from '../helpers/lab.js';
import { bridgeLab, dualStackLab, largeLab, starLab, tutorialLab } from './fixtures.js';
import { type ParsedGraph, parseDot, portOnly } from './parse.js';

function subnetsOf(lab: ResolvedLab, index: number): string[] {
  const link = lab.links[index];
  const nets = new Set<string>();
  for (const ep of link.endpoints) {
    const iface = lab.nodes.find((n) => n.name === ep.node)!.interfaces.find((i) => i.name === ep.interface)!;
    for (const a of [...iface.ipv4, ...iface.ipv6]) nets.add(parseCidr(a)!.network);
  }
  return [...nets];
}

/** Every node, interface (as a port) and address present, and exactly one edge per link between the right ports. */
function checkStructure(lab: ResolvedLab, g: ParsedGraph, opts: { subnetOnBridgeLinks: boolean }): void {
  assert.equal(g.nodes.length, lab.nodes.length, 'one graph node per lab node');
  for (const node of lab.nodes) {
    const drawn = g.nodes.filter((n) => n.name === node.name);
    assert.equal(drawn.length, 1, `node ${node.name} drawn once`);
    const d = drawn[0];
    assert.ok(d.attrs.class.split(' ').includes(node.kind), `${node.name} has class ${node.kind}`);
    assert.ok(d.lines.includes(node.name), `${node.name} label names it`);
    assert.deepEqual(
      [...d.ports].sort(),
      node.interfaces.map((i) => portName(i.name)).sort(),
      `${node.name} ports are its interfaces`,
    );
    for (const iface of node.interfaces) {
      const text = d.portText[portName(iface.name)];
      assert.ok(text.includes(iface.name), `${node.name}:${iface.name} port names the interface`);
      for (const addr of [...iface.ipv4, ...iface.ipv6]) {
        assert.ok(text.includes(addr), `${node.name}:${iface.name} port shows ${addr}`);
      }
    }
  }
  assert.equal(g.edges.length, lab.links.length, 'one edge per link');
  for (const link of lab.links) {
    const [a, b] = link.endpoints;
    const key = (node: string, iface: string): string => `${node}:${portName(iface)}`;
    const want = [key(a.node, a.interface), key(b.node, b.interface)].sort().join(' ');
    const matching = g.edges.filter(
      (e) =>
        [`${e.tail}:${portOnly(e.tailport)}`, `${e.head}:${portOnly(e.headport)}`].sort().join(' ') === want,
    );
    assert.equal(matching.length, 1, `exactly one edge for link ${link.index} (${want})`);
    const bridged = [a.node, b.node].some((n) => lab.nodes.find((x) => x.name === n)?.kind === 'bridge');
    if (opts.subnetOnBridgeLinks || !bridged) {
      for (const net of subnetsOf(lab, link.index)) {
        assert.ok(matching[0].labelText.includes(net), `link ${link.index} labelled with ${net}`);
      }
    }
  }
}

describe('toDot', () => {
  for (const [name, make] of [
    ['tutorial', tutorialLab],
    ['bridge LAN', bridgeLab],
    ['dual-stack', dualStackLab],
  ] as const) {
    it(`draws every node, interface, address and link of the ${name} lab`, async () => {
      const lab = make();
      const g = await parseDot(toDot(lab));
      assert.equal(g.attrs.layout, 'dot');
      assert.equal(g.attrs.rankdir, 'LR');
      checkStructure(lab, g, { subnetOnBridgeLinks: true });
    });
  }

  it('draws the 100-node lab completely, with a force layout', async () => {
    const lab = largeLab();
    assert.equal(lab.nodes.length, 100);
    const g = await parseDot(toDot(lab));
    assert.equal(g.attrs.layout, 'neato');
    checkStructure(lab, g, { subnetOnBridgeLinks: false });
    // In a force layout a bridge carries its LAN once instead of on every wire.
    const sw0 = g.nodes.find((n) => n.name === 'sw0')!;
    assert.ok(sw0.lines.some((l) => l.includes('172.16.0.0/24')));
  });

  it('puts the host in the middle of the tutorial picture, ns0 left and ns1 right', async () => {
    const g = await parseDot(toDot(tutorialLab()));
    const x = (name: string): number => g.nodes.find((n) => n.name === name)!.x;
    assert.ok(
      x('ns0') < x('host') && x('host') < x('ns1'),
      `ns0 ${x('ns0')} < host ${x('host')} < ns1 ${x('ns1')}`,
    );
    // The wires leave the host sideways: ns0's from its west side, ns1's from its east side.
    const toNs0 = g.edges.find((e) => e.tail === 'ns0' || e.head === 'ns0')!;
    const hostEndNs0 = toNs0.tail === 'host' ? toNs0.tailport : toNs0.headport;
    assert.equal(hostEndNs0, 'if-veth11:w');
    const toNs1 = g.edges.find((e) => e.tail === 'ns1' || e.head === 'ns1')!;
    const hostEndNs1 = toNs1.tail === 'host' ? toNs1.tailport : toNs1.headport;
    assert.equal(hostEndNs1, 'if-veth21:e');
  });

  it('draws the host apart and bridges as switches', async () => {
    const tut = await parseDot(toDot(tutorialLab()));
    const host = tut.nodes.find((n) => n.name === 'host')!;
    const ns0 = tut.nodes.find((n) => n.name === 'ns0')!;
    assert.ok(host.lines.includes('default namespace'));
    assert.ok(ns0.lines.includes('netns ns0'));
    assert.notEqual(
      host.attrs.label.match(/BORDER="(\d+)"/)?.[1],
      ns0.attrs.label.match(/BORDER="(\d+)"/)?.[1],
    );
    const lan = await parseDot(toDot(bridgeLab()));
    const sw = lan.nodes.find((n) => n.name === 'sw')!;
    const nsA = lan.nodes.find((n) => n.name === 'ns-a')!;
    assert.equal(sw.attrs.shape, 'box');
    assert.ok(sw.attrs.style.includes('rounded'));
    assert.equal(nsA.attrs.shape, 'plain');
    assert.ok(sw.lines.includes('bridge br0 in lan-sw'));
    assert.ok(sw.lines.includes('LAN 192.168.50.0/24'));
  });

  it('shows routes and forwarding state only with opts.routes', async () => {
    const lab = dualStackLab();
    const plain = await parseDot(toDot(lab));
    assert.ok(plain.nodes.every((n) => !n.lines.includes('ROUTES')));
    const g = await parseDot(toDot(lab, { routes: true }));
    for (const node of lab.nodes) {
      const lines = g.nodes.find((n) => n.name === node.name)!.lines;
      for (const r of node.routes)
        assert.ok(lines.includes(routeText(r)), `${node.name} shows ${routeText(r)}`);
    }
    const host = g.nodes.find((n) => n.name === 'host')!.lines;
    assert.ok(host.includes('ip_forward on'));
    assert.ok(host.includes('ipv6 forwarding on'));
    const left = g.nodes.find((n) => n.name === 'left')!.lines;
    assert.ok(left.includes('ip_forward off'));
    assert.ok(left.includes('10.2.20.0/24 via 10.2.10.1 dev vl'));
  });

  it('says when the host forwarding state is not set by the file', async () => {
    const lab = tutorialLab();
    lab.nodes[0].sysctls = {};
    const g = await parseDot(toDot(lab, { routes: true }));
    assert.ok(g.nodes.find((n) => n.name === 'host')!.lines.includes('ip_forward not set'));
  });

  it('titles the picture with the lab name and a summary', async () => {
    const g = await parseDot(toDot(bridgeLab()));
    assert.match(g.attrs.label, /<B>lan<\/B>/);
    assert.match(g.attrs.label, /4 namespaces, 1 bridge, 4 links/);
    const t = await parseDot(toDot(tutorialLab(), { title: 'Tutorial' }));
    assert.match(t.attrs.label, /<B>Tutorial<\/B>/);
    assert.match(t.attrs.label, /2 namespaces \+ host, 2 links/);
  });

  it('escapes names that mean something in DOT or HTML', async () => {
    const lab = new LabBuilder('a "lab" <with> & stuff', '')
      .node('x"y')
      .node('p<q>')
      .link('x"y:e&1', ['10.9.0.1/24'], 'p<q>:n', ['10.9.0.2/24'])
      .build();
    const g = await parseDot(toDot(lab));
    assert.equal(g.name, 'a "lab" <with> & stuff');
    checkStructure(lab, g, { subnetOnBridgeLinks: true });
    // An interface named like a compass point still attaches to its port.
    const edge = g.edges[0];
    assert.ok([edge.tailport, edge.headport].some((p) => portOnly(p) === 'if-n'));
  });

  it('honours an explicit layout', async () => {
    const g = await parseDot(toDot(tutorialLab(), { layout: 'neato' }));
    assert.equal(g.attrs.layout, 'neato');
    checkStructure(tutorialLab(), g, { subnetOnBridgeLinks: true });
    const s = await parseDot(toDot(starLab(12), { layout: 'dot' }));
    assert.equal(s.attrs.layout, 'dot');
  });

  it('lays a 100-node lab out in two dimensions without overlapping boxes', async () => {
    for (const lab of [largeLab(), starLab()]) {
      const g = await parseDot(toDot(lab));
      const xs = g.nodes.map((n) => n.x);
      const ys = g.nodes.map((n) => n.y);
      const w = Math.max(...xs) - Math.min(...xs);
      const h = Math.max(...ys) - Math.min(...ys);
      assert.ok(Math.min(w, h) / Math.max(w, h) > 0.4, `${lab.name}: node centres spread ${w} x ${h}`);
      for (let i = 0; i < g.nodes.length; i++) {
        for (let j = i + 1; j < g.nodes.length; j++) {
          const a = g.nodes[i];
          const b = g.nodes[j];
          const apart =
            Math.abs(a.x - b.x) * 2 >= a.width + b.width || Math.abs(a.y - b.y) * 2 >= a.height + b.height;
          assert.ok(apart, `${lab.name}: ${a.name} and ${b.name} overlap`);
        }
      }
    }
  });

  it('gives the same text for the same lab', () => {
    assert.equal(toDot(largeLab()), toDot(largeLab()));
  });
});
