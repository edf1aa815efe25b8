import type { ResolvedLab } from '../topology/types.js';
import { planLayout } from './layout.js';
import { type AddrView, buildView, labSummary, type NodeView, type RenderOptions } from './model.js';
import { COLORS, KIND_STYLE } from './style.js';

/**
 * Escapes text for a double-quoted Mermaid label. Mermaid reads `#name;` as an entity, so `#`, `"`, `<`, `>`, `&`
 * and `|` (which ends an edge label) are written as entity codes; the result never holds a raw quote or newline.
 */
export function mermaidEscape(text: string): string {
  return text
    .replace(/#/g, '#35;')
    .replace(/&/g, '#amp;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/\|/g, '#124;')
    .replace(/[\r\n]+/g, ' ');
}

function addrText(a: AddrView): string {
  const text = mermaidEscape(a.cidr);
  if (a.drift === 'missing') return `<s>${text}</s> (missing)`;
  if (a.drift === 'extra') return `+${text} (extra)`;
  return text;
}

function nodeLabel(node: NodeView, routes: boolean): string {
  const caption =
    node.kind === 'host'
      ? 'default namespace'
      : node.kind === 'bridge'
        ? `bridge br0${node.netns ? ` in ${node.netns}` : ''}`
        : `netns ${node.netns ?? node.name}`;
  const lines = [`<b>${mermaidEscape(node.name)}</b>`, `<small>${mermaidEscape(caption)}</small>`];
  if (node.state === 'missing') lines.push('(missing)');
  if (node.kind === 'bridge' && node.subnets.length > 0)
    lines.push(`LAN ${node.subnets.map(mermaidEscape).join(', ')}`);
  for (const a of node.bridgeAddrs) lines.push(`br0: ${addrText(a)}`);
  for (const iface of node.ifaces) {
    const state = iface.state === 'ok' ? '' : ` (${iface.state})`;
    const master = iface.masterDrift ? ` (not in br0: master ${mermaidEscape(iface.masterDrift)})` : '';
    const addrs = iface.addrs.map(addrText).join(', ');
    lines.push(`<b>${mermaidEscape(iface.name)}</b>${state}${master}${addrs ? `: ${addrs}` : ''}`);
  }
  if (routes && node.kind !== 'bridge') {
    lines.push('<i>routes</i>');
    if (node.routes.length === 0) lines.push('connected only');
    for (const r of node.routes) {
      const text = mermaidEscape(r.text);
      const auto = r.auto ? ' <i>auto</i>' : '';
      lines.push(
        r.drift === 'missing'
          ? `<s>${text}</s> (missing)`
          : r.drift === 'extra'
            ? `+${text} (extra)`
            : text + auto,
      );
    }
    for (const f of node.forwarding) {
      const name = f.family === 4 ? 'ip_forward' : 'ipv6 forwarding';
      const value = f.value === 'unset' ? 'not set' : f.value;
      lines.push(`${name}: <b>${value}</b>${f.drift ? ` (file: ${f.want})` : ''}`);
    }
  }
  return lines.join('<br/>');
}

/** Node shapes: the host a subroutine box (double sides), bridges hexagons (switches), namespaces rectangles. */
function shape(node: NodeView, label: string): string {
  if (node.kind === 'host') return `[["${label}"]]`;
  if (node.kind === 'bridge') return `{{"${label}"}}`;
  return `["${label}"]`;
}

function hasDrift(node: NodeView): boolean {
  return (
    node.ifaces.some((i) => i.masterDrift !== undefined || i.addrs.some((a) => a.drift !== 'ok')) ||
    node.bridgeAddrs.some((a) => a.drift !== 'ok') ||
    node.routes.some((r) => r.drift !== 'ok') ||
    node.forwarding.some((f) => f.drift)
  );
}

/**
 * Mermaid flowchart of the lab (for Markdown that renders Mermaid): one node per namespace listing its interfaces
 * and addresses, the host as a double-sided box, bridges as hexagons, one line per veth pair labelled with the two
 * interface names and the subnet. `opts.routes` adds routes and forwarding; `opts.observed` draws links that are
 * down or missing red and dashed, nodes that differ from the file orange, and a legend.
 */
export function toMermaid(lab: ResolvedLab, opts: RenderOptions = {}): string {
  const view = buildView(lab, opts);
  const id = new Map(view.nodes.map((n, i) => [n.name, `n${i}`]));
  const out: string[] = [];
  out.push('---', `title: ${JSON.stringify(view.title)}`, '---');
  out.push('flowchart LR');
  out.push(`  %% ${mermaidEscape(labSummary(view))}`);
  for (const node of view.nodes)
    out.push(`  ${id.get(node.name)}${shape(node, nodeLabel(node, view.routes))}`);

  // Same arrangement as the Graphviz picture: each link written from its left end, so the host sits in the middle.
  const plan = planLayout(view, 'dot');
  const downLinks: number[] = [];
  view.edges.forEach((edge, i) => {
    const [left, right] = plan.edges.get(edge.link)?.tail === 'b' ? [edge.b, edge.a] : [edge.a, edge.b];
    const ends = `${mermaidEscape(left.iface)} - ${mermaidEscape(right.iface)}`;
    const subnet = edge.subnets.length > 0 ? `<br/>${edge.subnets.map(mermaidEscape).join('<br/>')}` : '';
    const state = edge.state === 'ok' ? '' : `<br/><b>${edge.state}</b>`;
    const line = edge.state === 'ok' ? '---' : '-.-';
    if (edge.state !== 'ok') downLinks.push(i);
    out.push(`  ${id.get(left.node)} ${line}|"${ends}${subnet}${state}"| ${id.get(right.node)}`);
  });

  if (view.live) {
    out.push('  subgraph legend ["live state"]');
    out.push('    legend_down["down / missing"]:::down');
    out.push('    legend_drift["differs from file: +extra, <s>missing</s>"]:::drift');
    out.push('  end');
  }

  for (const kind of ['host', 'netns', 'bridge'] as const) {
    const s = KIND_STYLE[kind];
    const width = kind === 'host' ? 3 : 2;
    out.push(
      `  classDef ${kind} fill:${s.body},stroke:${s.border},stroke-width:${width}px,color:${COLORS.text}`,
    );
  }
  out.push(
    `  classDef down fill:${COLORS.downFill},stroke:${COLORS.down},stroke-width:2px,stroke-dasharray:5 5,color:${COLORS.down}`,
  );
  out.push(
    `  classDef drift fill:${COLORS.driftFill},stroke:${COLORS.drift},stroke-width:2px,color:${COLORS.text}`,
  );
  for (const node of view.nodes) {
    const live =
      node.state !== 'ok' || node.ifaces.some((i) => i.state !== 'ok')
        ? 'down'
        : hasDrift(node)
          ? 'drift'
          : '';
    out.push(`  class ${id.get(node.name)} ${live || node.kind}`);
  }
  if (view.edges.length > 0) {
    out.push(`  linkStyle default stroke:${COLORS.edge},stroke-width:2px`);
  }
  if (downLinks.length > 0) {
    out.push(
      `  linkStyle ${downLinks.join(',')} stroke:${COLORS.down},stroke-width:2px,stroke-dasharray:5 5`,
    );
  }
  return `${out.join('\n')}\n`;
}
