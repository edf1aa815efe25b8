import { readFile } from 'node:fs/promises';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type YAMLMap,
} from 'yaml';
import type { z } from 'zod';
import { NslabError } from '../sys/errors.js';
import { didYouMean, type Problem, TopologyError } from './errors.js';
import { type Locate, resolveTopology, type SpecPath } from './resolve.js';
import { topologySchema } from './schema.js';
import type { ResolvedLab } from './types.js';

/**
 * Reads and resolves a topology file (`*.nslab.yml`).
 * @throws TopologyError (exit code 2) listing every problem of the file with its `file:line:col`.
 */
export async function loadTopology(path: string): Promise<ResolvedLab> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new NslabError(`cannot read topology file ${path}: ${(err as Error).message}`, 2, { cause: err });
  }
  return parseTopology(text, path);
}

/**
 * Parses, validates and resolves the text of a topology file. `file` names it in positions and in
 * `ResolvedLab.file` (left out for the default `<inline>`).
 * @throws TopologyError listing every problem: YAML syntax first; then schema problems (unknown keys with a
 * suggestion, wrong types, bad addresses and names); when the schema holds, the problems of the lab itself.
 */
export function parseTopology(text: string, file = '<inline>'): ResolvedLab {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: false });
  const posAt = (offset: number) => ({ file, ...lineCounter.linePos(offset) });
  if (doc.errors.length > 0) {
    throw new TopologyError(
      doc.errors.map((e) => ({
        pos: posAt(e.pos[0]),
        message: `YAML syntax error: ${yamlMessage(e.message)}`,
      })),
    );
  }

  // Pairs of each mapping by key, built on first use: big labs locate thousands of nodes.
  const pairs = new WeakMap<YAMLMap, Map<string, Pair<Node, Node | null>>>();
  const pairOf = (map: YAMLMap, key: string) => {
    let byKey = pairs.get(map);
    if (!byKey) {
      byKey = new Map(
        map.items.map((p) => [String(isScalar(p.key) ? p.key.value : p.key), p as Pair<Node, Node | null>]),
      );
      pairs.set(map, byKey);
    }
    return byKey.get(key);
  };

  /** Position of the YAML node at `path`, or of the deepest node on the way when the path goes further. */
  const locate: Locate = (path, key = false) => {
    let node: unknown = doc.contents;
    let keyNode: Node | undefined;
    let found = true;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = pairOf(node, String(seg));
        if (!pair) {
          found = false;
          break;
        }
        keyNode = pair.key;
        node = pair.value?.range && pair.value.range[0] < pair.value.range[1] ? pair.value : pair.key;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        keyNode = undefined;
        node = node.items[seg];
      } else {
        found = false;
        break;
      }
    }
    const target = key && found && keyNode ? keyNode : (node as Node | null);
    return posAt(target?.range?.[0] ?? 0);
  };

  const parsed = topologySchema.safeParse(doc.toJS(), { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => explainIssue(issue, []));
    throw new TopologyError(
      problems
        .map((p) => ({ pos: locate(p.path, p.key), message: p.message }))
        .sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col),
    );
  }
  return resolveTopology(parsed.data, locate, file === '<inline>' ? undefined : file);
}

/** The first line of a YAML parser message, without the position it repeats. */
function yamlMessage(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

type Issue = z.core.$ZodIssue;

interface PathProblem {
  path: SpecPath;
  key: boolean;
  message: Problem['message'];
}

/** Sentences for one zod issue (one per unknown key), with the path whose position they belong to. */
function explainIssue(issue: Issue, base: SpecPath): PathProblem[] {
  const path = [...base, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  const at = (message: string, key = false): PathProblem[] => [{ path, key, message }];
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(path);
      return issue.keys.map((k) => ({
        path: [...path, k],
        key: true,
        message: `unknown key '${k}' ${where(path)}${didYouMean(k, known)}`,
      }));
    }
    case 'invalid_union': {
      // Keep the alternative that matched the kind of value written (a string, a mapping): its issues are the real ones.
      const fitting = issue.errors.filter(
        (errs) => !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0),
      );
      if (fitting.length === 1) return fitting[0].flatMap((e) => explainIssue(e, path));
      const expected = issue.errors.flatMap((errs) =>
        errs.flatMap((e) => (e.code === 'invalid_type' && e.path.length === 0 ? [typeName(e.expected)] : [])),
      );
      const names = [...new Set(expected)].map((t) => (t === 'true or false' ? 'a boolean' : t));
      const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0];
      return at(`${subject(path)} must be ${list}, not ${valueName(input)}`);
    }
    case 'invalid_key':
      return issue.issues.map((e) => ({ path, key: true, message: `${subject(path)} ${e.message}` }));
    case 'invalid_type':
      if (input === undefined) return at(`missing required key '${path.at(-1)}' ${where(path.slice(0, -1))}`);
      return at(`${subject(path)} must be ${typeName(issue.expected)}, not ${valueName(input)}`);
    case 'invalid_value': {
      const values = issue.values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
      const hint = typeof input === 'string' ? didYouMean(input, issue.values.map(String)) : '';
      return at(`${subject(path)} must be one of ${values.join(', ')}, not ${valueName(input)}${hint}`);
    }
    case 'too_small':
    case 'too_big': {
      if (issue.origin !== 'number') return at(`${subject(path)} ${issue.message}`);
      const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      return at(`${subject(path)} must be ${bound}, not ${valueName(input)}`);
    }
    default:
      return at(`${subject(path)} ${issue.message}`);
  }
}

