/**
 * `lab.exec`: a command run inside a node to its end, its output collected (or the terminal passed through),
 * stopped at a timeout.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { NslabError } from '../sys/errors.js';

export interface ExecOptions {
  /** `inherit` passes the terminal through; `pipe` (default) collects stdout and stderr. */
  stdio?: 'inherit' | 'pipe';
  /** Written to the command's stdin (then closed). */
  input?: string;
  /** Killed (SIGKILL, with its process group when its output is collected) after this many ms: code 124. */
  timeoutMs?: number;
}

export interface ExecResult {
  /** Its exit status; 128 + the signal's number when a signal ended it; 124 when the timeout did. */
  code: number;
  stdout: string;
  stderr: string;
  /** True when `timeoutMs` ran out and the command was killed. */
  timedOut?: boolean;
}

/**
 * Runs `argv` through `spawn` (which starts it inside the node) to its end. With its output collected, the
 * command gets a process group of its own, so that a timeout kills whatever it started too; with the terminal
 * passed through it stays in the terminal's group (Ctrl-C reaches it, and it may read the terminal).
 */
export function execIn(
  spawn: (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess,
  node: string,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  if (argv.length === 0) throw new NslabError('exec needs a command to run', 2);
  const inherit = opts.stdio === 'inherit';
  const child = spawn(argv[0], argv.slice(1), {
    stdio: inherit ? 'inherit' : [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: !inherit && opts.timeoutMs !== undefined,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  if (child.stdin) {
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input);
  }
  let timedOut = false;
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          try {
            if (child.pid !== undefined) process.kill(inherit ? child.pid : -child.pid, 'SIGKILL');
          } catch {
            // exited meanwhile
          }
        }, opts.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new NslabError(`cannot run ${argv[0]} in ${node}: ${e.message}`, 1, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        resolve({ code: 124, stdout, stderr, timedOut: true });
        return;
      }
      const sig = signal ? 128 + (osConstants.signals[signal] ?? 0) : 0;
      resolve({ code: code ?? sig, stdout, stderr });
    });
  });
}
