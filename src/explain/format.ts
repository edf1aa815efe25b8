import type { Explanation, Hop } from './types.js';

function hopText(h: Hop): string {
  const ifs = [h.inIf, h.outIf].filter(Boolean).join(' -> ');
  return ifs ? `${h.node} (${ifs})` : h.node;
}

/** Keeps the first and last `keep` items of a long list, with a marker saying how many were left out. */
function elide(items: string[], keep: number, marker: (n: number) => string): string[] {
  if (items.length <= 2 * keep + 1) return items;
  return [...items.slice(0, keep), marker(items.length - 2 * keep), ...items.slice(-keep)];
}

/**
 * A path as one line: `ns0 (veth12) -> host (veth11 -> veth21) -> ns1 (veth22)`, bridges crossed as `[sw1]`;
 * paths longer than 13 steps keep their first and last six.
 */
export function formatPath(hops: Hop[]): string {
  const steps = hops.flatMap((h) => [hopText(h), ...(h.bridges ?? []).map((b) => `[${b}]`)]);
  return elide(steps, 6, (n) => `... ${n} more ...`).join(' -> ');
}

/** The routers of a path: every node after the sender that passes the packet on. */
function routersOf(hops: Hop[]): string[] {
  return hops
    .slice(1)
    .filter((h) => h.outIf !== undefined && h.outIf !== 'lo')
    .map((h) => h.node);
}

function crossing(what: string, hops: Hop[]): string {
  const names = routersOf(hops);
  return `${what} crosses ${names.length === 0 ? 'no router' : elide(names, 6, (n) => `... ${n} more ...`).join(', ')}`;
}

/**
 * Plain-text rendering of an explanation (the CLI adds colours): a verdict line, the request and reply paths hop by
 * hop (✗ where the packet stops), the routers each crosses (they differ with asymmetric or equal-cost routes,
 * and the reply's are the ones its TTL counts), the routes used as `ip route` prints them, then the failure
 * sentence, the fix, every fix needed when more than one is, and notes.
 */
export function formatExplanation(e: Explanation): string {
  const target = e.toNode && e.toNode !== e.to ? `${e.toNode} (${e.to})` : e.to;
  const status =
    e.verdict === 'reached'
      ? `reachable, reply ttl=${e.replyTtl}`
      : `${e.verdict === 'lost' ? 'no reply' : 'unreachable'}, at ${e.failure?.node}: ${e.failure?.reason}`;
  const lines = [`${e.from} -> ${target}, IPv${e.family}${e.src ? ` from ${e.src}` : ''}: ${status}`];
  const failed = e.failure?.direction;
  lines.push(`  request: ${formatPath(e.forward)}${failed === 'forward' ? ' ✗' : ''}`);
  if (e.back.length > 0) lines.push(`  reply:   ${formatPath(e.back)}${failed === 'back' ? ' ✗' : ''}`);
  if (e.back.length > 0)
    lines.push(
      `  ${crossing('request', e.forward)}${e.back.length > 1 ? `; ${crossing('reply', e.back)}` : ''}`,
    );
  const seen = new Set<string>();
  const routes = [...e.forward, ...e.back].filter((h) => {
    const key = `${h.node} ${h.route}`;
    if (!h.route || h.outIf === 'lo' || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (routes.length > 0) {
    const width = Math.max(...routes.map((h) => h.node.length));
    lines.push('  routes used:');
    const shown = routes.map((h) => `    ${h.node.padEnd(width)}  ${h.route}`);
    lines.push(...elide(shown, 6, (n) => `    ... ${n} more`));
  }
  if (e.failure) {
    lines.push(`  ${e.failure.sentence}`);
    if (e.failure.fix) lines.push(`  fix: ${e.failure.fix}`);
  }
  if (e.remedy && e.remedy.length > 1) {
    lines.push('  to make it work:');
    e.remedy.forEach((r, i) => {
      lines.push(`    ${i + 1}. ${r}`);
    });
  }
  for (const n of e.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
