import { NslabError } from '../sys/errors.js';
import type { SourcePos } from './types.js';

/** One thing wrong with a topology file, at the place it was written. */
export interface Problem {
  pos: SourcePos;
  message: string;
}

/** `file:line:col: message`, the form editors and terminals turn into links. */
export function formatProblem(p: Problem): string {
  return `${p.pos.file}:${p.pos.line}:${p.pos.col}: ${p.message}`;
}

/**
 * A topology file that cannot be turned into a lab (bad YAML, bad schema, or references that do not fit
 * together). Carries every problem found, not just the first; the message lists them one per line.
 * Exit code 2: bad input.
 */
export class TopologyError extends NslabError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'), 2);
    this.name = 'TopologyError';
    this.problems = problems;
  }
}

/** Edit distance between two words (insertions, deletions, substitutions, swaps of neighbours). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** ` (did you mean 'routes'?)` when one of `candidates` is close to `word`, else ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}
