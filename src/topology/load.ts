import type { z } from 'zod';
import { didYouMean, type Problem, TopologyError } from './errors.js';
import { shortName } from './names.js';
import { pruneInvalid } from './partial.js';
import { readTopologyFileSync } from './read.js';
import { resolveLab, type SpecPath } from './resolve.js';
import { CONTAINER_KEYS, topologySchema } from './schema.js';
import type { ResolvedLab } from './types.js';
import { readYaml, yamlLib } from './yaml.js';

/**
 * Reads and resolves a topology file (`*.nslab.yml`). Only a regular file of at most 64 MB is read
 * (see `readTopologyFileSync`).
 * @throws TopologyError (exit code 2) listing every problem of the file with its `file:line:col`; NslabError (exit
 * code 2) when the file cannot be read.
 */
export async function loadTopology(path: string): Promise<ResolvedLab> {
  return parseTopology(readTopologyFileSync(path), path);
}

/**
 * Parses, validates and resolves the text of a topology file. `file` names it in positions and in
 * `ResolvedLab.file` (left out for the default `<inline>`).
 * @throws TopologyError listing every problem: YAML syntax and alias errors alone (nothing else can be read);
 * otherwise, all at once, keys written twice, schema problems (unknown keys with a suggestion, wrong types, bad
 * addresses and names) and the problems of the lab itself, found on what is left of the file without the parts
 * the schema refused (see `pruneInvalid`).
 */
export function parseTopology(text: string, file = '<inline>'): ResolvedLab {
  const yaml = readYaml(text, file);
  if (yaml.value === undefined) throw new TopologyError(sorted(yaml.problems));
  const problems = [...yaml.problems];
  const labFile = file === '<inline>' ? undefined : file;
  const parsed = topologySchema.safeParse(yaml.value, { reportInput: true });
  if (parsed.success) {
    const { lab, problems: more } = resolveLab(parsed.data, yaml.locate, labFile);
    if (problems.length === 0 && more.length === 0) return lab;
    throw new TopologyError(sorted([...problems, ...more]));
  }
  for (const issue of parsed.error.issues) {
    for (const p of explainIssue(issue, []))
      problems.push({ pos: yaml.locate(p.path, p.key), message: p.message });
  }
  const rest = pruneInvalid(yaml.value, parsed.error.issues);
  if (rest) {
    const { problems: more } = resolveLab(rest.spec, yaml.locate, labFile, rest);
    problems.push(...more);
  }
  throw new TopologyError(sorted(problems));
}

/** A topology given as an object: the shape of a topology file, typed from its schema. */
export type TopologySpec = z.input<typeof topologySchema>;

/**
 * Resolves a topology given as an object (`Lab.up({ name: 'x', topology: { ... } })`) exactly as its YAML form
 * would be: the same checks and sentences, positions in that form (`<spec>:LINE:COL`).
 * @throws TopologyError listing every problem.
 */
export function specTopology(spec: TopologySpec): ResolvedLab {
  const lab = parseTopology(yamlLib().stringify(spec, { lineWidth: 0 }), '<spec>');
  delete lab.file;
  return lab;
}

/** In file order, each problem once. */
function sorted(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.pos.line}:${p.pos.col}:${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
}

/** containerlab's kinds of containers and virtual machines (its `linux` and `bridge` are nslab kinds too). */
const CONTAINERLAB_KIND =
  /^(?:(?:nokia|arista|cisco|juniper|nvidia|dell|fortinet|huawei|ipinfusion|checkpoint|keysight|6wind|fdio|ciena|aruba|paloalto|mikrotik|vyosio|openbsd|freebsd|generic)_|vr-|ovs-|ext-|k8s-)|^(?:srl|ceos|crpd|cjunosevolved|vjunosswitch|vjunosrouter|sonic-vs|sonic-vm|cvx|xrd|csr|vmx|vsrx|frr|rare|ostinato|iol|c8000|openwrt|ovs-bridge|ext-container|mysocketio)$/;

/**
 * Keys people write for another one (`gw` for `via`): suggested when the one they mean is allowed where they
 * wrote it, even when the spelling is far.
 */
const SYNONYMS: Record<string, string> = {
  gw: 'via',
  gateway: 'via',
  nexthop: 'via',
  'next-hop': 'via',
  next_hop: 'via',
  destination: 'dst',
  prefix: 'dst',
  to: 'dst',
  device: 'dev',
  interface: 'dev',
  iface: 'dev',
  sysctl: 'sysctls',
  commands: 'exec',
  links: 'endpoints',
};

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
      return issue.keys.map((k) => {
        const synonym = SYNONYMS[k];
        const hint =
          synonym !== undefined && known.includes(synonym)
            ? ` (did you mean '${synonym}'?)`
            : didYouMean(k, known);
        const message = CONTAINER_KEYS.has(k)
          ? `'${k}' ${where(path)} is a container setting of containerlab: nslab runs no containers (a node is a network namespace), remove it`
          : `unknown key '${k}' ${where(path)}${hint}`;
        return { path: [...path, k], key: true, message };
      });
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
      let hint = typeof input === 'string' ? didYouMean(input, issue.values.map(String)) : '';
      if (hint === '' && path.at(-1) === 'kind' && typeof input === 'string' && CONTAINERLAB_KIND.test(input))
        hint = `: '${input}' is a containerlab kind that runs a container image, and nslab runs no containers`;
      const allowed = values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
      return at(`${subject(path)} must be ${allowed}, not ${valueName(input)}${hint}`);
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
  if (up === 'nodes' && parent.length === 2) return `node '${shortName(String(last))}'`;
  if (up === 'kinds' && parent.length === 2) return `kind '${last}' of topology.kinds`;
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
  if (typeof value === 'string') return `'${shortName(value)}'`;
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
