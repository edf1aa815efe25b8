import type { ResolvedLab } from '../topology/types.js';
import { groupLanHosts, type HostGroup } from './group.js';
import { type LayoutPlan, planLayout } from './layout.js';
import {
  type AddrView,
  buildView,
  type EdgeView,
  type IfaceView,
  type LabView,
  labSummary,
  type NodeView,
  type RenderOptions,
} from './model.js';
import { COLORS, FONT, KIND_STYLE } from './style.js';

/** Escapes text for a Graphviz HTML-like label. */
export function htmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Quotes a DOT identifier or attribute value. */
export function dotQuote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Port name of an interface inside its node's table (prefixed, so `n` or `e` cannot read as a compass point). */
export function portName(iface: string): string {
  return `if-${iface}`;
}

function font(text: string, attrs: { size?: number; color?: string }): string {
  const a: string[] = [];
  if (attrs.color) a.push(`COLOR="${attrs.color}"`);
  if (attrs.size) a.push(`POINT-SIZE="${attrs.size}"`);
  return `<FONT ${a.join(' ')}>${text}</FONT>`;
}

function addrLine(a: AddrView): string {
  const text = htmlEscape(a.cidr);
  if (a.drift === 'missing') return font(`<S>${text}</S> missing`, { color: COLORS.drift });
  if (a.drift === 'extra') return font(`+${text} extra`, { color: COLORS.drift });
  return text;
}

function kindCaption(node: NodeView): string {
  if (node.kind === 'host') return 'default namespace';
  if (node.kind === 'bridge') return node.netns ? `bridge br0 in ${node.netns}` : 'bridge br0';
  return `netns ${node.netns ?? node.name}`;
}

/** Nodes with more interfaces than this get their ports in a grid when the layout is not `dot`. */
const GRID_AFTER = 8;

/** Columns of interface cells: one in `dot` layouts (wires leave from the sides), a squarish grid otherwise. */
function ifaceColumns(node: NodeView, plan: LayoutPlan): number {
  if (plan.engine === 'dot' || node.ifaces.length <= GRID_AFTER) return 1;
  // A port cell is about three times as wide as it is tall.
  return Math.ceil(Math.sqrt(node.ifaces.length / 3));
}

function ifaceCell(node: NodeView, iface: IfaceView, align: 'LEFT' | 'RIGHT', firstColumn: boolean): string {
  const style = KIND_STYLE[node.kind];
  const lines = [`<B>${htmlEscape(iface.name)}</B>`];
  if (iface.state !== 'ok') lines[0] += font(` ${iface.state}`, { color: COLORS.down, size: 9 });
  if (iface.masterDrift) {
    lines.push(
      font(`not in br0 (master ${htmlEscape(iface.masterDrift)})`, { color: COLORS.drift, size: 9 }),
    );
  }
  for (const a of iface.addrs) lines.push(font(addrLine(a), { size: 10 }));
  const down = iface.state !== 'ok';
  const attrs = [
    `PORT="${htmlEscape(portName(iface.name))}"`,
    `ALIGN="${align}"`,
    `BALIGN="${align}"`,
    `BGCOLOR="${down ? COLORS.downFill : style.body}"`,
    down
      ? `BORDER="1" COLOR="${COLORS.down}" STYLE="dashed"`
      : `BORDER="1" SIDES="${firstColumn ? 'T' : 'TL'}" COLOR="${COLORS.divider}"`,
    'CELLPADDING="5"',
  ];
  return `<TD ${attrs.join(' ')}>${lines.join('<BR/>')}</TD>`;
}

function routesCell(node: NodeView, colspan: number): string {
  const lines = [font('ROUTES', { size: 8, color: COLORS.muted })];
  if (node.routes.length === 0) lines.push(font('connected only', { size: 9, color: COLORS.muted }));
  for (const r of node.routes) {
    const text = htmlEscape(r.text);
    if (r.drift === 'missing') lines.push(font(`<S>${text}</S> missing`, { size: 9, color: COLORS.drift }));
    else if (r.drift === 'extra') lines.push(font(`+${text} extra`, { size: 9, color: COLORS.drift }));
    else
      lines.push(font(text, { size: 9 }) + (r.auto ? font(' auto', { size: 8, color: COLORS.muted }) : ''));
  }
  for (const f of node.forwarding) {
    const name = f.family === 4 ? 'ip_forward' : 'ipv6 forwarding';
    const color = f.drift ? COLORS.drift : f.value === 'on' ? COLORS.on : COLORS.off;
    const value = f.value === 'unset' ? 'not set' : f.value;
    const drift = f.drift ? ` (file: ${f.want})` : '';
    lines.push(
      `${font(name, { size: 9, color: COLORS.muted })} ${font(`<B>${value}</B>${drift}`, { size: 9, color })}`,
    );
  }
  const style = KIND_STYLE[node.kind];
  return `<TD COLSPAN="${colspan}" ALIGN="LEFT" BALIGN="LEFT" BGCOLOR="${style.body}" BORDER="1" SIDES="T" COLOR="${COLORS.divider}" CELLPADDING="5">${lines.join('<BR/>')}</TD>`;
}

