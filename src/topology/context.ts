import type { Problem } from './errors.js';
import { type Cidr, cidrOf } from './ip.js';
import type { TopologyFile, TopologyKindSpec, TopologyNodeSpec } from './schema.js';
import type { ResolvedInterface, ResolvedNode } from './types.js';
import type { Locate, SpecPath } from './yaml.js';

/** What the steps of the resolution share (see `resolveLab`). */

export type Family = 4 | 6;
export const FAMILIES = [4, 6] as const;
export const FAMILY_KEY = { 4: 'ipv4', 6: 'ipv6' } as const;

/** An address written in the file, with where it was written and whose it is. */
export interface WrittenAddress {
  /** As written (`10.1.10.1/24`). */
  cidr: string;
  /** Parsed, once (shared, read-only): big labs check each address in several ways. */
  parsed: Readonly<Cidr>;
  path: SpecPath;
  /** For messages: `host:veth11`, `bridge 'sw'`. */
  owner: string;
  /** What holds it: an interface, or a bridge node (its own addresses are on its br0). Compared by identity. */
  holder: Holder;
}

/** An interface, or a bridge node standing for its br0: what an address is on. */
export type Holder = ResolvedInterface | ResolvedNode;

/** A `WrittenAddress` of text the schema has checked. */
export function writtenAddress(cidr: string, path: SpecPath, owner: string, holder: Holder): WrittenAddress {
  return { cidr, parsed: cidrOf(cidr)!, path, owner, holder };
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
  /** Where each interface is declared (its name), by node and interface name. */
  interfacePaths: Map<string, Map<string, SpecPath>>;
  ghosts: ReadonlySet<string>;
  partial: boolean;
}
