/**
 * A reader for the plain YAML that topology files are made of: block mappings and sequences, one-line flow
 * collections (`{ dst: default, via: 10.0.0.1 }`, `["a:e0", "b:e0"]`), one-line plain and quoted scalars,
 * comments. It gives exactly what the yaml library gives for such text (values by the YAML 1.2 core schema, the
 * last of two equal keys), with the place of every value, about ten times faster (2.2 MB of a 20,000-node file:
 * 0.15-0.25 s, the yaml library 1.7-2.0 s on the development machine). On anything else (anchors, aliases, tags, block or multi-line scalars, escapes, tabs,
 * directives, syntax errors, ...) it gives up, and the caller reads the text with the yaml library, which also
 * words the syntax errors. `test/topology/yaml.test.ts` holds the two readers to the same results.
 */
import { EMPTY, INDEXED, type Place, type Spot } from './yaml.js';
import { BLOCK_PLAIN, DOUBLE_QUOTED, FLOW_PLAIN, plainValue, SINGLE_QUOTED } from './yaml-scalars.js';

/** Thrown to give up on text outside the subset. */
class OutsideSubset extends Error {}
const GIVE_UP = new OutsideSubset('outside the fast subset');

/** Characters that make the reader give up wherever they are: tabs, CR, controls, BOM, Unicode line breaks. */
const UNSUPPORTED = /[\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\u2028\u2029]/;

/** A key written twice in one mapping: offsets of both. */
export interface DuplicateKey {
  key: string;
  first: number;
  second: number;
}

export interface FastRead {
  value: unknown;
  root: Place;
  duplicates: DuplicateKey[];
}

const MAX_DEPTH = 64;
const SPACE = 32;
const HASH = 35;
const COLON = 58;
const DASH = 45;
const COMMA = 44;
const LF = 10;

function isFlowIndicator(c: number): boolean {
  return c === COMMA || c === 91 || c === 93 || c === 123 || c === 125;
}

/**
 * The array at its length: an array filled by push keeps room for 16 more, and a big lab holds hundreds of
 * thousands of two-element arrays (its memory, and the garbage collector's work, were twice as large).
 */
function trim<T>(a: T[]): T[] {
  return a.length < 8 ? a.slice() : a;
}

/** One-pass reader state: the text and the current line. */
class Reader {
  readonly duplicates: DuplicateKey[] = [];
  /** Start of the current line, its indentation and the offset of its first character after it. */
  private line = 0;
  private indent = 0;
  private content = 0;
  private readonly end: number;
  /** Collections open around the current one: deep nesting is left to the yaml library, which bounds it. */
  private depth = 0;

  constructor(private readonly s: string) {
    this.end = s.length;
  }

  /** Moves to the next line that holds something other than spaces and a comment; false at the end. */
  private seekContent(from: number): boolean {
    let i = from;
    while (i < this.end) {
      let j = i;
      while (j < this.end && this.s.charCodeAt(j) === SPACE) j++;
      const c = this.s.charCodeAt(j);
      if (j < this.end && c !== LF && c !== HASH) {
        this.line = i;
        this.indent = j - i;
        this.content = j;
        return true;
      }
      const nl = this.s.indexOf('\n', j);
      i = nl < 0 ? this.end : nl + 1;
    }
    this.line = this.end;
    this.indent = -1;
    this.content = this.end;
    return false;
  }

  /** After a value ending at `i` on the current line: only spaces and a comment may follow; go to the next line. */
  private finishLine(i: number): void {
    let j = i;
    while (j < this.end && this.s.charCodeAt(j) === SPACE) j++;
    if (j < this.end && this.s.charCodeAt(j) !== LF) {
      if (this.s.charCodeAt(j) !== HASH || j === i) throw GIVE_UP;
    }
    const nl = this.s.indexOf('\n', j);
    this.seekContent(nl < 0 ? this.end : nl + 1);
  }

