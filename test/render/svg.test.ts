import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RenderError } from '../../src/render/errors.js';
import { COLORS } from '../../src/render/style.js';
import { dotToSvg, toPng, toSvg } from '../../src/render/svg.js';
import { NslabError } from '../../src/sys/errors.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { bridgeLab, dualStackLab, largeLab, observedFromLab, starLab, tutorialLab } from './fixtures.js';
import { svgGroup, svgTexts } from './parse.js';

const ARTIFACTS = fileURLToPath(new URL('../../.nslab-test-artifacts/', import.meta.url));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function viewBox(svg: string): { width: number; height: number } {
  const m = /viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"/.exec(svg);
  assert.ok(m, 'SVG has a viewBox');
  return { width: Number(m[3]), height: Number(m[4]) };
}

function checkTexts(lab: ResolvedLab, svg: string): void {
  const texts = svgTexts(svg);
  const has = (s: string): boolean => texts.some((t) => t.includes(s));
  assert.ok(has(lab.name), 'title');
  for (const node of lab.nodes) {
    assert.ok(has(node.name), `node ${node.name}`);
    for (const iface of node.interfaces) {
      assert.ok(has(iface.name), `interface ${node.name}:${iface.name}`);
      for (const a of [...iface.ipv4, ...iface.ipv6])
        assert.ok(has(a), `address ${a} of ${node.name}:${iface.name}`);
    }
  }
}

describe('toSvg', () => {
  for (const [name, make] of [
    ['tutorial', tutorialLab],
    ['bridge LAN', bridgeLab],
    ['dual-stack', dualStackLab],
  ] as const) {
    it(`renders the ${name} lab with every node, interface and address as text`, async () => {
      const lab = make();
      const svg = await toSvg(lab, { routes: true });
      assert.match(svg, /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/);
      checkTexts(lab, svg);
      // One drawn edge per link.
      assert.equal([...svg.matchAll(/class="edge link/g)].length, lab.links.length);
      assert.ok(svg.includes("font-family=\"'DejaVu Sans',"), 'font stack with fallbacks');
    });
  }

  it('colours a down link red and dashed, drift orange, and adds a legend', async () => {
    const lab = tutorialLab();
    const obs = observedFromLab(lab);
    obs.nodes.ns1.links.find((l) => l.name === 'veth22')!.up = false;
    obs.nodes.host.addrs.push({ dev: 'veth11', cidr: '10.1.10.99/24', family: 4 });
    const svg = await toSvg(lab, { observed: obs });
    const down = svgGroup(svg, 'link-1');
    assert.ok(down, 'edge of link 1');
    assert.match(down, /class="edge link down"/);
    assert.match(down, new RegExp(`<path[^>]*stroke="${COLORS.down}"[^>]*stroke-dasharray`));
    const up = svgGroup(svg, 'link-0');
    assert.ok(up);
    assert.doesNotMatch(up, new RegExp(COLORS.down));
    assert.doesNotMatch(up, /stroke-dasharray/);
    const ns1 = svgGroup(svg, 'node-ns1')!;
    assert.ok(ns1.includes(`fill="${COLORS.down}"`), 'down interface text in red');
    const host = svgGroup(svg, 'node-host')!;
    assert.match(
      host,
      new RegExp(`fill="${COLORS.drift}"[^>]*>\\+10\\.1\\.10\\.99/24`),
      'extra address in orange',
    );
    const texts = svgTexts(svg);
    assert.ok(texts.includes('down / missing'));
    assert.ok(texts.some((t) => t.startsWith('differs from file')));
    // Without observation: no legend, nothing red.
    const plain = await toSvg(lab);
    assert.ok(!svgTexts(plain).includes('down / missing'));
    assert.ok(!plain.includes(COLORS.down));
  });

  it('draws a missing namespace dashed in red', async () => {
    const lab = tutorialLab();
    const obs = observedFromLab(lab);
    delete obs.nodes.ns0;
    obs.namespaces = ['ns1'];
    const svg = await toSvg(lab, { observed: obs });
    const ns0 = svgGroup(svg, 'node-ns0')!;
    assert.match(ns0, new RegExp(`stroke="${COLORS.down}"[^>]*stroke-dasharray`));
    assert.match(svgGroup(svg, 'link-0')!, /class="edge link missing"/);
  });

  it('renders a 100-node lab quickly, spread in two dimensions', async () => {
    for (const lab of [largeLab(), starLab()]) {
      const t0 = performance.now();
      const svg = await toSvg(lab);
      const ms = performance.now() - t0;
      console.log(`  ${lab.name}: ${lab.nodes.length} nodes rendered to SVG in ${ms.toFixed(0)} ms`);
      assert.ok(ms < 10_000, `took ${ms} ms`);
      const { width, height } = viewBox(svg);
      const ratio = Math.max(width, height) / Math.min(width, height);
      assert.ok(ratio < 2.5, `${lab.name}: ${width} x ${height} is close to one line`);
      assert.equal([...svg.matchAll(/class="node /g)].length, 100);
      checkTexts(lab, svg);
    }
  });

  it('reports Graphviz failures as RenderError', async () => {
    await assert.rejects(dotToSvg('graph { a -- }'), (e: unknown) => {
      assert.ok(e instanceof RenderError && e instanceof NslabError);
      assert.match(e.message, /Graphviz could not draw the lab/);
      return true;
    });
  });
});

describe('toPng', () => {
  it('renders the tutorial lab to .nslab-test-artifacts/seed.png', async () => {
    const png = await toPng(await toSvg(tutorialLab(), { routes: true }), { zoom: 2 });
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature');
    assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    assert.ok(width > 800 && height > 200, `${width} x ${height}`);
    assert.ok(png.length > 20_000, `${png.length} bytes`);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(`${ARTIFACTS}seed.png`, png);
  });

  it('says which package to install when rsvg-convert is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent-nslab-test';
    try {
      await assert.rejects(toPng('<svg xmlns="http://www.w3.org/2000/svg"/>'), (e: unknown) => {
        assert.ok(e instanceof NslabError);
        assert.equal(e.message, 'PNG output needs rsvg-convert (Debian package librsvg2-bin)');
        return true;
      });
    } finally {
      process.env.PATH = path;
    }
  });

  it('reports rsvg-convert failures and bad zoom values', async () => {
    await assert.rejects(toPng('this is not svg'), /rsvg-convert failed \(exit \d+\)/);
    await assert.rejects(
      toPng('<svg/>', { zoom: 0 }),
      (e: unknown) => e instanceof NslabError && e.exitCode === 2,
    );
  });
});
