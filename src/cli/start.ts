/**
 * What the `nslab` command does with its arguments, from either entry: dist/cli/nslab.cjs (the command on PATH,
 * running the bundle of the CLI; see nslab.cts) or dist/cli/bin.js (the modules as tsc wrote them).
 */
import { privateDispatch } from './private.js';
import { quickExec } from './quick-exec.js';
import { reportError } from './ui.js';

/** Runs one command line; resolves with its exit code. */
export async function start(argv: string[]): Promise<number> {
  // Output piped into `head` and the like: stop quietly when the reader goes away.
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  try {
    // A command about a private lab runs inside its sandbox: decided before the rest of nslab is loaded.
    const inside = await privateDispatch(argv);
    if (inside !== undefined) return inside;
    // `nslab exec NODE -- CMD`, most often: from the ledgers alone when they settle it, without the library.
    const quick = await quickExec(argv);
    if (quick !== undefined) return quick;
  } catch (e) {
    return reportError(e);
  }
  // main reports its own errors.
  const { main } = await import('./main.js');
  return main(argv);
}
