/**
 * `Lab.up(fileOrSpec, opts)`: a lab brought up and held by this process until it is torn down, at the end of an
 * `await using` block (`Symbol.asyncDispose`), by `down()`, or by SIGINT/SIGTERM (see held.ts). Tearing down
 * stops the lab's named processes, last started first, then takes the lab down, which stops whatever else runs
 * in its namespaces (`lab.spawn` children, `nslab exec` commands).
 */
import { readLedger } from '../apply/store.js';
import type { TopologySpec } from '../topology/load.js';
import { type HeldLab, hold, release } from './held.js';
import type { Lab } from './lab.js';
import type { LabUpOptions } from './options.js';

/** Each held lab's teardown, by Lab object. */
const entries = new WeakMap<Lab, HeldLab>();

/**
 * Stops the lab's named processes (every node's, last started first; SIGTERM to each process group, `graceMs`,
 * SIGKILL), then takes the lab down. Does nothing when it is not up.
 */
export async function tearDownLab(lab: Lab, graceMs?: number): Promise<void> {
  if (readLedger(lab.name, lab.hostNetns)) {
    const named = lab.topology.nodes.flatMap((n) =>
      (n.processes ?? []).map((p) => [n.name, p.name] as const),
    );
    for (const [node, name] of named.reverse()) await lab.process(node, name).stop({ graceMs });
  }
  await lab.down({ graceMs });
}

/** Brings a lab up and holds it (see Lab.up). */
export async function startLab(
  make: (fileOrSpec: string | TopologySpec, opts: LabUpOptions) => Promise<Lab>,
  fileOrSpec: string | TopologySpec,
  opts: LabUpOptions = {},
): Promise<Lab> {
  const lab = await make(fileOrSpec, opts);
  const ac = new AbortController();
  const outer = opts.signal;
  if (outer?.aborted) ac.abort(outer.reason);
  outer?.addEventListener('abort', () => ac.abort(outer.reason), { once: true });
  let up: Promise<unknown> = Promise.resolve();
  let done: Promise<void> | undefined;
  const entry: HeldLab = {
    name: lab.name,
    teardown: (reason?: string) => {
      done ??= (async () => {
        // An `up` still running stops at its next step and rolls back; one that finished is taken down.
        ac.abort(reason ?? 'teardown');
        await up.catch(() => undefined);
        try {
          await tearDownLab(lab, opts.teardownGraceMs);
        } finally {
          release(entry);
          entries.delete(lab);
        }
      })();
      return done;
    },
  };
  entries.set(lab, entry);
  if (opts.handleSignals !== false) hold(entry);
  const { teardownGraceMs: _g, handleSignals: _h, hostNetns: _n, ...upOpts } = opts;
  up = lab.up({ ...upOpts, signal: ac.signal });
  try {
    await up;
  } catch (e) {
    release(entry);
    entries.delete(lab);
    throw e;
  }
  return lab;
}

/** Tears a lab down once, whether `Lab.up` holds it or not (the `Symbol.asyncDispose` of a Lab). */
export function disposeLab(lab: Lab): Promise<void> {
  const entry = entries.get(lab);
  return entry ? entry.teardown() : tearDownLab(lab);
}

/** A lab taken down by hand: a signal no longer needs to tear it down. */
export function forgetLab(lab: Lab): void {
  const entry = entries.get(lab);
  if (entry) release(entry);
}
