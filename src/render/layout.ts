import type { LabView, RenderLayout } from './model.js';

/** Which way an edge is drawn in a `dot` layout: `tail` is the end written first (left of the head). */
export interface EdgePlan {
  /** `a` or `b` of the link's endpoints: the end drawn on the left. */
  tail: 'a' | 'b';
  /** False for edges that must not pull ranks (between siblings, or across the two sides). */
  constraint: boolean;
}

export interface LayoutPlan {
  engine: 'dot' | 'neato' | 'sfdp';
  /** Node drawn in the middle: the host when the lab has one, otherwise the centre of the lab. */
  root: string | undefined;
  /** -1 left of the root, 0 the root itself, 1 right of it. */
  side: Map<string, -1 | 0 | 1>;
  /** Hops from the root of the node's connected part. */
  depth: Map<string, number>;
  /** Per link index. */
  edges: Map<number, EdgePlan>;
}

/** Nodes reachable from `start`. */
function componentOf(start: string, adj: Map<string, string[]>): Set<string> {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    for (const next of adj.get(queue.shift()!) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return seen;
}

/** Labs whose two-sided drawing would need more columns or a taller column than this go to `neato`. */
const MAX_DOT_COLUMNS = 9;
const MAX_DOT_COLUMN_HEIGHT = 8;

/**
 * Plans the tutorial-style picture: the root (the host, the machine the namespaces hang off) in the middle,
 * its neighbours alternately to its left and right, everything further away on the side of the neighbour it is
 * reached through. Large labs that would come out as one long row or column use a force layout instead.
 */
export function planLayout(view: LabView, layout: RenderLayout = 'auto'): LayoutPlan {
  const adj = new Map<string, string[]>();
  for (const n of view.nodes) adj.set(n.name, []);
  for (const e of view.edges) {
    adj.get(e.a.node)?.push(e.b.node);
    adj.get(e.b.node)?.push(e.a.node);
  }
  const degree = (name: string): number => adj.get(name)?.length ?? 0;
  /** Hops to the farthest node reachable from `start` (its eccentricity). */
  const reach = (start: string): number => {
    const dist = new Map([[start, 0]]);
    const queue = [start];
    let far = 0;
    while (queue.length > 0) {
      const cur = queue.shift()!;
      for (const next of adj.get(cur) ?? []) {
        if (dist.has(next)) continue;
        const d = dist.get(cur)! + 1;
        dist.set(next, d);
        far = Math.max(far, d);
        queue.push(next);
      }
    }
    return far;
  };
  /** Centre of a connected part: fewest hops to its farthest node, then most links, then first in the file. */
  const centre = (candidates: string[]): string => {
    let best = candidates[0];
    let bestReach = reach(best);
    for (const n of candidates.slice(1)) {
      const r = reach(n);
      if (r < bestReach || (r === bestReach && degree(n) > degree(best))) {
        best = n;
        bestReach = r;
      }
    }
    return best;
  };

  const side = new Map<string, -1 | 0 | 1>();
  const depth = new Map<string, number>();
  const host = view.nodes.find((n) => n.kind === 'host' && degree(n.name) > 0);
  let root: string | undefined;

  // Visit connected parts, the host's first, each from its centre.
  const pending = view.nodes.map((n) => n.name);
  while (side.size < pending.length) {
    const unplaced = pending.filter((n) => !side.has(n));
    const part = componentOf(unplaced[0], adj);
    const start = side.size === 0 && host ? host.name : centre(unplaced.filter((n) => part.has(n)));
    root ??= start;
    side.set(start, start === root ? 0 : 1);
    depth.set(start, 0);
    const queue = [start];
    let turn = 0;
    while (queue.length > 0) {
      const cur = queue.shift()!;
      for (const next of adj.get(cur) ?? []) {
        if (side.has(next)) continue;
        let s = side.get(cur)!;
        if (s === 0) {
          // Alternate the root's neighbours: first left, then right (ns0 left of the host, ns1 right).
          s = turn % 2 === 0 ? -1 : 1;
          turn++;
        }
        side.set(next, s);
        depth.set(next, depth.get(cur)! + 1);
        queue.push(next);
      }
    }
    // A lone neighbour goes right, so a two-node lab reads left to right.
    if (turn === 1) for (const [n, s] of side) if (s === -1) side.set(n, 1);
  }

  const edges = new Map<number, EdgePlan>();
  for (const e of view.edges) {
    const sa = side.get(e.a.node)!;
    const sb = side.get(e.b.node)!;
    const da = depth.get(e.a.node)!;
    const db = depth.get(e.b.node)!;
    const sameSide = sa === 0 || sb === 0 || sa === sb;
    if (!sameSide || da === db) {
      edges.set(e.link, { tail: 'a', constraint: false });
      continue;
    }
    const deep = da > db ? 'a' : 'b';
    const shallow = deep === 'a' ? 'b' : 'a';
    const deepSide = deep === 'a' ? sa : sb;
    edges.set(e.link, { tail: deepSide === -1 ? deep : shallow, constraint: true });
  }

  let engine: LayoutPlan['engine'];
  if (layout === 'auto') {
    const columns = new Map<string, number>();
    let left = 0;
    let right = 0;
    for (const [n, s] of side) {
      const d = depth.get(n)!;
      if (s === -1) left = Math.max(left, d);
      if (s === 1) right = Math.max(right, d);
      const key = `${s * d}`;
      columns.set(key, (columns.get(key) ?? 0) + 1);
    }
    const tallest = Math.max(0, ...columns.values());
    engine = left + right + 1 > MAX_DOT_COLUMNS || tallest > MAX_DOT_COLUMN_HEIGHT ? 'neato' : 'dot';
  } else engine = layout;

  return { engine, root, side, depth, edges };
}
