#!/usr/bin/env node
import { privateDispatch } from './private.js';

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
if (inside !== undefined) process.exitCode = inside;
else {
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
