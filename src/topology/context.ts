import type { Problem } from './errors.js';
import { type Cidr, parseCidr } from './ip.js';
import type { TopologyFile, TopologyKindSpec, TopologyNodeSpec } from './schema.js';
import type { ResolvedNode } from './types.js';
import type { Locate, SpecPath } from './yaml.js';

/** What the steps of the resolution share (see `resolveLab`). */

export type Family = 4 | 6;
export const FAMILIES = [4, 6] as const;
export const FAMILY_KEY = { 4: 'ipv4', 6: 'ipv6' } as const;

/** An address written in the file, with where it was written and whose it is. */
export interface WrittenAddress {
  /** As written (`10.1.10.1/24`). */
  cidr: string;
  /** Parsed, once: big labs check each address in several ways. */
  parsed: Cidr;
  path: SpecPath;
  /** For messages: `host:veth11`, `bridge 'sw'`. */
  owner: string;
  /** The interface that holds it (`interfaceKey`; a bridge node's own addresses are on its br0). */
  holder: string;
}

/** A `WrittenAddress` of text the schema has checked. */
export function writtenAddress(cidr: string, path: SpecPath, owner: string, holder: string): WrittenAddress {
  return { cidr, parsed: parseCidr(cidr)!, path, owner, holder };
}

export interface ResolveOptions {
  /**
   * Nodes the file declares under names the schema refused: a reference to one of them is not reported as a
   * reference to an undeclared node.
   */
  ghosts?: ReadonlySet<string>;
  /**
   * Set when parts of the file were left out for their schema problems: the checks that need every link and
   * address of the lab (gateways on a connected subnet, the address plan, pools) are skipped, since what is left
   * out could be what they miss.
   */
  partial?: boolean;
}

export interface Context {
  spec: TopologyFile;
  /** The file's nodes by name (a Map: `constructor` and `toString` are node names like any other). */
  specNodes: Map<string, TopologyNodeSpec>;
  defaults: NonNullable<TopologyFile['topology']['defaults']>;
  kinds: Map<string, TopologyKindSpec>;
  locate: Locate;
  fail: (path: SpecPath, message: string, key?: boolean) => void;
  problems: Problem[];
  nodes: Map<string, ResolvedNode>;
  written: WrittenAddress[];
  /** Per family, the links whose addresses of that family are written in the file (even as `[]` or null). */
  writtenLinks: Record<Family, Set<number>>;
  /** Line where each interface (`interfaceKey`) was first declared. */
  interfaceLines: Map<string, number>;
  ghosts: ReadonlySet<string>;
  partial: boolean;
}
