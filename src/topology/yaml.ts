import { createRequire } from 'node:module';
import type { Document, Node } from 'yaml';
import type { Problem } from './errors.js';
import type { SourcePos } from './types.js';
import { readFast } from './yaml-fast.js';

/** A place in a topology file as the keys and list indexes leading to it (`['topology', 'links', 0]`). */
export type SpecPath = (string | number)[];
/** Position of the value at `path` in the file, or of its key when `key` is true. */
export type Locate = (path: SpecPath, key?: boolean) => SourcePos;

/**
 * Where a value of the file is written: the offset of a scalar or of an empty collection, `EMPTY` for a key
 * without value (its key's offset is used), or the `Place` of a collection. Numbers, not objects, for the
 * leaves: a 20,000-node file has hundreds of thousands of them.
 */
export type Spot = Place | number;

/** A key written without value (`ns0:`): positions fall back to the key. */
export const EMPTY = -1;

/** Where a collection is written, and where what it holds is. */
export interface Place {
  at: number;
  /**
   * A mapping's entries, three slots each: the key, the offset of the key, the spot of its value; in file order,
   * a key written twice (or merged in, then written) appearing twice: the last one is the value's.
   */
  entries?: (string | Spot)[];
  /** A sequence's items. */
  items?: Spot[];
  /** Where each key's last entry starts in `entries`, for mappings of more than `INDEXED` entries. */
  index?: Map<string, number>;
}

/** Mappings with more entries than this get an `index`; smaller ones are searched. */
export const INDEXED = 8;

/** Where in `place.entries` the last entry of `key` starts, or -1. */
export function entryOf(place: Place, key: string): number {
  const entries = place.entries;
  if (!entries) return -1;
  if (!place.index && entries.length > 3 * INDEXED) {
    place.index = new Map();
    for (let i = 0; i < entries.length; i += 3) place.index.set(entries[i] as string, i);
  }
  if (place.index) return place.index.get(key) ?? -1;
  for (let i = entries.length - 3; i >= 0; i -= 3) if (entries[i] === key) return i;
  return -1;
}

const spotAt = (spot: Spot) => (typeof spot === 'number' ? spot : spot.at);

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
export function yamlLib(): typeof import('yaml') {
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
  const done = new Map<Node, { value: unknown; place: Spot; size: number }>();
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

  const convert = (node: unknown): { value: unknown; place: Spot; size: number } => {
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
      // The alias's own offset, and what the anchored value holds.
      const place: Spot = typeof d.place === 'number' ? here : { ...d.place, at: here };
      return { value: d.value, place, size: d.size };
    }
    const n = node as Node | null;
    written++;
    if (n?.anchor) anchors.set(n.anchor, n);
    if (n) active.add(n);
    let result: { value: unknown; place: Spot; size: number };
    if (isMap(n)) result = convertMap(n);
    else if (isSeq(n)) {
      const value: unknown[] = [];
      const items: Spot[] = [];
      let size = 1;
      for (const item of n.items) {
        const r = convert(item);
        value.push(r.value);
        items.push(r.place);
        size += r.size;
      }
      result = { value, place: items.length > 0 ? { at: at(n), items } : at(n), size };
    } else result = { value: isScalar(n) ? n.value : null, place: at(n), size: 1 };
    if (n) active.delete(n);
    if (n?.anchor) done.set(n, result);
    return result;
  };

  const convertMap = (map: Node & { items: { key: unknown; value: unknown }[] }) => {
    const value: Record<string, unknown> = {};
    const entries: (string | Spot)[] = [];
    const explicit = new Map<string, number>(); // offsets of the keys written here, not merged in
    let size = 1;
    for (const pair of map.items) {
      const keyAt = at(pair.key as Node);
      if (isMergeKey(pair.key)) {
        const r = convert(pair.value);
        const sources: [Spot, unknown][] =
          isSeq(pair.value) && typeof r.place !== 'number'
            ? (r.place.items ?? []).map((p, i) => [p, (r.value as unknown[])[i]])
            : [[r.place, r.value]];
        let copied = 0;
        for (const [place, source] of sources) {
          if (source === null || typeof source !== 'object' || Array.isArray(source)) {
            fail(spotAt(place), `'<<' merges mappings into a mapping; this is not a mapping`);
            continue;
          }
          const from = typeof place === 'number' ? [] : (place.entries ?? []);
          for (let i = 0; i < from.length; i += 3) {
            const k = from[i] as string;
            if (Object.hasOwn(value, k)) continue;
            value[k] = (source as Record<string, unknown>)[k];
            entries.push(k, from[i + 1], from[i + 2]);
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
      const previous = explicit.get(key);
      if (previous !== undefined) fail(keyAt, twice(key, lineOf(previous)));
      explicit.set(key, keyAt);
      const range = (pair.value as Node | null)?.range;
      entries.push(key, keyAt, range && range[0] < range[1] ? r.place : EMPTY);
      value[key] = r.value;
      size += r.size;
    }
    return { value, place: entries.length > 0 ? { at: at(map), entries } : at(map), size };
  };

  const { value, place } = convert(doc.contents);
  return { value, root: typeof place === 'number' ? { at: place } : place };
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
    let current: Spot = root;
    let offset = root.at;
    let keyAt = -1;
    let found = true;
    for (const seg of path) {
      const e = typeof current === 'number' ? -1 : entryOf(current, String(seg));
      if (e >= 0) {
        const entries = (current as Place).entries!;
        keyAt = entries[e + 1] as number;
        current = entries[e + 2] as Spot;
        offset = current === EMPTY ? keyAt : spotAt(current);
      } else if (
        typeof seg === 'number' &&
        typeof current !== 'number' &&
        current.items?.[seg] !== undefined
      ) {
        keyAt = -1;
        current = current.items[seg];
        offset = spotAt(current);
      } else {
        found = false;
        break;
      }
    }
    return posAt(key && found && keyAt >= 0 ? keyAt : offset);
  };
  return { value, problems, root, locate, posAt };
}
