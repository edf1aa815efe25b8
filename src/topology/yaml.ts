import { createRequire } from 'node:module';
import type { Document, Node } from 'yaml';
import type { Problem } from './errors.js';
import type { SourcePos } from './types.js';
import { readFast } from './yaml-fast.js';

/** A place in a topology file as the keys and list indexes leading to it (`['topology', 'links', 0]`). */
export type SpecPath = (string | number)[];
/** Position of the value at `path` in the file, or of its key when `key` is true. */
export type Locate = (path: SpecPath, key?: boolean) => SourcePos;

/** Where one value of the file is written: offsets into the text, and the places of what it holds. */
export interface Place {
  at: number;
  /** A mapping's entries: the offset of each key, and the place of its value (null when the value is empty). */
  entries?: Map<string, { keyAt: number; value: Place | null }>;
  /** A sequence's items. */
  items?: Place[];
}

/** What the YAML of a topology file holds. */
export interface YamlRead {
  /** The value, as plain objects, arrays and scalars; undefined when `problems` make it unusable. */
  value: unknown;
  /** Problems of the YAML itself: syntax, aliases, keys written twice, keys that cannot be keys. */
  problems: Problem[];
  /** Where everything is written. */
  root: Place;
  locate: Locate;
  /** 1-based line and column of an offset. */
  posAt: (offset: number) => SourcePos;
}

/**
 * How many values aliases may add to a file (on top of the values written): a file whose aliases expand to
 * more is an alias bomb (`&a [x, x, ...]`, `&b [*a, *a, ...]`, ... grows tenfold at every line).
 */
export const MAX_ALIAS_VALUES = 1_000_000;

/**
 * The yaml library, loaded the first time a file needs it: most files are read by the fast reader, and loading
 * the library costs a command about 50 ms before it does anything.
 */
let yamlLibrary: typeof import('yaml') | undefined;
function yamlLib(): typeof import('yaml') {
  yamlLibrary ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlLibrary;
}

/** Stops the walk of a document at its first problem that makes its value unusable. */
class Unusable extends Error {}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The first line of a YAML parser message, without the position it repeats. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  if (first.startsWith('Maximum call stack size exceeded')) return 'the file nests collections too deeply';
  return first;
}

function twice(key: string, firstLine: number): string {
  return `key '${key}' is written twice in this mapping (first on line ${firstLine}); the last one would win`;
}

/** The value of a `<<` merge key, when `key` is one (yaml's merge option makes its value a symbol). */
function isMergeKey(key: unknown): boolean {
  return (
    yamlLib().isScalar(key) && (typeof key.value === 'symbol' || (key.value === '<<' && key.type === 'PLAIN'))
  );
}

/**
 * Turns a document the yaml library parsed into plain values and places, in one pass in document order:
 * aliases resolve to the last anchor of their name before them (as YAML says) from a table, not by searching
 * the document for each one; an alias inside the node it names, an alias without anchor, and aliases that
 * expand to more than `MAX_ALIAS_VALUES` are problems (the walk stops there); merge keys (`<<: *defaults`) add
 * the keys the mapping does not have.
 */
