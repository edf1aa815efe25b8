/**
 * What SIGINT (Ctrl-C) and SIGTERM do while a command works: an `up` stops at its next step and rolls back; a
 * `down` (or `gc`) finishes first, and the command then exits 130.
 */
import { warn } from './ui.js';

/**
 * Runs `work` with SIGINT and SIGTERM caught: the first one aborts the signal given to `work` (an `up` then
 * stops at its next batch and rolls back). Handlers are removed afterwards.
 */
export async function abortable<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const on = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) return;
    warn(`${sig}: stopping ${what} at the next step and rolling back what it did`);
    ac.abort(sig);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return await work(ac.signal);
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  }
}

/** Runs `work` with SIGINT and SIGTERM deferred: it finishes, then the command exits 130. */
export async function uninterruptible<T>(what: string, work: () => Promise<T>): Promise<T> {
  let caught: string | undefined;
  const on = (sig: NodeJS.Signals) => {
    if (caught === undefined) warn(`${sig}: finishing ${what} first`);
    caught ??= sig;
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return await work();
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
    if (caught !== undefined) {
      warn(`interrupted (${caught}) during ${what}, which was finished first`);
      process.exitCode = 130;
    }
  }
}
