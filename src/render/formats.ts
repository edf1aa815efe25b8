/** The picture formats `nslab graph` writes; a module of its own, so that listing them loads no renderer. */
export const RENDER_FORMATS = ['svg', 'dot', 'mermaid', 'png'] as const;
export type RenderFormat = (typeof RENDER_FORMATS)[number];
