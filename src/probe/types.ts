import { NslabError } from '../sys/errors.js';
import type { Expectation } from '../topology/types.js';

/** One ping to send: from a node (inside its namespace) to an address. */
export interface ProbeTarget {
  /** Node name the echo request leaves from (for results and messages). */
  from: string;
  /** fd on the network namespace of `from` (NetnsHandle.fd). */
  fd: number;
  /** Destination address, IPv4 or IPv6. */
  to: string;
  /** Node owning `to`, when known. */
  toNode?: string;
  /**
   * TTL (hop limit) the target's replies start with, when known (its `net.ipv4.ip_default_ttl`); hops are then
   * exact, otherwise guessed from the nearest of 64, 128 and 255.
   */
  initialTtl?: number;
}

/**
 * What `ping -c 1 -W 1` would have shown:
 * - `reached`: an echo reply came back.
 * - `unreachable`: an error came back, from the local kernel (`connect: Network is unreachable`) or from a router
 *   or host on the way (`From 10.1.1.1 ... Destination Net Unreachable`).
 * - `lost`: nothing came back in time (100% packet loss).
 */
export type ProbeStatus = 'reached' | 'lost' | 'unreachable';

export interface ProbeResult {
  from: string;
  to: string;
  toNode?: string;
  family: 4 | 6;
  status: ProbeStatus;
  /** For `unreachable`: what ping prints (`Network is unreachable`, `Destination Host Unreachable`...). */
  reason?: string;
  /** Round-trip time of the (fastest) reply, in milliseconds. */
  rttMs?: number;
  /** TTL (IPv4) or hop limit (IPv6) of the reply as it arrived: ping's `ttl=`. */
  replyTtl?: number;
  /** Routers the reply crossed, guessed from `replyTtl` (64 → 0, 63 → 1). */
  hops?: number;
  /** Address that sent the ICMP error, for `unreachable` answered by the network (absent for local failures). */
  reporter?: string;
}

export interface ProbeOptions {
  /** How long to wait for answers after the last echo request is sent, in ms (default 1000, as `ping -W 1`). */
  timeoutMs?: number;
  /** Echo requests per target (default 1, as `ping -c 1`); a target is reached when any of them is answered. */
  count?: number;
  /** Gap between the rounds of requests when `count` > 1, in ms (default 0: all at once). */
  intervalMs?: number;
}

/** A live reachability matrix: every result, and the L3 nodes it covers, in file order. */
export interface PingMatrix {
  results: ProbeResult[];
  nodes: string[];
}

/** One cell of a summarised matrix: the worst status over every address of `toNode` probed from `from`. */
export interface MatrixCell {
  from: string;
  toNode: string;
  status: ProbeStatus;
  /** Routers crossed: the largest count among the replies, when any came back. */
  hops?: number;
  /** The results the cell stands for (one per probed address). */
  results: ProbeResult[];
}

export interface ExpectationCheck {
  expectation: Expectation;
  holds: boolean;
  /** The results the expectation was judged on (one per address of the target). */
  observed: ProbeResult[];
  /** One sentence saying what was observed and whether it matches. */
  message: string;
}

/** A probe could not be run (no socket, bad target, unknown node). */
export class ProbeError extends NslabError {
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, exitCode, options);
    this.name = 'ProbeError';
  }
}