/** What a path designates, for the start of a sentence: `'mtu' in link 2`, `route 1 of node 'ns0'`. */
function subject(path: SpecPath): string {
  if (path.length === 0) return 'the file';
  const last = path.at(-1)!;
  const parent = path.slice(0, -1);
  const up = parent.at(-1);
  if (typeof last === 'number') {
    const n = last + 1;
    if (up === 'links' && parent.length === 2) return `link ${n}`;
    if (up === 'expect' && parent.length === 1) return `expectation ${n}`;
    if (up === 'endpoints') return `endpoint ${n} of ${subject(parent.slice(0, -1))}`;
    if (up === 'routes') return `route ${n} of ${subject(parent.slice(0, -1))}`;
    if (up === 'exec') return `command ${n} of ${subject(parent.slice(0, -1))}`;
    if (up === 'ipv4' || up === 'ipv6')
      return `${up === 'ipv4' ? 'IPv4' : 'IPv6'} address ${n} of ${subject(parent.slice(0, -1))}`;
    return `item ${n} of ${subject(parent)}`;
  }
  if (up === 'nodes' && parent.length === 2) return `node '${last}'`;
  if (up === 'sysctls') return `sysctl '${last}' of ${subject(parent.slice(0, -1))}`;
  if (parent.length === 0) return `'${last}'`;
  if (parent.length === 1 && up === 'topology') return `'topology.${last}'`;
  if (parent.length === 2 && up === 'defaults') return `'topology.defaults.${last}'`;
  return `'${last}' in ${subject(parent)}`;
}

/** Where a key is, for the end of a sentence: `at the top level`, `in node 'ns0'`. */
function where(path: SpecPath): string {
  return path.length === 0 ? 'at the top level' : `in ${subject(path).replace(/^'([^']*)'$/, '$1')}`;
}

function typeName(expected: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    object: 'a mapping',
    record: 'a mapping',
    array: 'a list',
    null: 'empty',
  };
  return names[expected] ?? expected;
}

function valueName(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

/** Keys the schema allows in the mapping at `path` (for did-you-mean), empty when that is not a strict object. */
function keysAt(path: SpecPath): string[] {
  type Def = {
    type: string;
    shape?: Record<string, unknown>;
    innerType?: unknown;
    element?: unknown;
    valueType?: unknown;
    options?: unknown[];
    in?: unknown;
  };
  const def = (s: unknown) => (s as { _zod: { def: Def } })._zod.def;
  const unwrap = (s: unknown): unknown[] => {
    const d = def(s);
    if (d.innerType) return unwrap(d.innerType);
    if (d.in) return unwrap(d.in);
    if (d.options) return d.options.flatMap(unwrap);
    return [s];
  };
  let current: unknown[] = [topologySchema];
  for (const seg of path) {
    current = current.flatMap(unwrap).flatMap((s) => {
      const d = def(s);
      if (d.type === 'object') return d.shape?.[seg] === undefined ? [] : [d.shape[seg]];
      if (d.type === 'record') return [d.valueType];
      if (d.type === 'array') return [d.element];
      return [];
    });
  }
  return current.flatMap(unwrap).flatMap((s) => Object.keys(def(s).shape ?? {}));
}
