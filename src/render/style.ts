import type { NodeKind } from '../topology/types.js';

/**
 * Colours and fonts shared by the Graphviz and Mermaid pictures. The font is one Graphviz has text metrics for
 * (so boxes fit their text without a font file) and that rsvg-convert finds on Debian (fonts-dejavu-core).
 */
export const FONT = 'DejaVu Sans';

/** Fallbacks written into the SVG for viewers without DejaVu. */
export const SVG_FONT_STACK = "'DejaVu Sans',Verdana,'Segoe UI',Helvetica,Arial,sans-serif";

export const COLORS = {
  text: '#1f2933',
  muted: '#6b7785',
  edge: '#5b6b7b',
  edgeLabel: '#41556b',
  /** Down or missing links and interfaces (red, drawn dashed). */
  down: '#d62728',
  downFill: '#fde8e8',
  /** Addresses, routes and sysctls that differ from the file. */
  drift: '#e8710a',
  driftFill: '#fff1e0',
  on: '#1e8a3c',
  off: '#8a96a3',
  divider: '#d5dde5',
} as const;

export interface KindStyle {
  /** Header band. */
  head: string;
  headText: string;
  /** Body of the box. */
  body: string;
  border: string;
  /** Caption under the name. */
  caption: string;
}

export const KIND_STYLE: Record<NodeKind, KindStyle> = {
  host: { head: '#263a4f', headText: '#ffffff', body: '#eef2f6', border: '#263a4f', caption: '#c3d0dd' },
  netns: { head: '#3d78b8', headText: '#ffffff', body: '#f5f9fd', border: '#3d78b8', caption: '#d9e7f5' },
  bridge: { head: '#178f80', headText: '#ffffff', body: '#eefaf7', border: '#178f80', caption: '#c9efe8' },
};
