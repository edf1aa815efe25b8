import type { ResolvedLab } from '../topology/types.js';
import { toDot } from './dot.js';
import { RenderError } from './errors.js';
import { toMermaid } from './mermaid.js';
import type { RenderOptions } from './model.js';
import { type PngOptions, toPng, toSvg } from './svg.js';

export { htmlEscape, portName, toDot } from './dot.js';
export { RenderError } from './errors.js';
export { planLayout } from './layout.js';
export { mermaidEscape, toMermaid } from './mermaid.js';
export type { LabView, LiveState, RenderLayout, RenderOptions } from './model.js';
export { buildView, labSummary } from './model.js';
export { dotToSvg, type PngOptions, toPng, toSvg } from './svg.js';

import { RENDER_FORMATS, type RenderFormat } from './formats.js';

export { RENDER_FORMATS, type RenderFormat };

/**
 * Draws the lab in one of the `nslab graph` formats: `dot` and `mermaid` as text, `svg` laid out by the bundled
 * WebAssembly Graphviz, `png` that SVG rasterised by rsvg-convert (a Buffer).
 */
export async function render(
  lab: ResolvedLab,
  format: RenderFormat,
  opts: RenderOptions & PngOptions = {},
): Promise<string | Buffer> {
  switch (format) {
    case 'dot':
      return toDot(lab, opts);
    case 'mermaid':
      return toMermaid(lab, opts);
    case 'svg':
      return toSvg(lab, opts);
    case 'png':
      return toPng(await toSvg(lab, opts), opts);
    default:
      throw new RenderError(`unknown graph format "${String(format)}" (use ${RENDER_FORMATS.join(', ')})`, 2);
  }
}
