import { NslabError } from '../sys/errors.js';
import type { Expectation } from '../topology/types.js';

export type Family = 4 | 6;

/**
 * What `ping` would show:
 * - `reach`: echo replies come back.
 * - `unreachable`: an error comes back at once (`connect: Network is unreachable`, or a router's
 *   `Destination Net Unreachable`).
 * - `lost`: no reply (silent drop, ARP/ND failure, TTL exceeded, or the reply never makes it back): 100% packet loss.
 */
export type Verdict = 'reach' | 'unreachable' | 'lost';

export type Direction = 'forward' | 'back';

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

export interface Failure {
  node: string;
  direction: Direction;
  /** What the kernel or ping says (`Network is unreachable`, `Destination Host Unreachable`, ...). */
  reason: string;
  /** One sentence saying what happens and why, in the lab's terms. */
  sentence: string;
  /** The change to the topology file that gets past this failure. */
  fix?: string;
}

export interface Explanation {
  from: string;
  /** The target as asked: a node name or an address. */
  to: string;
  /** The node owning `dst`, when one does. */
  toNode?: string;
  family: Family;
  /** Destination address of the echo request. */
  dst: string;
  /** Source address the kernel picks for the echo request (absent when it has no route at all). */
  src?: string;
  ok: boolean;
  verdict: Verdict;
  forward: Hop[];
  back: Hop[];
  /** Routers the echo request crosses (nodes that forward it). */
  hops: number;
  /** TTL of the echo reply as it arrives, the `ttl=` ping prints. */
  replyTtl?: number;
  failure?: Failure;
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
}

/** Options of `predictMatrix`. */
export interface MatrixOptions extends ExplainOptions {
  /**
   * Which addresses of each target node to ping: `all` (default) or `first`, the first address of each family
   * (IPv4 first, the one `explain` picks), for big labs where "every pair" means every pair of nodes.
   */
  addresses?: 'all' | 'first';
}

/** One cell of the predicted reachability matrix: one source, one address of one target. */
export interface PredictedPair {
  from: string;
  to: string;
  address: string;
  family: Family;
  verdict: Verdict;
  hops: number;
  replyTtl?: number;
  failure?: Failure;
}

export interface PredictedMatrix {
  /** The L3 nodes, in file order. */
  nodes: string[];
  pairs: PredictedPair[];
  /** Options the prediction was made with (reused by `checkExpectations`). */
  options: MatrixOptions;
}

export interface ExpectationResult {
  expectation: Expectation;
  holds: boolean;
  /** The predictions the expectation was judged on (one per address of the target). */
  predicted: PredictedPair[];
  reason: string;
}

/** Bad question to the explainer: unknown node, a switch without address as source, no address of the family. */
export class ExplainError extends NslabError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ExplainError';
  }
}