  read(): FastRead {
    if (UNSUPPORTED.test(this.s)) throw GIVE_UP;
    if (!this.seekContent(0)) throw GIVE_UP; // an empty document: the yaml library says what it is
    if (this.s.startsWith('---', this.content)) {
      if (this.indent !== 0) throw GIVE_UP;
      const after = this.content + 3;
      const c = this.s.charCodeAt(after);
      if (after < this.end && c !== LF && c !== SPACE) throw GIVE_UP;
      this.finishLine(after);
      if (this.indent < 0) throw GIVE_UP;
    }
    if (this.indent !== 0) throw GIVE_UP;
    const [value, root] = this.block(0);
    if (this.indent >= 0) throw GIVE_UP; // something left (a second document, bad indentation, ...)
    return { value, root: typeof root === 'number' ? { at: root } : root, duplicates: this.duplicates };
  }

  /** The block node starting on the current line, which is indented by exactly `indent`. */
  private block(indent: number): [unknown, Spot] {
    if (++this.depth > MAX_DEPTH) throw GIVE_UP;
    const r = this.blockNode(indent);
    this.depth--;
    return r;
  }

  private blockNode(indent: number): [unknown, Spot] {
    const c = this.s.charCodeAt(this.content);
    if (c === DASH && this.isSeqIndicator(this.content)) return this.blockSeq(indent);
    if (this.keyEnd(this.content) >= 0) return this.blockMap(indent, this.content);
    // A lone scalar or flow collection on its own line.
    const [value, place, i] = this.inline(this.content, false);
    this.finishLine(i);
    if (this.indent > indent) throw GIVE_UP; // a multi-line scalar
    return [value, place];
  }

  private isSeqIndicator(i: number): boolean {
    const next = this.s.charCodeAt(i + 1);
    return i + 1 >= this.end || next === SPACE || next === LF;
  }

  /**
   * Offset of the `:` that ends an implicit key starting at `i` (a plain or quoted key on one line, followed by
   * `: ` or `:` at the end of the line), or -1 when the text at `i` is not a key.
   */
  private keyEnd(i: number): number {
    const s = this.s;
    const c = s.charCodeAt(i);
    if (c === 91 || c === 123) return -1; // a flow collection: a value (as a key, the yaml library reads it)
    let j: number;
    if (c === 34 || c === 39) {
      j = this.quotedEnd(i);
      if (j < 0) return -1;
    } else {
      // A key is a plain scalar followed by `: `: the run stops at that ':' or before what ends the line.
      BLOCK_PLAIN.lastIndex = i;
      j = i + BLOCK_PLAIN.exec(s)![0].length;
      if (j === i) return -1;
    }
    const e = s.charCodeAt(j + 1);
    return s.charCodeAt(j) === COLON && (j + 1 >= this.end || e === SPACE || e === LF) ? j : -1;
  }

  /** Offset just past the closing quote of the one-line quoted scalar at `i`, or -1. */
  private quotedEnd(i: number): number {
    // Escapes (a backslash in double quotes) are left to the yaml library.
    const body = this.s.charCodeAt(i) === 34 ? DOUBLE_QUOTED : SINGLE_QUOTED;
    body.lastIndex = i + 1;
    return body.exec(this.s) ? body.lastIndex : -1;
  }

  private key(i: number, colon: number): string {
    if (colon - i > 1024) throw GIVE_UP; // YAML limits implicit keys to 1024 characters
    const c = this.s.charCodeAt(i);
    if (c === 34 || c === 39) {
      const close = this.quotedEnd(i);
      if (close !== colon) throw GIVE_UP; // `"a" b:` and the like
      return this.quoted(i, close);
    }
    const raw = this.s.slice(i, colon).trimEnd();
    if (!this.plainStart(i) || raw.includes(': ') || raw.includes(' #')) throw GIVE_UP;
    // A key that reads as null, a boolean or a number: the yaml library's string form of it is left to it.
    if (typeof plainValue(raw) !== 'string' || raw === '<<') throw GIVE_UP;
    return raw;
  }

  private quoted(i: number, close: number): string {
    const body = this.s.slice(i + 1, close - 1);
    return this.s.charCodeAt(i) === 39 ? body.replaceAll("''", "'") : body;
  }

