/**
 * Text renderings of reachability, predicted or observed alike: the matrix as a table or, for big labs, as a
 * summary with the first failures; the one-line count (`ping`'s pingall-style result); the verdict on each
 * expectation. Plain text unless the caller passes a `color` function (the CLI passes picocolors).
 */
import Table from 'cli-table3';
import { failureReason, matrixCounts, summarizeMatrix } from '../reach/matrix.js';
import type { ExpectationResult, MatrixCell, ReachMatrix, ReachResult, Verdict } from '../reach/types.js';

export interface FormatOptions {
  /** Colours a piece of text by the verdict it stands for. */
  color?: (verdict: Verdict, text: string) => string;
}

const plain = (_v: Verdict, t: string) => t;

/** `ok 1h` (reached, the reply across one router), `lost`, `unr`; `*` when the node's addresses did not all answer alike. */
export function cellText(cell: MatrixCell): string {
  const base =
    cell.verdict === 'reached'
      ? `ok${cell.hops === undefined ? '' : ` ${cell.hops}h`}`
      : cell.verdict === 'lost'
        ? 'lost'
        : 'unr';
  const mixed = cell.results.some((r) => r.verdict !== cell.results[0].verdict);
  return mixed ? `${base}*` : base;
}

/** A percentage that never rounds a failure away: 99.9, not 100. */
function percent(part: number, whole: number): string {
  if (whole === 0) return '0';
  const p = Math.floor((part / whole) * 1000) / 10;
  return Number.isInteger(p) ? String(p) : p.toFixed(1);
}

/**
 * The matrix in one line, as Mininet's `pingall` sums it up: `98/100 pings reached (98%), 2 failed; 40 of 42
 * node pairs` (a pair counts when every address of the target is reached).
 */
export function formatMatrixLine(m: ReachMatrix): string {
  const { pings, reached, failed } = matrixCounts(m, 0);
  const cells = summarizeMatrix(m);
  const pairs = cells.filter((c) => c.verdict === 'reached').length;
  const verb = m.source === 'predicted' ? 'predicted to reach' : 'reached';
  return (
    `${reached}/${pings} ping${pings === 1 ? '' : 's'} ${verb} (${percent(reached, pings)}%)` +
    `${failed > 0 ? `, ${failed} failed` : ''}; ${pairs} of ${cells.length} node pairs`
  );
}

/**
 * The matrix as a table: a row per source node, a column per target node, each cell the worst answer over the
 * target's addresses (`ok 1h`, `lost`, `unr`), `-` on the diagonal, blank where nothing was pinged (a node
 * without addresses); then a legend and the one-line count.
 */
export function formatMatrix(m: ReachMatrix, opts: FormatOptions = {}): string {
  const paint = opts.color ?? plain;
  const cells = new Map(summarizeMatrix(m).map((c) => [`${c.from}\u0000${c.toNode}`, c]));
  const table = new Table({
    head: ['from \\ to', ...m.nodes],
    style: { head: [], border: [], compact: true },
  });
  for (const from of m.nodes) {
    table.push([
      from,
      ...m.nodes.map((to) => {
        if (from === to) return '-';
        const c = cells.get(`${from}\u0000${to}`);
        return c ? paint(c.verdict, cellText(c)) : '';
      }),
    ]);
  }
  const ttl = m.source === 'predicted' ? 'as its ttl will tell' : "from the reply's ttl";
  const legend = [
    `${paint('reached', 'ok Nh')} reached, the reply across N routers (${ttl}) · ${paint('lost', 'lost')} no reply in time`,
    `${paint('unreachable', 'unr')} an error comes back (Network is unreachable, Destination Net Unreachable...)`,
    '* not every address of the node answered alike (the worst is shown) · - the node itself',
  ].join('\n');
  return [table.toString(), legend, formatMatrixLine(m)].join('\n');
}

function failureLine(r: ReachResult, paint: (v: Verdict, t: string) => string): string {
  const target = r.toNode ? `${r.toNode} ` : '';
  const what = r.failure ? `${r.failure.reason}, at ${r.failure.node}` : failureReason(r);
  return `  ${r.from} -> ${target}${r.to}: ${paint(r.verdict, r.verdict)} (${what})`;
}

/**
 * The matrix summed up, for labs too big for a table: the one-line count, then the first `failures` pings that
 * did not reach (default 10), each with what stopped it.
 */
export function formatMatrixSummary(
  m: ReachMatrix,
  opts: FormatOptions & { failures?: number } = {},
): string {
  const paint = opts.color ?? plain;
  const counts = matrixCounts(m, opts.failures ?? 10);
  const lines = [formatMatrixLine(m)];
  if (counts.failures.length > 0) {
    const first = counts.failures.length < counts.failed ? `first ${counts.failures.length} of ` : '';
    lines.push(`${first}${counts.failed} failure${counts.failed === 1 ? '' : 's'}:`);
    for (const r of counts.failures) lines.push(failureLine(r, paint));
  }
  return lines.join('\n');
}

/**
 * The verdict on each expectation, one line each (`✔ ns0 -> ns1 reach, 1 hop: ns0 reaches ns1 (10.0.1.2) across 1
 * router`, `✘ ...` with what was seen instead), then how many hold.
 */
export function formatExpectations(results: ExpectationResult[], opts: FormatOptions = {}): string {
  const paint = opts.color ?? plain;
  const lines = results.map((r) => {
    const x = r.expectation;
    const what = `${x.from} -> ${x.to}${x.family ? ` (IPv${x.family})` : ''} ${x.reach ? 'reach' : 'no reach'}${
      x.hops !== undefined ? `, ${x.hops} hop${x.hops === 1 ? '' : 's'}` : ''
    }`;
    const mark = r.holds ? paint('reached', '✔') : paint('lost', '✘');
    return `${mark} ${what}: ${r.message}`;
  });
  const held = results.filter((r) => r.holds).length;
  lines.push(`${held} of ${results.length} expectation${results.length === 1 ? ' holds' : 's hold'}`);
  return lines.join('\n');
}
