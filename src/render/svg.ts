import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Viz } from '@viz-js/viz';
import type { ResolvedLab } from '../topology/types.js';
import { toDot } from './dot.js';
import { RenderError } from './errors.js';
import type { RenderOptions } from './model.js';
import { FONT, SVG_FONT_STACK } from './style.js';

let viz: Promise<Viz> | undefined;

/**
 * The WebAssembly Graphviz, loaded once per process and only by the first picture drawn: its module is the
 * biggest nslab depends on, and only `graph` as SVG or PNG needs it. Loaded by require (its CommonJS build), not
 * import(): the CLI's bundle runs as a vm script, which has no loader for import() (see cli/nslab.cts).
 */
function graphviz(): Promise<Viz> {
  viz ??= (createRequire(import.meta.url)('@viz-js/viz') as typeof import('@viz-js/viz')).instance();
  return viz;
}

/** Engine named by the `layout=` attribute of DOT text made by `toDot`. */
function engineOf(dot: string): string {
  return /\blayout="(\w+)"/.exec(dot)?.[1] ?? 'dot';
}

/**
 * Lays out DOT text with Graphviz (compiled to WebAssembly, running inside Node: no `dot` binary needed) and
 * returns the SVG. The font family is widened to common fallbacks for viewers without DejaVu.
 */
export async function dotToSvg(dot: string): Promise<string> {
  const v = await graphviz();
  const result = v.render(dot, { format: 'svg', engine: engineOf(dot) });
  if (result.status !== 'success') {
    const why = result.errors.map((e) => e.message.trim()).join('; ');
    throw new RenderError(`Graphviz could not draw the lab: ${why || 'unknown error'}`);
  }
  return result.output.replaceAll(`font-family="${FONT}"`, `font-family="${SVG_FONT_STACK}"`);
}

/** SVG picture of the lab (the `toDot` drawing laid out by Graphviz). */
export async function toSvg(lab: ResolvedLab, opts: RenderOptions = {}): Promise<string> {
  return dotToSvg(toDot(lab, opts));
}

export interface PngOptions {
  /** Scale factor (`rsvg-convert --zoom`); 2 gives a sharp picture on high-density screens. Default 1. */
  zoom?: number;
}

/**
 * Converts SVG text to PNG by piping it through `rsvg-convert` (librsvg). Throws a RenderError naming the
 * Debian package when the program is not installed.
 */
export function toPng(svg: string, opts: PngOptions = {}): Promise<Buffer> {
  const zoom = opts.zoom ?? 1;
  if (!(zoom > 0 && zoom <= 16))
    return Promise.reject(new RenderError(`PNG zoom must be in (0, 16], got ${zoom}`, 2));
  return new Promise((resolve, reject) => {
    const child = spawn(
      'rsvg-convert',
      ['--format', 'png', '--zoom', String(zoom), '--background-color', 'white'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(
          new RenderError('PNG output needs rsvg-convert (Debian package librsvg2-bin)', 1, { cause: e }),
        );
      } else reject(new RenderError(`rsvg-convert could not be run: ${e.message}`, 1, { cause: e }));
    });
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else {
        const why = Buffer.concat(err).toString('utf8').trim();
        reject(new RenderError(`rsvg-convert failed (exit ${code})${why ? `: ${why}` : ''}`));
      }
    });
    // The child may exit before reading everything (bad input): its error is reported by 'close'.
    child.stdin.on('error', () => {});
    child.stdin.end(svg);
  });
}
