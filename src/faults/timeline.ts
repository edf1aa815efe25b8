/**
 * Plays a timeline (`timeline:` of a topology file): each event at its time from the start, events with `for`
 * undone that long after, in time order (events at the same time in file order, undoing after doing).
 */
import type { Op } from '../plan/types.js';
import { NslabError } from '../sys/errors.js';
import {
  describeImpairment,
  type Impairment,
  type TimelineAction,
  type TimelineEvent,
} from '../topology/faults.js';
import { formatDuration } from '../topology/units.js';

/** What the player needs done; the lab layer fills it in (faults for the first five, processes for the rest). */
export interface TimelineActions {
  link(node: string, iface: string, up: boolean): Promise<Op[]>;
  partition(groups: string[][]): Promise<Op[]>;
  heal(): Promise<Op[]>;
  /** Gives an end exactly this impairment (null: none). */
  impair(node: string, iface: string, impair: Impairment | null): Promise<Op[]>;
  /** Gives an end back the impairment the file declares for it (or none). */
  restoreImpair(node: string, iface: string): Promise<Op[]>;
  /** Undefined when the node has a process of that name; otherwise the sentence saying it has none. */
  processProblem(node: string, process: string): string | undefined;
  stop(node: string, process: string): Promise<void>;
  start(node: string, process: string): Promise<void>;
}

/** One step of the play, as it happened. */
export interface PlayedEvent {
  /** When it was due, ms from the start. */
  atMs: number;
  /** When it ran, ms from the start. */
  elapsedMs: number;
  /** In words: `link r1:e12 down`, `heal (end of the partition at 1s)`. */
  text: string;
  /** The kernel operations it ran. */
  ops: Op[];
}

interface Step {
  atMs: number;
  text: string;
  run: () => Promise<Op[]>;
}

function actionText(a: TimelineAction): string {
  switch (a.kind) {
    case 'link':
      return `link ${a.node}:${a.interface} ${a.up ? 'up' : 'down'}`;
    case 'partition':
      return `partition ${a.groups.map((g) => `[${g.join(', ')}]`).join(' ')}`;
    case 'heal':
      return 'heal';
    case 'impair':
      return `impair ${a.node}:${a.interface} ${a.impair ? describeImpairment(a.impair) : 'cleared'}`;
    case 'stop':
    case 'start':
      return `${a.kind} ${a.node}/${a.process}`;
  }
}

function run(a: TimelineAction, act: TimelineActions): Promise<Op[]> {
  switch (a.kind) {
    case 'link':
      return act.link(a.node, a.interface, a.up);
    case 'partition':
      return act.partition(a.groups);
    case 'heal':
      return act.heal();
    case 'impair':
      return act.impair(a.node, a.interface, a.impair);
    case 'stop':
      return act.stop(a.node, a.process).then(() => []);
    case 'start':
      return act.start(a.node, a.process).then(() => []);
  }
}

/** The step that undoes an event with `for`. */
function undo(e: TimelineEvent, act: TimelineActions): Step {
  const a = e.action;
  const atMs = e.atMs + (e.forMs ?? 0);
  const after = `(after ${formatDuration(Math.round((e.forMs ?? 0) * 1000))})`;
  switch (a.kind) {
    case 'link':
      return {
        atMs,
        text: `link ${a.node}:${a.interface} ${a.up ? 'down' : 'up'} ${after}`,
        run: () => act.link(a.node, a.interface, !a.up),
      };
    case 'partition':
      return { atMs, text: `heal ${after}`, run: () => act.heal() };
    case 'impair':
      return {
        atMs,
        text: `impair ${a.node}:${a.interface} back to the file's ${after}`,
        run: () => act.restoreImpair(a.node, a.interface),
      };
    default:
      throw new Error(`timeline: ${a.kind} events cannot have 'for'`);
  }
}

/** The steps of a timeline in the order they run. */
function timelineSteps(events: TimelineEvent[], act: TimelineActions): Step[] {
  const steps: Step[] = events.map((e) => ({
    atMs: e.atMs,
    text: actionText(e.action),
    run: () => run(e.action, act),
  }));
  for (const e of events) if (e.forMs !== undefined) steps.push(undo(e, act));
  return steps
    .map((s, i) => ({ s, i }))
    .sort((x, y) => x.s.atMs - y.s.atMs || x.i - y.i)
    .map((x) => x.s);
}

/**
 * Plays the events: waits for each one's time (measured from the call), runs it, and reports it through
 * `onEvent` as it happens. A stop or start of a process the lab does not have fails before anything runs
 * (exit 2); a step that fails stops the play with its error (what ran before stays as it is).
 */
export async function playTimeline(
  events: TimelineEvent[],
  act: TimelineActions,
  opts: { onEvent?: (e: PlayedEvent) => void; signal?: AbortSignal } = {},
): Promise<PlayedEvent[]> {
  for (const e of events) {
    const a = e.action;
    if (a.kind !== 'stop' && a.kind !== 'start') continue;
    const problem = act.processProblem(a.node, a.process);
    if (problem) {
      const at = e.pos ? ` (${e.pos.file}:${e.pos.line}:${e.pos.col})` : '';
      throw new NslabError(
        `the timeline ${a.kind === 'stop' ? 'stops' : 'starts'} ${a.node}/${a.process}${at}, but ${problem}`,
        2,
      );
    }
  }
  const played: PlayedEvent[] = [];
  const t0 = performance.now();
  for (const step of timelineSteps(events, act)) {
    // Timers may fire a little before their time by performance.now(): wait again until the event is due.
    for (let wait = t0 + step.atMs - performance.now(); wait > 0; wait = t0 + step.atMs - performance.now())
      await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(wait))));
    if (opts.signal?.aborted) break;
    const elapsedMs = performance.now() - t0;
    const ops = await step.run();
    const e: PlayedEvent = { atMs: step.atMs, elapsedMs, text: step.text, ops };
    played.push(e);
    opts.onEvent?.(e);
  }
  return played;
}
