import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RENDER_FORMATS, type RenderFormat, render, toDot, toMermaid } from '../../src/render/index.js';
import { NslabError } from '../../src/sys/errors.js';
import { LabBuilder } from '../helpers/lab.js';
import { tutorialLab } from './fixtures.js';

describe('render', () => {
  it('returns text for dot, mermaid and svg and a PNG buffer for png', async () => {
    const lab = tutorialLab();
    assert.deepEqual([...RENDER_FORMATS], ['svg', 'dot', 'mermaid', 'png']);
    assert.equal(await render(lab, 'dot', { routes: true }), toDot(lab, { routes: true }));
    assert.equal(await render(lab, 'mermaid'), toMermaid(lab));
    const svg = await render(lab, 'svg');
    assert.equal(typeof svg, 'string');
    assert.match(svg as string, /<svg[\s\S]*veth12[\s\S]*<\/svg>/);
    const png = await render(lab, 'png', { zoom: 1 });
    assert.ok(Buffer.isBuffer(png));
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  });

  it('draws an empty lab in every format', async () => {
    const lab = new LabBuilder('empty', '').build();
    for (const format of RENDER_FORMATS) {
      const out = await render(lab, format);
      assert.ok(out.length > 0, format);
      if (format !== 'png') assert.ok(String(out).includes('empty'), `${format} carries the title`);
    }
  });

  it('rejects an unknown format as bad input', async () => {
    await assert.rejects(render(tutorialLab(), 'pdf' as RenderFormat), (e: unknown) => {
      assert.ok(e instanceof NslabError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /unknown graph format "pdf"/);
      return true;
    });
  });
});
