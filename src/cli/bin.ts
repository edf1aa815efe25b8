#!/usr/bin/env node
import { privateDispatch } from './private.js';
import { quickExec } from './quick-exec.js';

// Output piped into `head` and the like: stop quietly when the reader goes away.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const argv = process.argv.slice(2);
// A command about a private lab runs inside its sandbox: decided before the rest of nslab is loaded.
const inside = await privateDispatch(argv);
// `nslab exec NODE -- CMD`, most often: from the ledgers alone when they settle it, without the library.
const quick = inside === undefined ? await quickExec(argv) : undefined;
if (inside !== undefined) process.exitCode = inside;
else if (quick !== undefined) process.exitCode = quick;
else {
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
