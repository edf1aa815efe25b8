/**
 * Text renderings of live probe results: the reachability matrix as a table, and the verdict on each
 * expectation. Plain text unless the caller passes a `color` function (the CLI passes picocolors).
 */
import Table from 'cli-table3';
import { summarizeMatrix } from './matrix.js';
import type { ExpectationCheck, MatrixCell, PingMatrix, ProbeStatus } from './types.js';

export interface FormatOptions {
  /** Colours a piece of text by the status it stands for. */
  color?: (status: ProbeStatus, text: string) => string;
}

/** `ok 1h` (reached across one router), `lost`, `unr`; `*` when the node's addresses did not all answer alike. */
export function cellText(cell: MatrixCell): string {
  const base =
    cell.status === 'reached'
      ? `ok${cell.hops === undefined ? '' : ` ${cell.hops}h`}`
      : cell.status === 'lost'
        ? 'lost'
        : 'unr';
  const mixed = cell.results.some((r) => r.status !== cell.results[0].status);
  return mixed ? `${base}*` : base;
}

/**
 * The matrix as a table: a row per source node, a column per target node, each cell the worst answer over the
 * target's addresses (`ok 1h`, `lost`, `unr`), `-` on the diagonal, blank where nothing was pinged (a node
 * without addresses); then a legend, and a count of reached pairs.
 */
export function formatMatrix(m: PingMatrix, opts: FormatOptions = {}): string {
  const paint = opts.color ?? ((_s: ProbeStatus, t: string) => t);
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
        return c ? paint(c.status, cellText(c)) : '';
      }),
    ]);
  }
  const all = [...cells.values()];
  const reached = all.filter((c) => c.status === 'reached').length;
  const legend = [
    `${paint('reached', 'ok Nh')} reached across N routers (from the reply's ttl) · ${paint('lost', 'lost')} no reply in time`,
    `${paint('unreachable', 'unr')} an error came back (Network is unreachable, Destination Net Unreachable...)`,
    '* not every address of the node answered alike (the worst is shown) · - the node itself',
  ].join('\n');
  const answers = m.results.length;
  return [
    table.toString(),
    legend,
    `${reached} of ${all.length} pairs reach each other (${answers} address${answers === 1 ? '' : 'es'} pinged)`,
  ].join('\n');
}

/**
 * The verdict on each expectation, one line each (`✔ ns0 -> ns1: ns0 reaches ns1 (10.0.1.2) across 1 router`,
 * `✘ ...` with what was observed instead), then how many hold.
 */
export function formatExpectations(results: ExpectationCheck[], opts: FormatOptions = {}): string {
  const paint = opts.color ?? ((_s: ProbeStatus, t: string) => t);
  const lines = results.map((r) => {
    const x = r.expectation;
    const what = `${x.from} -> ${x.to}${x.family ? ` (IPv${x.family})` : ''} ${x.reach ? 'reach' : 'no reach'}${
      x.hops !== undefined ? `, ${x.hops} hop${x.hops === 1 ? '' : 's'}` : ''
    }`;
    const mark = r.holds ? paint('reached', '✔') : paint('lost', '✘');
    return `${mark} ${what}: ${r.message}`;
  });
  const held = results.filter((r) => r.holds).length;
  lines.push(`${held} of ${results.length} expectation${results.length === 1 ? '' : 's'} hold`);
  return lines.join('\n');
}
