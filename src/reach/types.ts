/**
 * Reachability results, one shape for what the file predicts (the simulator, `explain`, `check --predict`) and
 * what the live lab answers (the prober, `ping`, `check`): one ping from a node to an address, its verdict
 * spelled as ping would show it, and the routers crossed as the reply's TTL tells them.
 */
import type { Expectation } from '../topology/types.js';

export type Family = 4 | 6;

/**
 * What `ping -c 1 -W 1` shows (or would show):
 * - `reached`: an echo reply came back.
 * - `unreachable`: an error came back, from the local kernel (`connect: Network is unreachable`) or from a router
 *   on the way (`From 10.1.1.1 icmp_seq=1 Destination Net Unreachable`).
 * - `lost`: nothing came back in time (silent drop, ARP/ND failure, TTL exceeded, or the reply never makes it
 *   back): 100% packet loss.
 */
export type Verdict = 'reached' | 'unreachable' | 'lost';

/** Which packet of the exchange: the echo request (`forward`) or the echo reply (`back`). */
export type Direction = 'forward' | 'back';

/** Where and why a predicted ping fails, in the kernel's words and the lab's, with the fix in file terms. */
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

/** One ping, `from` a node `to` an address: predicted from the file or observed live, in the same shape. */
export interface ReachResult {
  /** Node the echo request leaves from. */
  from: string;
  /** Address the echo request is sent to (canonical text: `10.1.20.2`, `2001:db8::2`). */
  to: string;
  /** Node owning `to`, when a node of the lab does. */
  toNode?: string;
  family: Family;
  verdict: Verdict;
  /**
   * Routers the echo reply crossed on its way back, as its TTL tells (`ttl=63` from a replier starting at 64 is
   * one). Set when reached (observed: when the reply's TTL was read; predicted: unless equal-cost paths of a
   * routing protocol leave it open). Expectations' `hops` are judged on it.
   */
  hops?: number;
  /** Routers the echo request crossed (predicted only: a live ping does not see the request's path). */
  requestHops?: number;
  /** TTL (IPv4) or hop limit (IPv6) of the echo reply on arrival: the `ttl=` ping prints. */
  replyTtl?: number;
  /** For a failure, what ping prints (`Network is unreachable`, `Destination Host Unreachable`...). */
  reason?: string;
  /** Observed: the address that sent the ICMP error, for an `unreachable` answered by the network. */
  reporter?: string;
  /** Observed: round-trip time of the fastest reply, in milliseconds. */
  rttMs?: number;
  /** Predicted: where and why the ping fails, with the fix. */
  failure?: Failure;
}

/** A reachability matrix: every ping of a sweep (and of the `expect:` targets), and the L3 nodes it covers. */
export interface ReachMatrix {
  /** `predicted` from the file alone, or `observed` on the live lab. */
  source: 'predicted' | 'observed';
  /** The L3 nodes (host, netns nodes, bridges with addresses), in file order. */
  nodes: string[];
  results: ReachResult[];
  /**
   * Observed: what may explain lost pings besides the lab itself, one sentence each (the kernel's neighbour table
   * overflowed during the run).
   */
  warnings?: string[];
}

/** One cell of a summarised matrix: the worst verdict over every address of `toNode` pinged from `from`. */
export interface MatrixCell {
  from: string;
  toNode: string;
  verdict: Verdict;
  /** Routers the replies crossed: the largest count among them, when any came back. */
  hops?: number;
  /** The results the cell stands for (one per address). */
  results: ReachResult[];
}

/** One `expect:` entry judged on a matrix, predicted or observed. */
export interface ExpectationResult {
  expectation: Expectation;
  holds: boolean;
  /** The pings it was judged on (one per address of the target). */
  results: ReachResult[];
  /** One sentence saying what was seen and whether it matches. */
  message: string;
}
