/**
 * The labs this process holds (brought up by `Lab.up`, not yet torn down), and what SIGINT and SIGTERM do while
 * it holds any: tear every one down, once, then exit with status 128 + the signal's number (130, 143); a second
 * signal exits at once. The handlers are installed while a lab is held and removed with the last one, so a
 * process holding none keeps the default behaviour.
 */
import { constants } from 'node:os';

/** A held lab: how to tear it down (called once; the same promise after). */
export interface HeldLab {
  name: string;
  teardown(reason?: string): Promise<void>;
}

const held = new Set<HeldLab>();
let caught: NodeJS.Signals | undefined;

function statusOf(sig: NodeJS.Signals): number {
  return 128 + (constants.signals[sig] ?? 0);
}

function onSignal(sig: NodeJS.Signals): void {
  if (caught !== undefined) {
    process.stderr.write(
      `nslab: ${sig} again: exiting at once, labs may be left (nslab down NAME removes them)\n`,
    );
    process.exit(statusOf(sig));
  }
  caught = sig;
  const labs = [...held];
  process.stderr.write(`nslab: ${sig}: tearing down ${labs.map((l) => l.name).join(', ')}, then exiting\n`);
  void Promise.allSettled(labs.map((l) => l.teardown(sig))).then((results) => {
    for (const r of results)
      if (r.status === 'rejected') process.stderr.write(`nslab: teardown failed: ${String(r.reason)}\n`);
    process.exit(statusOf(sig));
  });
}

function install(): void {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function uninstall(): void {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** Holds a lab: a signal now tears it down. */
export function hold(lab: HeldLab): void {
  if (held.size === 0 && caught === undefined) install();
  held.add(lab);
}

/** Lets a lab go (torn down, or taken down by hand); the handlers go with the last one. */
export function release(lab: HeldLab): void {
  if (!held.delete(lab)) return;
  // While a signal's teardown runs, the handlers stay: a second signal must still exit at once.
  if (held.size === 0 && caught === undefined) uninstall();
}

/** The labs held now (for tests and messages). */
export function heldLabs(): readonly HeldLab[] {
  return [...held];
}
