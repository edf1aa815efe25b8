/**
 * Node's own modules that cost start-up, loaded on first use. node:child_process brings node:net with it: about
 * 10 ms of every command that never starts a process (`nslab --help`, `status`), when imported at the top.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let childProcessModule: typeof import('node:child_process') | undefined;

/** node:child_process, loaded the first time it is asked for. */
export function childProcess(): typeof import('node:child_process') {
  childProcessModule ??= load('node:child_process') as typeof import('node:child_process');
  return childProcessModule;
}

let cryptoModule: typeof import('node:crypto') | undefined;

/**
 * `bytes` random bytes as hex, for names nobody can guess (temporary files): node:crypto is loaded by the first
 * call, not by every command that imports a module that may write a file (about 5 ms of `nslab --help`).
 */
export function randomHex(bytes: number): string {
  cryptoModule ??= load('node:crypto') as typeof import('node:crypto');
  return cryptoModule.randomBytes(bytes).toString('hex');
}