/** HTML-like label of a node: a header with its name and kind, one cell (a port) per interface, routes last. */
function nodeLabel(node: NodeView, view: LabView, plan: LayoutPlan): Html {
  const style = KIND_STYLE[node.kind];
  const missing = node.state === 'missing';
  const cols = ifaceColumns(node, plan);
  const head =
    font(`<B>${htmlEscape(node.name)}</B>`, { size: 13, color: style.headText }) +
    '<BR/>' +
    font(htmlEscape(kindCaption(node)) + (missing ? ', missing' : ''), { size: 8, color: style.caption });
  const rows = [
    `<TD COLSPAN="${cols}" BGCOLOR="${missing ? COLORS.down : style.head}" CELLPADDING="6">${head}</TD>`,
  ];
  if (node.kind === 'bridge' && node.subnets.length > 0) {
    const lan = node.subnets.map(htmlEscape).join('<BR/>');
    rows.push(
      `<TD COLSPAN="${cols}" BGCOLOR="${style.body}">${font(`LAN ${lan}`, { size: 9, color: style.border })}</TD>`,
    );
  }
  if (node.bridgeAddrs.length > 0) {
    const addrs = node.bridgeAddrs.map((a) => font(addrLine(a), { size: 10 })).join('<BR/>');
    rows.push(
      `<TD COLSPAN="${cols}" BGCOLOR="${style.body}" BORDER="1" SIDES="T" COLOR="${COLORS.divider}">${font('<B>br0</B>', { size: 10 })}<BR/>${addrs}</TD>`,
    );
  }
  for (let i = 0; i < node.ifaces.length; i += cols) {
    const cells = node.ifaces
      .slice(i, i + cols)
      .map((iface, c) => ifaceCell(node, iface, ifaceAlign(node, iface, view, plan), c === 0));
    while (cells.length < cols) cells.push(`<TD BORDER="1" SIDES="TL" COLOR="${COLORS.divider}"></TD>`);
    rows.push(cells.join(''));
  }
  if (node.ifaces.length === 0) {
    rows.push(`<TD BGCOLOR="${style.body}">${font('no interfaces', { size: 9, color: COLORS.muted })}</TD>`);
  }
  if (view.routes && node.kind !== 'bridge') rows.push(routesCell(node, cols));
  const border = missing ? COLORS.down : style.border;
  // A bridge's box is the node's own rounded shape (a switch); namespaces and the host are the table itself.
  const thickness = node.kind === 'host' ? 3 : node.kind === 'bridge' ? 0 : 1;
  const table = `<TABLE BORDER="${thickness}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" COLOR="${border}" BGCOLOR="${style.body}"${missing ? ' STYLE="dashed"' : ''}>`;
  return { html: `${table}${rows.map((r) => `<TR>${r}</TR>`).join('')}</TABLE>` };
}