function walkDocument(
  doc: Document,
  fail: (at: number, message: string) => void,
  lineOf: (offset: number) => number,
): { value: unknown; root: Place } {
  const { isAlias, isMap, isScalar, isSeq } = yamlLib();
  const anchors = new Map<string, Node>();
  const done = new Map<Node, { value: unknown; place: Place; size: number }>();
  const active = new Set<Node>();
  let written = 0;
  let expanded = 0;
  /** Counts values that aliases and merges add, and stops at an alias bomb. */
  const grow = (here: number, values: number) => {
    expanded += values;
    if (expanded <= MAX_ALIAS_VALUES + written) return;
    fail(
      here,
      `aliases expand the file to more than ${MAX_ALIAS_VALUES} values (an alias bomb?): write the values out instead`,
    );
    throw new Unusable();
  };
  const at = (node: { range?: [number, number, number] | null } | null | undefined) => node?.range?.[0] ?? 0;

  const convert = (node: unknown): { value: unknown; place: Place; size: number } => {
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const here = at(node);
      if (!target) {
        fail(here, `alias '*${node.source}' names no anchor: '&${node.source}' must come before it`);
        throw new Unusable();
      }
      if (active.has(target)) {
        fail(here, `alias '*${node.source}' is inside the value it names ('&${node.source}'): it never ends`);
        throw new Unusable();
      }
      const d = done.get(target)!;
      grow(here, d.size);
      const place: Place = { at: here, entries: d.place.entries, items: d.place.items };
      return { value: d.value, place, size: d.size };
    }
    const n = node as Node | null;
    written++;
    if (n?.anchor) anchors.set(n.anchor, n);
    if (n) active.add(n);
    let result: { value: unknown; place: Place; size: number };
    if (isMap(n)) result = convertMap(n);
    else if (isSeq(n)) {
      const value: unknown[] = [];
      const items: Place[] = [];
      let size = 1;
      for (const item of n.items) {
        const r = convert(item);
        value.push(r.value);
        items.push(r.place);
        size += r.size;
      }
      result = { value, place: { at: at(n), items }, size };
    } else result = { value: isScalar(n) ? n.value : null, place: { at: at(n) }, size: 1 };
    if (n) active.delete(n);
    if (n?.anchor) done.set(n, result);
    return result;
  };

  const convertMap = (map: Node & { items: { key: unknown; value: unknown }[] }) => {
    const value: Record<string, unknown> = {};
    const entries = new Map<string, { keyAt: number; value: Place | null }>();
    const explicit = new Set<string>(); // keys written here, not merged in
    let size = 1;
    for (const pair of map.items) {
      const keyAt = at(pair.key as Node);
      if (isMergeKey(pair.key)) {
        const r = convert(pair.value);
        const sources: [Place, unknown][] = isSeq(pair.value)
          ? (r.place.items ?? []).map((p, i) => [p, (r.value as unknown[])[i]])
          : [[r.place, r.value]];
        let copied = 0;
        for (const [place, source] of sources) {
          if (!place.entries || source === null || typeof source !== 'object' || Array.isArray(source)) {
            fail(place.at, `'<<' merges mappings into a mapping; this is not a mapping`);
            continue;
          }
          for (const [k, entry] of place.entries) {
            if (Object.hasOwn(value, k)) continue;
            value[k] = (source as Record<string, unknown>)[k];
            entries.set(k, entry);
            copied++;
          }
        }
        grow(keyAt, copied);
        size += copied;
        continue;
      }
      let key: string;
      if (pair.key === null) key = '';
      else if (isScalar(pair.key)) key = pair.key.value === null ? '' : String(pair.key.value);
      else {
        fail(keyAt, 'a key must be a word or a quoted string, not a list, a mapping or an alias');
        continue;
      }
      if (key === '__proto__') {
        fail(keyAt, "'__proto__' cannot be a key: it would change how every object behaves");
        continue;
      }
      const r = convert(pair.value);
      const previous = explicit.has(key) ? entries.get(key) : undefined;
      if (previous) fail(keyAt, twice(key, lineOf(previous.keyAt)));
      explicit.add(key);
      const range = (pair.value as Node | null)?.range;
      entries.set(key, { keyAt, value: range && range[0] < range[1] ? r.place : null });
      value[key] = r.value;
      size += r.size;
    }
    return { value, place: { at: at(map), entries }, size };
  };

  const { value, place } = convert(doc.contents);
  return { value, root: place };
}

/**
 * Reads the YAML of a topology file: with the fast reader when the text is in its subset (see `yaml-fast.ts`),
 * else with the yaml library (its duplicate-key check, quadratic in the size of a mapping, turned off: keys
 * written twice are found here with a Map, and both places named). `fast: false` always takes the library's
 * way (tests compare the two).
 */
export function readYaml(text: string, file: string, opts: { fast?: boolean } = {}): YamlRead {
  const starts = lineStarts(text);
  const posAt = (offset: number): SourcePos => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, col: offset - starts[lo] + 1 };
  };
  const problems: Problem[] = [];
  const fail = (offset: number, message: string) => problems.push({ pos: posAt(offset), message });
  const lineOf = (offset: number) => posAt(offset).line;

  let value: unknown;
  let root: Place = { at: 0 };
  const fast = opts.fast === false ? undefined : readFast(text);
  if (fast) {
    ({ value, root } = fast);
    for (const d of fast.duplicates) fail(d.second, twice(d.key, lineOf(d.first)));
  } else {
    const doc = yamlLib().parseDocument(text, { merge: true, prettyErrors: false, uniqueKeys: false });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) fail(e.pos[0], `YAML syntax error: ${yamlMessage(e.message)}`);
      value = undefined;
    } else {
      try {
        ({ value, root } = walkDocument(doc, fail, lineOf));
      } catch (e) {
        if (!(e instanceof Unusable)) throw e;
        value = undefined;
      }
    }
  }

  const locate: Locate = (path, key = false) => {
    let current: Place | null = root;
    let offset = root.at;
    let keyAt = -1;
    let found = true;
    for (const seg of path) {
      const entry: { keyAt: number; value: Place | null } | undefined = current?.entries?.get(String(seg));
      if (entry) {
        keyAt = entry.keyAt;
        current = entry.value;
        offset = entry.value?.at ?? entry.keyAt;
      } else if (typeof seg === 'number' && current?.items?.[seg]) {
        keyAt = -1;
        current = current.items[seg];
        offset = current.at;
      } else {
        found = false;
        break;
      }
    }
    return posAt(key && found && keyAt >= 0 ? keyAt : offset);
  };
  return { value, problems, root, locate, posAt };
}
