import type { Family, ReachResult } from '../reach/types.js';
import { NslabError } from '../sys/errors.js';

export type { Direction, Failure, Family, Verdict } from '../reach/types.js';

/** One node the packet visits. */
export interface Hop {
  node: string;
  /** Interface the packet came in by (absent at the node that sends it). */
  inIf?: string;
  /** Interface it leaves by (absent where it is delivered or dropped). */
  outIf?: string;
  /** Gateway of the route used, when it has one. */
  via?: string;
  /** The route used, as `ip route` prints it (`10.1.20.0/24 via 10.1.10.1 dev veth12`). */
  route?: string;
  /** Bridge nodes (L2 switches) the frame crosses after leaving by `outIf`, in order. */
  bridges?: string[];
}

/**
 * Why `from` can or cannot ping `to`, hop by hop: a predicted `ReachResult` (`hops` are the routers the reply
 * crosses, `requestHops` those the request crosses) with both paths, the failure and the fixes.
 */
export interface Explanation extends ReachResult {
  /** Source address the kernel picks for the echo request (absent when it has no route at all). */
  src?: string;
  /** True when reached. */
  ok: boolean;
  /** The echo request's path, from `from`. */
  forward: Hop[];
  /** The echo reply's path, from the node that answers (empty when the request does not get there). */
  back: Hop[];
  /** Assumptions and kernel subtleties that matter for this path (overlapping subnets, assumed host sysctls...). */
  notes: string[];
  /** Every change, in order, that makes this ping work, when nslab can work them all out. */
  remedy?: string[];
}

export interface ExplainOptions {
  /** Address family when `to` is a node name (default: IPv4 when the node has an IPv4 address). */
  family?: Family;
  /** Live sysctl values per node (typically the host's, read from the kernel); the file's values still win. */
  assume?: Record<string, Record<string, string>>;
  /**
   * Indexes (into `ResolvedLab.links`) of links that are down now: the model leaves them out, with the addresses
   * on them, and the routes a protocol predicts (`routing: external`) go around them.
   */
  linksDown?: readonly number[];
}

/** Options of `predictMatrix`. */
export interface MatrixOptions extends ExplainOptions {
  /**
   * Which addresses of each target node to ping: `all` (default) or `first`, the first address of each family
   * (IPv4 first, the one `explain` picks), for big labs where "every pair" means every pair of nodes.
   */
  addresses?: 'all' | 'first';
  /**
   * Also predict what `lab.expect` names that the sweep does not cover (a literal address, a node's own
   * addresses, the addresses `first` leaves out), so that every expectation can be judged (default true).
   */
  expectTargets?: boolean;
}

/** Bad question to the explainer: unknown node, a switch without address as source, no address of the family. */
export class ExplainError extends NslabError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ExplainError';
  }
}