/** Names for a box: all of them when few, else the first few and how many more. */
function someNames(names: string[], max = 4): string {
  return names.length <= max
    ? names.join(', ')
    : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * HTML-like label of a group of LAN hosts: the first and last host and how many, the shared interface with the
 * first and last address, the hosts that are down or missing (live), and their routes when all hosts share them.
 */
function groupLabel(group: HostGroup, node: NodeView, view: LabView, plan: LayoutPlan): Html {
  const style = KIND_STYLE.netns;
  const names = group.members.map((m) => m.name);
  const head =
    font(`<B>${htmlEscape(`${names[0]} … ${names[names.length - 1]}`)}</B>`, {
      size: 13,
      color: style.headText,
    }) +
    '<BR/>' +
    font(htmlEscape(`${names.length} namespaces on ${group.bridge}`), { size: 8, color: style.caption });
  const addrs = group.members.flatMap((m) => m.ifaces[0].addrs.map((a) => a.cidr));
  const iface = node.ifaces[0];
  const lines = [`<B>${htmlEscape(iface.name)}</B>`];
  if (addrs.length > 0) {
    const range = addrs.length === 1 ? addrs[0] : `${addrs[0]} … ${addrs[addrs.length - 1]}`;
    lines.push(
      font(htmlEscape(range), { size: 10 }),
      font(`${addrs.length} addresses`, { size: 9, color: COLORS.muted }),
    );
  }
  const notOk = group.members.filter((m) => m.state !== 'ok' || m.ifaces[0].state !== 'ok');
  if (notOk.length > 0) {
    lines.push(
      font(htmlEscape(`down or missing: ${someNames(notOk.map((m) => m.name))}`), {
        size: 9,
        color: COLORS.down,
      }),
    );
  }
  const align = ifaceAlign(node, iface, view, plan);
  const rows = [
    `<TD BGCOLOR="${style.head}" CELLPADDING="6">${head}</TD>`,
    `<TD PORT="${htmlEscape(portName(iface.name))}" ALIGN="${align}" BALIGN="${align}" BGCOLOR="${style.body}" BORDER="1" SIDES="T" COLOR="${COLORS.divider}" CELLPADDING="5">${lines.join('<BR/>')}</TD>`,
  ];
  if (view.routes) {
    const texts = group.members.map((m) => m.routes.map((r) => r.text).join('\n'));
    const same = texts.every((t) => t === texts[0]);
    const routeLines = [font('ROUTES', { size: 8, color: COLORS.muted })];
    if (!same) routeLines.push(font('differ from host to host', { size: 9, color: COLORS.muted }));
    else if (group.members[0].routes.length === 0)
      routeLines.push(font('connected only', { size: 9, color: COLORS.muted }));
    else for (const r of group.members[0].routes) routeLines.push(font(htmlEscape(r.text), { size: 9 }));
    rows.push(
      `<TD ALIGN="LEFT" BALIGN="LEFT" BGCOLOR="${style.body}" BORDER="1" SIDES="T" COLOR="${COLORS.divider}" CELLPADDING="5">${routeLines.join('<BR/>')}</TD>`,
    );
  }
  // A stack of boxes: the group is drawn with a second border behind it.
  const table = `<TABLE BORDER="2" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" COLOR="${style.border}" BGCOLOR="${style.body}" STYLE="rounded">`;
  return { html: `${table}${rows.map((r) => `<TR>${r}</TR>`).join('')}</TABLE>` };
}

/** Interfaces whose peer is drawn to the right are right-aligned, so the text sits next to its wire. */
function ifaceAlign(node: NodeView, iface: IfaceView, view: LabView, plan: LayoutPlan): 'LEFT' | 'RIGHT' {
  if (plan.engine !== 'dot') return 'LEFT';
  const edge = view.edges.find((e) => e.link === iface.link);
  const p = edge && plan.edges.get(edge.link);
  if (!edge || !p?.constraint) return 'LEFT';
  const tail = edge[p.tail];
  return tail.node === node.name && tail.iface === iface.name ? 'RIGHT' : 'LEFT';
}

/**
 * Label of a link: its subnet, and its state when it is not up. In force layouts the links to a bridge leave the
 * subnet to the bridge's box (`LAN ...`), where it is written once instead of on every port.
 */
function edgeLabel(edge: EdgeView, view: LabView, plan: LayoutPlan): Html | undefined {
  const bridged = [edge.a.node, edge.b.node].some(
    (n) => view.nodes.find((x) => x.name === n)?.kind === 'bridge',
  );
  const lines = plan.engine !== 'dot' && bridged ? [] : edge.subnets.map(htmlEscape);
  if (edge.state !== 'ok') lines.push(`<B>${edge.state}</B>`);
  if (lines.length === 0) return undefined;
  const color = edge.state === 'ok' ? COLORS.edgeLabel : COLORS.down;
  return { html: font(lines.join('<BR/>'), { size: 10, color }) };
}

/** Title above the picture, with a legend for live marking when the kernel state was observed. */
function graphLabel(view: LabView): Html {
  const rows = [
    `<TR><TD>${font(`<B>${htmlEscape(view.title)}</B>`, { size: 18, color: COLORS.text })}</TD></TR>`,
  ];
  rows.push(`<TR><TD>${font(htmlEscape(labSummary(view)), { size: 10, color: COLORS.muted })}</TD></TR>`);
  if (view.live) {
    const legend = [
      `<TD BORDER="1" STYLE="dashed" COLOR="${COLORS.down}" BGCOLOR="${COLORS.downFill}">${font('down / missing', { size: 9, color: COLORS.down })}</TD>`,
      `<TD BORDER="1" COLOR="${COLORS.drift}" BGCOLOR="${COLORS.driftFill}">${font('differs from file: +extra, <S>missing</S>', { size: 9, color: COLORS.drift })}</TD>`,
    ];
    rows.push(
      `<TR><TD><TABLE BORDER="0" CELLSPACING="4" CELLPADDING="3"><TR><TD>${font('live:', { size: 9, color: COLORS.muted })}</TD>${legend.join('')}</TR></TABLE></TD></TR>`,
    );
  }
  return { html: `<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="2">${rows.join('')}</TABLE>` };
}

/** An HTML-like label value, written between `<` and `>` rather than quoted. */
interface Html {
  html: string;
}

type AttrValue = string | number | boolean | Html | undefined;

function attrList(attrs: Record<string, AttrValue>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === 'object' ? `<${v.html}>` : dotQuote(String(v))}`);
  }
  return parts.join(' ');
}

/**
 * Graphviz DOT text of the lab: each namespace a box listing its interfaces as ports with their addresses, the
 * host (the default namespace the others hang off) in the middle in its own colour, bridges as switches, one edge
 * per veth pair between the two ports, labelled with the subnet. `opts.routes` adds routes and forwarding state;
 * `opts.observed` marks links that are down or missing (red, dashed) and drift from the file (orange).
 */
export function toDot(lab: ResolvedLab, opts: RenderOptions = {}): string {
  const full = buildView(lab, opts);
  const { view, groups } = groupLanHosts(full);
  const plan = planLayout(view, opts.layout);
  const out: string[] = [];
  out.push(`graph ${dotQuote(view.name)} {`);
  const graphAttrs: Record<string, AttrValue> = {
    layout: plan.engine,
    label: graphLabel(full),
    labelloc: 't',
    labeljust: 'c',
    fontname: FONT,
    bgcolor: 'white',
    pad: '0.3',
  };
  if (plan.engine === 'dot') {
    Object.assign(graphAttrs, {
      rankdir: 'LR',
      newrank: true,
      nodesep: '0.35',
      ranksep: '1.1',
      splines: 'spline',
    });
  } else {
    // Force layout: nodes spread in two dimensions, pushed apart until no boxes overlap (keeping the shape),
    // straight wires drawn under the boxes. `start` fixes the seed so the same lab gives the same picture.
    Object.assign(graphAttrs, {
      overlap: 'scalexy',
      sep: '+10',
      splines: 'false',
      outputorder: 'edgesfirst',
      start: '1',
    });
  }
  out.push(`  graph [${attrList(graphAttrs)}];`);
  out.push(`  node [${attrList({ shape: 'plain', fontname: FONT, fontsize: 10, fontcolor: COLORS.text })}];`);
  out.push(`  edge [${attrList({ fontname: FONT, fontsize: 9, color: COLORS.edge, penwidth: 1.6 })}];`);

  for (const node of view.nodes) {
    const group = groups.get(node.name);
    if (group) {
      const attrs: Record<string, AttrValue> = {
        id: `group-${group.bridge}`,
        class: 'netns group',
        label: groupLabel(group, node, view, plan),
        tooltip: `${group.members.length} namespaces on ${group.bridge}: ${group.members.map((m) => m.name).join(' ')}`,
      };
      out.push(`  ${dotQuote(node.name)} [${attrList(attrs)}];`);
      continue;
    }
    const attrs: Record<string, AttrValue> = {
      id: `node-${node.name}`,
      class: `${node.kind}${node.state === 'ok' ? '' : ` ${node.state}`}`,
      label: nodeLabel(node, view, plan),
      ...(node.kind === 'bridge'
        ? {
            shape: 'box',
            style: node.state === 'missing' ? 'rounded,filled,dashed' : 'rounded,filled',
            fillcolor: KIND_STYLE.bridge.body,
            color: node.state === 'missing' ? COLORS.down : KIND_STYLE.bridge.border,
            penwidth: 2.5,
            margin: '0.1,0.08',
          }
        : {}),
      tooltip: node.netns ? `${node.name} (netns ${node.netns})` : node.name,
    };
    out.push(`  ${dotQuote(node.name)} [${attrList(attrs)}];`);
  }

  for (const edge of view.edges) {
    const p = plan.edges.get(edge.link);
    const dot = plan.engine === 'dot' && p !== undefined;
    const [tail, head] = dot && p.tail === 'b' ? [edge.b, edge.a] : [edge.a, edge.b];
    const compass = dot && p.constraint;
    const end = (e: { node: string; iface: string }, side: 'e' | 'w'): string =>
      `${dotQuote(e.node)}:${dotQuote(portName(e.iface))}${compass ? `:${side}` : ''}`;
    const live = edge.state !== 'ok';
    const attrs: Record<string, AttrValue> = {
      id: `link-${edge.link}`,
      class: `link${live ? ` ${edge.state}` : ''}`,
      label: edgeLabel(edge, view, plan),
      tooltip: `${edge.a.node}:${edge.a.iface} — ${edge.b.node}:${edge.b.iface}`,
      constraint: dot && !p.constraint ? false : undefined,
      color: live ? COLORS.down : undefined,
      style: live ? 'dashed' : undefined,
      penwidth: live ? 2.2 : undefined,
    };
    out.push(`  ${end(tail, 'e')} -- ${end(head, 'w')} [${attrList(attrs)}];`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
