/**
 * Terminal output: colour only on a terminal (NO_COLOR honoured, FORCE_COLOR forces), errors as one sentence
 * (a stack trace only for nslab's own bugs, or with NSLAB_DEBUG=1), JSON when asked.
 */
import { writeFileSync } from 'node:fs';
import pc from 'picocolors';
import { NslabError } from '../sys/errors.js';

function colourWanted(stream: NodeJS.WriteStream): boolean {
  if ('NO_COLOR' in process.env && process.env.NO_COLOR !== '') return false;
  if ('FORCE_COLOR' in process.env && process.env.FORCE_COLOR !== '0') return true;
  return !!stream.isTTY && process.env.TERM !== 'dumb';
}

export const c = pc.createColors(colourWanted(process.stdout));
const ce = pc.createColors(colourWanted(process.stderr));

export function out(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function json(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`${ce.yellow('warning:')} ${text}\n`);
}

/** Prints an error and returns the exit code: NslabError's own (1 or 2), 1 for anything else. */
export function reportError(e: unknown): number {
  if (e instanceof NslabError) {
    const [first, ...rest] = e.message.split('\n');
    process.stderr.write(`${ce.red('error:')} ${first}\n${rest.map((l) => `  ${l}\n`).join('')}`);
    if (process.env.NSLAB_DEBUG) process.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`${ce.red('error:')} ${err?.message ?? String(e)}\n`);
  process.stderr.write(
    process.env.NSLAB_DEBUG
      ? `${err?.stack}\n`
      : `  (this is a bug in nslab: run again with NSLAB_DEBUG=1 for details, and report it)\n`,
  );
  return 1;
}

/**
 * A one-line progress display for long work, on a terminal only: `label 120/2000`. Returns the update and
 * finish functions; both do nothing when stderr is not a terminal.
 */
export function progress(label: string): {
  update: (done: number, total: number) => void;
  done: () => void;
  /** Erases the line, so that other output can be printed; the next update draws it again below. */
  clear: () => void;
} {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {}, clear: () => {} };
  let last = 0;
  let shown = false;
  const clear = () => {
    if (shown) process.stderr.write('\r\x1b[2K');
    shown = false;
    last = 0;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (total < 50 || (now - last < 80 && done < total)) return;
      last = now;
      shown = true;
      process.stderr.write(`\r${ce.dim(label)} ${done}/${total}`);
    },
    done: clear,
    clear,
  };
}

/** Writes an output file (`-o`); a path that cannot be written is the user's mistake (exit code 2). */
export function writeOutput(path: string, data: string | Buffer, mode = 0o644): void {
  try {
    writeFileSync(path, data, { mode });
  } catch (e) {
    throw new NslabError(`cannot write ${path}: ${(e as Error).message}`, 2);
  }
}
