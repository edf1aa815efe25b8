import { NslabError } from '../sys/errors.js';

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

export interface ProbeOptions {
  /** How long to wait for answers after the last echo request is sent, in ms (default 1000, as `ping -W 1`). */
  timeoutMs?: number;
  /** Echo requests per target (default 1, as `ping -c 1`); a target is reached when any of them is answered. */
  count?: number;
  /** Gap between the rounds of requests when `count` > 1, in ms (default 0: all at once). */
  intervalMs?: number;
}

/** A probe could not be run (no socket, bad target, unknown node). */
export class ProbeError extends NslabError {
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, exitCode, options);
    this.name = 'ProbeError';
  }
}