  /** True when a plain scalar may start at `i` (not on an indicator, by the YAML rules). */
  private plainStart(i: number): boolean {
    const c = this.s.charCodeAt(i);
    if (c === DASH || c === 63 || c === COLON) {
      const next = this.s.charCodeAt(i + 1);
      return i + 1 < this.end && next !== SPACE && next !== LF && !isFlowIndicator(next);
    }
    // , [ ] { } # & * ! | > ' " % @ `
    return !/[,[\]{}#&*!|>'"%@`]/.test(this.s[i]);
  }

  private blockMap(indent: number, first: number): [Record<string, unknown>, Place] {
    const value: Record<string, unknown> = {};
    const place: Place = { at: first, entries: [] };
    let at = first;
    for (;;) {
      const colon = this.keyEnd(at);
      if (colon < 0) throw GIVE_UP;
      const key = this.key(at, colon);
      if (key === '__proto__') throw GIVE_UP; // refused by the caller, with its place
      let i = colon + 1;
      while (this.s.charCodeAt(i) === SPACE) i++;
      let v: unknown = null;
      let p: Spot = EMPTY;
      const c = this.s.charCodeAt(i);
      if (i >= this.end || c === LF || c === HASH) {
        // The value is on the next lines: more indented, or a sequence at the key's own indentation.
        this.finishLine(colon + 1);
        if (this.indent > indent) {
          if (this.s.charCodeAt(this.content) !== DASH && this.keyEnd(this.content) < 0) throw GIVE_UP;
          [v, p] = this.block(this.indent);
        } else if (
          this.indent === indent &&
          this.s.charCodeAt(this.content) === DASH &&
          this.isSeqIndicator(this.content)
        ) {
          [v, p] = this.blockSeq(indent);
        }
      } else {
        if (c === DASH && this.isSeqIndicator(i)) throw GIVE_UP; // `key: - x`
        const [iv, ip, end] = this.inline(i, false);
        [v, p] = [iv, ip];
        this.finishLine(end);
        if (this.indent > indent) throw GIVE_UP; // a multi-line plain scalar, or bad indentation
      }
      this.addEntry(place, key, at, p);
      value[key] = v;
      if (this.indent !== indent) break;
      at = this.content;
      const d = this.s.charCodeAt(at);
      if (d === DASH && this.isSeqIndicator(at)) break;
    }
    if (this.indent > indent) throw GIVE_UP;
    place.entries = trim(place.entries!);
    return [value, place];
  }

  /** Appends an entry to a mapping's place, noting a key written twice; big mappings get their index here. */
  private addEntry(place: Place, key: string, keyAt: number, spot: Spot): void {
    const entries = place.entries!;
    let previous = -1;
    if (place.index) previous = place.index.get(key) ?? -1;
    else for (let i = 0; i < entries.length; i += 3) if (entries[i] === key) previous = i;
    if (previous >= 0) this.duplicates.push({ key, first: entries[previous + 1] as number, second: keyAt });
    entries.push(key, keyAt, spot);
    if (place.index) place.index.set(key, entries.length - 3);
    else if (entries.length > 3 * INDEXED) {
      place.index = new Map();
      for (let i = 0; i < entries.length; i += 3) place.index.set(entries[i] as string, i);
    }
  }

  private blockSeq(indent: number): [unknown[], Place] {
    const value: unknown[] = [];
    const items: Spot[] = [];
    const place: Place = { at: this.content, items };
    for (;;) {
      let i = this.content + 1;
      while (this.s.charCodeAt(i) === SPACE) i++;
      const c = this.s.charCodeAt(i);
      if (i >= this.end || c === LF || c === HASH) {
        const dash = this.content;
        this.finishLine(dash + 1);
        if (this.indent > indent) {
          const [v, p] = this.block(this.indent);
          value.push(v);
          items.push(p);
        } else {
          value.push(null);
          items.push(dash + 1);
        }
      } else if (c === DASH && this.isSeqIndicator(i)) {
        throw GIVE_UP; // `- - x`
      } else if (this.keyEnd(i) >= 0) {
        // A mapping that starts on the dash's line: its keys line up with the first one.
        const col = i - this.line;
        const [v, p] = this.blockMap(col, i);
        value.push(v);
        items.push(p);
        if (this.indent > indent) throw GIVE_UP;
      } else {
        const [v, p, end] = this.inline(i, false);
        value.push(v);
        items.push(p);
        this.finishLine(end);
        if (this.indent > indent) throw GIVE_UP;
      }
      if (this.indent !== indent) break;
      const d = this.s.charCodeAt(this.content);
      if (!(d === DASH && this.isSeqIndicator(this.content))) break;
    }
    if (this.indent > indent) throw GIVE_UP;
    return [trim(value), { at: place.at, items: trim(items) }];
  }

  /**
   * A value that fits on the current line, starting at `i`: a flow collection, a quoted or a plain scalar.
   * Returns it with its place and the offset just past it.
   */
  private inline(i: number, flow: boolean): [unknown, Spot, number] {
    const s = this.s;
    const c = s.charCodeAt(i);
    if (c === 91 || c === 123) {
      if (++this.depth > MAX_DEPTH) throw GIVE_UP;
      const r = c === 91 ? this.flowSeq(i) : this.flowMap(i);
      this.depth--;
      return r;
    }
    if (c === 34 || c === 39) {
      const close = this.quotedEnd(i);
      if (close < 0) throw GIVE_UP;
      return [this.quoted(i, close), i, close];
    }
    if (!this.plainStart(i)) throw GIVE_UP;
    const run = flow ? FLOW_PLAIN : BLOCK_PLAIN;
    run.lastIndex = i;
    const j = i + run.exec(s)![0].length;
    if (!flow && s.charCodeAt(j) === COLON) throw GIVE_UP; // `a: b: c`
    let last = j; // just past the last non-space character
    while (last > i && s.charCodeAt(last - 1) === SPACE) last--;
    if (last === i) throw GIVE_UP;
    return [plainValue(s.slice(i, last)), i, last];
  }

  private skipSpaces(i: number): number {
    let j = i;
    while (this.s.charCodeAt(j) === SPACE) j++;
    return j;
  }

  private flowSeq(open: number): [unknown[], Spot, number] {
    const value: unknown[] = [];
    const items: Spot[] = [];
    let i = this.skipSpaces(open + 1);
    if (this.s.charCodeAt(i) === 93) return [value, open, i + 1]; // empty: a number, like a scalar
    for (;;) {
      const [v, p, end] = this.inline(i, true);
      i = this.skipSpaces(end);
      if (this.s.charCodeAt(i) === COLON) throw GIVE_UP; // `[a: b]`, a one-pair mapping
      value.push(v);
      items.push(p);
      const c = this.s.charCodeAt(i);
      if (c === 93) return [trim(value), { at: open, items: trim(items) }, i + 1];
      if (c !== COMMA) throw GIVE_UP;
      i = this.skipSpaces(i + 1);
      if (this.s.charCodeAt(i) === 93 || this.s.charCodeAt(i) === COMMA) throw GIVE_UP;
    }
  }

  private flowMap(open: number): [Record<string, unknown>, Spot, number] {
    const value: Record<string, unknown> = {};
    const place: Place = { at: open, entries: [] };
    let i = this.skipSpaces(open + 1);
    if (this.s.charCodeAt(i) === 125) return [value, open, i + 1]; // empty: a number, like a scalar
    for (;;) {
      const keyAt = i;
      const [k, , end] = this.inline(i, true);
      if (typeof k !== 'string') throw GIVE_UP;
      const q = this.s.charCodeAt(keyAt);
      if ((q !== 34 && q !== 39 && k !== this.s.slice(keyAt, end)) || k === '__proto__' || k === '<<')
        throw GIVE_UP;
      if (this.s.charCodeAt(end) !== COLON || this.s.charCodeAt(end + 1) !== SPACE) throw GIVE_UP;
      i = this.skipSpaces(end + 1);
      const c0 = this.s.charCodeAt(i);
      if (c0 === COMMA || c0 === 125 || c0 === LF || i >= this.end) throw GIVE_UP; // `{ a: }`
      const [v, p, vend] = this.inline(i, true);
      this.addEntry(place, k, keyAt, p);
      value[k] = v;
      i = this.skipSpaces(vend);
      const c = this.s.charCodeAt(i);
      if (c === 125) {
        place.entries = trim(place.entries!);
        return [value, place, i + 1];
      }
      if (c !== COMMA) throw GIVE_UP;
      i = this.skipSpaces(i + 1);
      if (this.s.charCodeAt(i) === 125 || this.s.charCodeAt(i) === COMMA) throw GIVE_UP;
    }
  }
}

/** The value and places of `text` when it is in the subset this reader knows, else undefined. */
export function readFast(text: string): FastRead | undefined {
  try {
    return new Reader(text).read();
  } catch (e) {
    if (e instanceof OutsideSubset) return undefined;
    throw e;
  }
}
