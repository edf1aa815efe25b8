import type { z } from 'zod';
import type { ResolveOptions } from './context.js';
import { didYouMean } from './errors.js';
import { schemaKeepsValues, type TopologyFile, topologySchema } from './schema.js';
import type { SpecPath } from './yaml.js';

type Issue = z.core.$ZodIssue;
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys of a node or link whose removal changes which interfaces or addresses the lab has. */
const SHAPING = new Set([
  'kind',
  'ipv4',
  'ipv6',
  'endpoints',
  'interface',
  'ipv4-pool',
  'ipv6-pool',
  'links',
  'nodes',
]);

/**
 * What is left of a file the schema refused once the parts it refused are taken out, for the resolver to find
 * the problems of the lab too (an undeclared node, a gateway off-link) in the same run. Each problem takes out as
 * little as it can: an unknown key, a bad value of a key, a bad route or expectation, a bad address of a link
 * (left unaddressed); a link whose endpoints are wrong goes whole. A node whose name is refused goes, but stays
 * known as a ghost so that links to it are not also reported. When what went out shapes interfaces or addresses,
 * the result is `partial`: the resolver then skips the checks that need all of them. Undefined when nothing can
 * be resolved (no name or no `topology.nodes`), or the file still fails after a few rounds.
 */
export function pruneInvalid(
  value: unknown,
  issues: Issue[],
): (ResolveOptions & { spec: TopologyFile; ghosts: Set<string> }) | undefined {
  if (!isObject(value) || !isObject(value.topology) || !isObject(value.topology.nodes)) return undefined;
  const ghosts = new Set<string>();
  let partial = false;
  let current = issues;
  for (let round = 0; round < 4; round++) {
    // Array items go last and from the end, so that the indexes of the other issues still hold.
    const drops: { list: unknown[]; index: number }[] = [];
    for (const issue of current) {
      const paths: SpecPath[] =
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((k) => [...issue.path.map((p) => (typeof p === 'number' ? p : String(p))), k])
          : [issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
      for (const path of paths) {
        const r =
          issue.code === 'unrecognized_keys'
            ? dropKey(value, path, drops)
            : prune(value, path, issue.code === 'invalid_key', ghosts, drops);
        if (r === 'stop') return undefined;
        if (r === 'shaping') partial = true;
      }
    }
    drops.sort((a, b) => b.index - a.index);
    for (const d of drops) if (d.index < d.list.length) d.list.splice(d.index, 1);
    // Unknown keys alone, taken out, leave a valid file; and what zod would return is then the value itself
    // when the schema changes nothing it reads: no second pass over a big file (a typo in 20,000 nodes).
    if (current.every((i) => i.code === 'unrecognized_keys') && schemaKeepsValues())
      return { spec: value as TopologyFile, ghosts, partial };
    const parsed = topologySchema.safeParse(value);
    if (parsed.success) return { spec: parsed.data, ghosts, partial };
    current = parsed.error.issues;
  }
  return undefined;
}

/**
 * Takes out a key the schema does not know. It may be a misspelt key that matters (`ipvv4`, `gw`): a route or an
 * expectation with one goes whole; elsewhere the key goes, and what is left is `partial` when the key is close to
 * one that makes interfaces or addresses (it may have held them).
 */
function dropKey(
  root: Json,
  path: SpecPath,
  drops: { list: unknown[]; index: number }[],
): 'shaping' | 'done' {
  const [top, second, third, fourth, fifth] = path;
  const nodes = isObject(root.topology) ? root.topology.nodes : undefined;
  const node = isObject(nodes) ? nodes[String(third)] : undefined;
  if (top === 'topology' && second === 'nodes' && fourth === 'routes' && typeof fifth === 'number') {
    if (isObject(node) && Array.isArray(node.routes)) drops.push({ list: node.routes, index: fifth });
    return 'done';
  }
  if (top === 'expect' && typeof second === 'number' && Array.isArray(root.expect)) {
    drops.push({ list: root.expect, index: second });
    return 'done';
  }
  let holder: unknown = root;
  for (const seg of path.slice(0, -1))
    holder = (holder as Record<string | number, unknown> | undefined)?.[seg];
  const key = String(path.at(-1));
  if (isObject(holder)) delete holder[key];
  // Only a key that looks like one that makes interfaces or addresses (`ipvv4`) leaves the rest partial.
  return top === 'topology' && didYouMean(key, SHAPING) !== '' ? 'shaping' : 'done';
}

/** Takes out the part of `root` at `path`: 'stop' when the file cannot be resolved without it. */
function prune(
  root: Json,
  path: SpecPath,
  isKey: boolean,
  ghosts: Set<string>,
  drops: { list: unknown[]; index: number }[],
): 'stop' | 'shaping' | 'done' {
  const [top, second, third] = path;
  if (path.length === 0) return 'stop';
  if (top === 'name') {
    root.name = 'lab'; // the name of the lab plays no part in its problems
    return 'done';
  }
  if (top === 'expect' && typeof second === 'number' && Array.isArray(root.expect)) {
    drops.push({ list: root.expect, index: second });
    return 'done';
  }
  if (top !== 'topology') {
    delete root[top];
    return 'done';
  }
  const topology = root.topology as Json;
  if (second === undefined || (second === 'nodes' && third === undefined)) return 'stop';
  if (second === 'nodes') {
    const nodes = topology.nodes as Json;
    const name = String(third);
    if (path.length === 3) {
      if (isKey) {
        ghosts.add(name);
        delete nodes[name];
        return 'shaping';
      }
      nodes[name] = {};
      return 'shaping';
    }
    const node = nodes[name];
    if (!isObject(node)) {
      nodes[name] = {};
      return 'shaping';
    }
    const key = String(path[3]);
    if (key === 'routes' && typeof path[4] === 'number' && Array.isArray(node.routes)) {
      drops.push({ list: node.routes, index: path[4] });
      return 'done';
    }
    if (key === 'sysctls' && path.length >= 5 && isObject(node.sysctls)) {
      delete node.sysctls[String(path[4])];
      return 'done';
    }
    delete node[key];
    return SHAPING.has(key) ? 'shaping' : 'done';
  }
  if (second === 'links' && Array.isArray(topology.links)) {
    const links = topology.links as unknown[];
    if (typeof third !== 'number') {
      delete topology.links;
      return 'shaping';
    }
    const link = links[third];
    const key = path[3];
    if (isObject(link) && (key === 'mtu' || key === 'type')) {
      delete link[key];
      return 'done';
    }
    if (isObject(link) && (key === 'ipv4' || key === 'ipv6')) {
      const list = link[key];
      if (Array.isArray(list) && list.length === 2 && typeof path[4] === 'number') list[path[4]] = null;
      else delete link[key];
      return 'shaping';
    }
    const end = isObject(link) && Array.isArray(link.endpoints) ? link.endpoints[Number(path[4])] : undefined;
    if (
      key === 'endpoints' &&
      isObject(end) &&
      path.length >= 6 &&
      path[5] !== 'node' &&
      path[5] !== 'interface'
    ) {
      delete end[String(path[5])];
      return path[5] === 'mac' || path[5] === 'mtu' ? 'done' : 'shaping';
    }
    drops.push({ list: links, index: third });
    return 'shaping';
  }
  if ((second === 'defaults' || second === 'kinds') && isObject(topology[second])) {
    const holder = topology[second] as Json;
    if (third === undefined) delete topology[second];
    else if (path.length > 3 && isObject(holder[String(third)])) {
      // One setting of a kind, or one sysctl of the defaults; the kind itself stays, for its own problems.
      delete (holder[String(third)] as Json)[String(path[3])];
    } else delete holder[String(third)];
    return 'shaping';
  }
  delete topology[String(second)];
  return 'shaping';
}
