/**
 * Scalars of the fast YAML reader (yaml-fast.ts): how a plain one reads by the YAML 1.2 core schema, and the
 * sticky regular expressions that find where a scalar ends.
 */

/** The value of a plain scalar by the YAML 1.2 core schema, as the yaml library resolves it. */
export function plainValue(s: string): unknown {
  const c = s.charCodeAt(0);
  // Only these first characters can start a null, a boolean or a number.
  if (!(c === 43 || c === 45 || c === 46 || (c >= 48 && c <= 57) || /^[nNtTfF~]/.test(s))) return s;
  if (/^(?:~|[Nn]ull|NULL)$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return s[0] === 't' || s[0] === 'T';
  if (/^0o[0-7]+$/.test(s)) return Number.parseInt(s.slice(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return Number.parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
    if (s.slice(-3).toLowerCase() === 'nan') return Number.NaN;
    return s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(s)) return Number.parseFloat(s);
  return s;
}

/** The rest of a one-line quoted scalar after its opening quote, closing quote included. */
export const DOUBLE_QUOTED = /[^"\\\n]*"/y;
export const SINGLE_QUOTED = /(?:[^'\n]|'')*'/y;
/**
 * The run of characters a plain scalar may hold, in block and in flow context, for sticky matching from its first
 * character (natively: a loop over characters is interpreted on a command's first, cold run): not a line break;
 * a space unless a comment follows; a '#' unless after a space; a ':' unless a space, a line break or the end
 * (or, in flow, a flow indicator) follows; in flow, no flow indicator.
 */
export const BLOCK_PLAIN = /(?:[^\n: #]| (?!#)|:(?=[^ \n])|(?<! )#)*/y;
export const FLOW_PLAIN = /(?:[^\n: #,[\]{}]| (?!#)|:(?=[^ \n,[\]{}])|(?<! )#)*/y;
