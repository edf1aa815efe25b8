/**
 * An `exec:` entry: `ip netns exec NS sh -c CMD`, in its own session and process group, with a timeout, its
 * output streamed as it comes.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetnsHandle } from '../netns/handle.js';
import type { Op } from '../plan/types.js';
import { inView, type MountView } from '../proc/view.js';
import { NslabError } from '../sys/errors.js';
import { anonymousFile } from './store.js';

/** How long an `exec:` entry may run when its entry sets no timeout. */
const DEFAULT_EXEC_TIMEOUT_S = 60;

export interface ExecOptions {
  /** Aborted: the entry's process group is killed and 'interrupted' returned. */
  signal?: AbortSignal;
  /** Output as it comes (a first call with '' when the entry starts). */
  onExecData?: (node: string, command: string, text: string) => void;
  /** The whole output, once the entry has ended. */
  onExecOutput?: (node: string, command: string, output: string) => void;
  /** The node's mount view, when it has one (`files:`, `private:`). */
  view?: MountView;
}

/** At most this much of an `exec:` entry's output is kept for its error message. */
const KEPT_OUTPUT = 4096;

/**
 * Runs an `exec:` entry (`ip netns exec NS sh -c CMD`) in its own session and process group, its output streamed
 * as it comes. Output goes to an unnamed file in the state directory, not a pipe: a command that starts a daemon
 * (`iperf3 -s &`) leaves it holding the output, and waiting for a pipe's end would wait for the daemon. The
 * entry fails when still running at its timeout (its process group is killed); its caller journals it when done.
 */
export async function runExec(
  op: Extract<Op, { op: 'exec' }>,
  h: NetnsHandle,
  opts: ExecOptions,
): Promise<'done' | 'interrupted'> {
  const timeoutS = op.timeout ?? DEFAULT_EXEC_TIMEOUT_S;
  const fd = anonymousFile();
  let output = '';
  let offset = 0;
  const buf = Buffer.alloc(64 * 1024);
  const drain = () => {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) return;
      offset += n;
      const text = buf.subarray(0, n).toString('utf8');
      output = (output + text).slice(-KEPT_OUTPUT * 16);
      opts.onExecData?.(op.node, op.command, text);
    }
  };
  try {
    opts.onExecData?.(op.node, op.command, '');
    const argv = inView(opts.view, ['sh', '-c', op.command]);
    const child = h.spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (resolve) => {
        child.on('error', (error) => resolve({ code: null, signal: null, error }));
        child.on('exit', (code, signal) => resolve({ code, signal }));
      },
    );
    let ended: Awaited<typeof exit> | undefined;
    void exit.then((r) => {
      ended = r;
    });
    const deadline = performance.now() + timeoutS * 1000;
    let why: 'timeout' | 'interrupt' | undefined;
    while (!ended) {
      await Promise.race([exit, sleep(50, undefined, { ref: false })]);
      if (fstatSync(fd).size > offset) drain();
      if (ended) break;
      if (opts.signal?.aborted) why = 'interrupt';
      else if (performance.now() > deadline) why = 'timeout';
      if (why) {
        killGroup(child.pid);
        await exit;
        break;
      }
    }
    drain();
    opts.onExecOutput?.(op.node, op.command, output);
    if (why === 'interrupt') return 'interrupted';
    if (why === 'timeout') {
      throw new NslabError(
        `still running after ${timeoutS} s, so it was stopped: end a command that starts a daemon with \`&\` ` +
          `(nslab stops it at \`down\`), or give the entry a longer \`timeout:\` ` +
          `(\`exec: [{ command: "...", timeout: 300 }]\`)`,
      );
    }
    const r = ended!;
    if (r.error) throw r.error;
    if (r.code !== 0) {
      const shown = output.trim().slice(-KEPT_OUTPUT);
      throw new NslabError(`exited with status ${r.code ?? r.signal}${shown ? `: ${shown}` : ''}`);
    }
  } finally {
    closeSync(fd);
  }
  return 'done';
}

/** SIGKILL to the process group of an `exec:` entry (the shell and whatever it started). */
function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
