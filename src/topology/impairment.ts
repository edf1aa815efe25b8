/**
 * Impairments and timeline events as nslab holds them once resolved (kernel units), and their one-line text.
 * Kept apart from the schema in faults.ts, so that printing an operation (plan/format.ts) never loads zod.
 */
import type { SourcePos } from './types.js';
import { formatDuration, formatLoss, formatRate } from './units.js';

/**
 * What an interface does to the packets that leave it (the egress of the device, as tc sees it). Each direction of
 * a link is impaired by the end it leaves from: `impair:` on a link applies to both ends.
 */
export interface Impairment {
  /** Bits per second (tbf, or netem's own rate). */
  rate?: number;
  /** Probability of dropping a packet, 0..1, in steps of 0.0001 (0.01 %). */
  loss?: number;
  /** Added delay, microseconds (netem only). */
  delayUs?: number;
  /** Uniform jitter around the delay, microseconds (netem only). */
  jitterUs?: number;
}

/** An impairment as people write it: tc's units in strings; in code, numbers are bit/s, a fraction, and ms. */
export interface ImpairSpec {
  /** `10mbit`, `1gbit`, `500kbit`, `2mbps` (bytes per second, as in tc); a number is bits per second. */
  rate?: string | number;
  /** `5%`, `0.5%`; a number is a fraction (0.05 = 5 %). */
  loss?: string | number;
  /** `20ms`, `1.5s`, `800us`; a number is milliseconds. */
  delay?: string | number;
  /** Like `delay`; needs a delay. */
  jitter?: string | number;
}

/** What a timeline event does. */
export type TimelineAction =
  /** `ip link set dev IF down|up` at that end. */
  | { kind: 'link'; node: string; interface: string; up: boolean }
  /** `nslab partition`: traffic between nodes of different groups is dropped. */
  | { kind: 'partition'; groups: string[][] }
  /** `nslab heal`. */
  | { kind: 'heal' }
  /** `nslab impair` of one end; null clears it. */
  | { kind: 'impair'; node: string; interface: string; impair: Impairment | null }
  /** Stops or starts a named process of a node (`r2/ospfd`). */
  | { kind: 'stop' | 'start'; node: string; process: string };

export interface TimelineEvent {
  /** Milliseconds from the start of the play. */
  atMs: number;
  action: TimelineAction;
  /** Undone this long after: a link back to its other state, a partition healed, an impairment back to the file's. */
  forMs?: number;
  pos?: SourcePos;
}

/** One line for people: `rate 10mbit, loss 5%, delay 20ms ± 5ms`. */
export function describeImpairment(i: Impairment): string {
  const parts: string[] = [];
  if (i.rate !== undefined) parts.push(`rate ${formatRate(i.rate)}`);
  if (i.loss !== undefined) parts.push(`loss ${formatLoss(i.loss)}`);
  if (i.delayUs !== undefined)
    parts.push(`delay ${formatDuration(i.delayUs)}${i.jitterUs ? ` ± ${formatDuration(i.jitterUs)}` : ''}`);
  return parts.join(', ') || 'none';
}
