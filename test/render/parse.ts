import { instance } from '@viz-js/viz';

/** Helpers that read rendered output back (through Graphviz itself for DOT), so tests check structure, not text. */

export interface ParsedNode {
  name: string;
  attrs: Record<string, string>;
  /** Port names declared in the HTML label. */
  ports: string[];
  /** Visible text of the label, tags stripped, entities decoded, one entry per line. */
  lines: string[];
  /** Visible text of each port cell, by port name. */
  portText: Record<string, string>;
  /** Centre after layout, in points. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ParsedEdge {
  tail: string;
  head: string;
  tailport: string;
  headport: string;
  attrs: Record<string, string>;
  labelText: string;
}

export interface ParsedGraph {
  name: string;
  attrs: Record<string, string>;
  nodes: ParsedNode[];
  edges: ParsedEdge[];
}

export function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}

/** Text lines of an HTML-like label: `<BR/>` and cell ends break lines, other tags vanish. */
export function htmlLines(html: string): string[] {
  return decodeEntities(
    html
      .replace(/<BR[^>]*>/gi, '\n')
      .replace(/<\/TD>/gi, '\n')
      .replace(/<[^>]+>/g, ''),
  )
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

const STRING_ATTRS = new Set(['_gvid', 'tail', 'head', 'objects', 'edges', 'nodes', 'subgraphs']);

function attrsOf(obj: Record<string, unknown>): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) if (!STRING_ATTRS.has(k) && typeof v === 'string') attrs[k] = v;
  return attrs;
}

/** Lays the DOT text out with the engine it names and returns its nodes and edges as Graphviz read them. */
export async function parseDot(dot: string): Promise<ParsedGraph> {
  const viz = await instance();
  const engine = /\blayout="(\w+)"/.exec(dot)?.[1] ?? 'dot';
  const result = viz.render(dot, { format: 'json', engine });
  if (result.status !== 'success')
    throw new Error(`Graphviz rejected the DOT: ${JSON.stringify(result.errors)}`);
  const json = JSON.parse(result.output) as {
    name: string;
    objects?: Record<string, unknown>[];
    edges?: Record<string, unknown>[];
  } & Record<string, unknown>;
  const objects = json.objects ?? [];
  const nodes: ParsedNode[] = objects
    .filter((o) => o.nodes === undefined && o.subgraphs === undefined)
    .map((o) => {
      const attrs = attrsOf(o);
      const label = attrs.label ?? '';
      const ports = [...label.matchAll(/PORT="([^"]+)"/g)].map((m) => decodeEntities(m[1]));
      const portText: Record<string, string> = {};
      for (const m of label.matchAll(/<TD[^>]*PORT="([^"]+)"[^>]*>(.*?)<\/TD>/g)) {
        portText[decodeEntities(m[1])] = htmlLines(m[2]).join(' ');
      }
      const [x, y] = (attrs.pos ?? '0,0').split(',').map(Number);
      return {
        name: String(o.name),
        attrs,
        ports,
        lines: htmlLines(label),
        portText,
        x,
        y,
        width: Number(attrs.width) * 72,
        height: Number(attrs.height) * 72,
      };
    });
  const edges: ParsedEdge[] = (json.edges ?? []).map((e) => {
    const attrs = attrsOf(e);
    return {
      tail: String(objects[e.tail as number].name),
      head: String(objects[e.head as number].name),
      tailport: attrs.tailport ?? '',
      headport: attrs.headport ?? '',
      attrs,
      labelText: htmlLines(attrs.label ?? '').join(' '),
    };
  });
  return { name: json.name, attrs: attrsOf(json), nodes, edges };
}

/** Port name without its compass point (`if-veth12:e` → `if-veth12`). */
export function portOnly(port: string): string {
  return port.replace(/:(n|ne|e|se|s|sw|w|nw|c|_)$/, '');
}

/** All text drawn in an SVG, one entry per `<text>` element, entities decoded. */
export function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([\s\S]*?)<\/text>/g)].map((m) =>
    decodeEntities(m[1].replace(/<[^>]+>/g, '')),
  );
}

/** The `<g>` element with the given id, nested groups included (Graphviz writes `-` in ids as `&#45;`). */
export function svgGroup(svg: string, id: string): string | undefined {
  const text = svg.replaceAll('&#45;', '-');
  const start = text.indexOf(`<g id="${id}"`);
  if (start < 0) return undefined;
  const tags = /<g\b|<\/g>/g;
  tags.lastIndex = start;
  let depth = 0;
  for (let m = tags.exec(text); m; m = tags.exec(text)) {
    depth += m[0] === '</g>' ? -1 : 1;
    if (depth === 0) return text.slice(start, m.index + 4);
  }
  return undefined;
}
