/**
 * Options of the library's entry points, each an interface of its own so that features extend them side by side
 * (`interface LabUpOptions { private?: boolean }` in another file merges in).
 */
import type { UpOptions } from './deploy.js';
import type { PrivateOptions } from './private.js';

export interface LabOptions {
  /**
   * An existing namespace that plays the host instead of the real default namespace (`--host-netns`). nslab
   * never deletes it. Tests and benchmarks always set it. Null: the real default namespace. Left out: the real
   * default namespace for a lab loaded from a file; for a lab found by name (`attach`, `forNode`, `locate`),
   * whichever host namespace it is up with.
   */
  hostNetns?: string | null;
}

/** Options of `Lab.up(fileOrSpec, opts)`: where the lab lives, how `up` runs, and how it is torn down. */
export interface LabUpOptions extends LabOptions, Omit<UpOptions, 'dryRun'>, PrivateOptions {
  /**
   * Grace period, in ms, its processes get between SIGTERM and SIGKILL when the lab is torn down (the end of an
   * `await using` block, a signal); default 3000.
   */
  teardownGraceMs?: number;
  /**
   * Tear the lab down, then exit, when this process gets SIGINT or SIGTERM (default true): the first signal tears
   * down every lab the process holds, once, and exits with status 128 + the signal's number; a second exits at
   * once.
   */
  handleSignals?: boolean;
}
