#!/usr/bin/env node
// The CLI from its modules as tsc wrote them (no bundle, no code cache): what `npx tsx src/cli/bin.ts` and a build
// without esbuild run. The command on PATH is dist/cli/nslab.cjs (nslab.cts).
import { start } from './start.js';

process.exitCode = await start(process.argv.slice(2));
