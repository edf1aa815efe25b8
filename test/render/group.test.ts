import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toDot } from '../../src/render/dot.js';
import { GROUP_ABOVE, groupLanHosts } from '../../src/render/group.js';
import { buildView } from '../../src/render/model.js';
import { toPng, toSvg } from '../../src/render/svg.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { LabBuilder } from '../helpers/lab.js';
import { largeLab, observedFromLab } from './fixtures.js';
import { parseDot, svgGroup, svgTexts } from './parse.js';

/** A campus of `racks` LANs of `per` hosts each, a gateway per LAN and a core router: 1 + 2*racks + racks*per nodes. */
function campus(racks: number, per: number): ResolvedLab {
  const b = new LabBuilder('campus', 'cp-').node('core', 'netns', { 'net.ipv4.ip_forward': '1' });
  for (let r = 0; r < racks; r++) {
    b.node(`gw${r}`, 'netns', { 'net.ipv4.ip_forward': '1' })
      .node(`sw${r}`, 'bridge')
      .link(`core:r${r}`, [`10.9.${r}.1/30`], `gw${r}:up`, [`10.9.${r}.2/30`])
      .link(`gw${r}:down`, [`172.20.${r}.1/24`], `sw${r}:up`);
    for (let h = 0; h < per; h++) {
      b.link(`h${r}x${h}:eth0`, [`172.20.${r}.${h + 10}/24`], `sw${r}:p${h}`).route(
        `h${r}x${h}`,
        '0.0.0.0/0',
        `172.20.${r}.1`,
      );
    }
  }
  return b.build();
}

describe('grouping the hosts of a LAN', () => {
  it('leaves labs of up to GROUP_ABOVE nodes as they are', () => {
    const lab = largeLab();
    assert.ok(lab.nodes.length <= GROUP_ABOVE);
    const { groups } = groupLanHosts(buildView(lab));
    assert.equal(groups.size, 0);
  });

  it('draws each LAN of a 300-node lab as one box that names its hosts, linked to its bridge', async () => {
    const lab = campus(15, 19);
    assert.ok(lab.nodes.length > 300);
    const g = await parseDot(toDot(lab));
    const boxes = g.nodes.filter((n) => n.attrs.class === 'netns group');
    assert.equal(boxes.length, 15);
    for (let r = 0; r < 15; r++) {
      const box = boxes.find((n) => n.attrs.id === `group-sw${r}`)!;
      assert.ok(box, `group of sw${r}`);
      assert.deepEqual(
        box.attrs.tooltip.split(': ')[1].split(' '),
        Array.from({ length: 19 }, (_, h) => `h${r}x${h}`),
      );
      assert.ok(box.lines.includes(`19 namespaces on sw${r}`));
      assert.ok(box.lines.includes(`172.20.${r}.10/24 … 172.20.${r}.28/24`));
      const wires = g.edges.filter((e) => e.tail === box.name || e.head === box.name);
      assert.equal(wires.length, 1);
      assert.ok([wires[0].tail, wires[0].head].includes(`sw${r}`));
    }
    // Every other node is drawn as itself, every link not into a group as its own edge.
    const drawn = new Set(g.nodes.map((n) => n.name));
    for (const n of lab.nodes) if (!/^h\d+x\d+$/.test(n.name)) assert.ok(drawn.has(n.name), n.name);
    assert.equal(g.edges.length, 15 * 2 + 15);
    // The title still counts the whole lab.
    assert.ok(g.attrs.label.includes('301 namespaces, 15 bridges'));
  });

  it('names the hosts of a group that are down or missing', async () => {
    const lab = campus(6, 18);
    const observed = observedFromLab(lab);
    observed.nodes.h2x3.links.find((l) => l.name === 'eth0')!.up = false;
    delete observed.nodes.h2x7;
    observed.namespaces = observed.namespaces.filter((n) => n !== 'cp-h2x7');
    // Graphviz's JSON output garbles live pictures (their legend): read the SVG instead.
    const svg = await toSvg(lab, { observed });
    const texts = (id: string) => svgTexts(svgGroup(svg, id) ?? '');
    assert.ok(texts('group-sw2').includes('down or missing: h2x3, h2x7'), texts('group-sw2').join(' | '));
    assert.ok(!texts('group-sw1').some((t) => t.startsWith('down or missing')));
    const firstLink = lab.links.find((l) => l.endpoints.some((e) => e.node === 'h2x0'))!.index;
    assert.match(svgGroup(svg, `link-${firstLink}`)!, /class="edge link down"/);
    assert.match(svgGroup(svg, `link-${firstLink}`)!, /stroke-dasharray/);
  });

  it('shows the routes a group shares', async () => {
    const g = await parseDot(toDot(campus(6, 18), { routes: true }));
    const box = g.nodes.find((n) => n.attrs.id === 'group-sw4')!;
    assert.ok(box.lines.includes('default via 172.20.4.1 dev eth0'), box.lines.join(' | '));
  });

  it('turns a 300-node lab into a PNG in well under 3 s', async () => {
    const t0 = performance.now();
    const png = await toPng(await toSvg(campus(15, 19)));
    const ms = performance.now() - t0;
    console.log(`  316 nodes to PNG in ${ms.toFixed(0)} ms (${png.length} bytes)`);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok(ms < 3000, `took ${ms} ms`);
  });
});
