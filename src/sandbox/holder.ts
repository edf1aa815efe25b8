/**
 * The sandbox of a private lab: a holder process in new namespaces, in which the lab is made exactly as on a
 * machine of its own.
 *
 * ```sh
 * [setpriv --pdeathsig KILL --] unshare [--user --map-root-user] --mount --net --pid --fork \
 *     --kill-child=SIGKILL --mount-proc --propagation private -- sh -c 'mount -t tmpfs ... /run/netns; ...'
 * ```
 *
 * `unshare` (the holder) enters a new user namespace (when not root: it maps the user to root there), a new mount
 * namespace whose mounts do not propagate back, and a new network namespace that plays the lab's host; its child is
 * process 1 of a new pid namespace, a shell that puts private tmpfs on /run/netns and /run/nslab and then only
 * reaps orphans. Every process of the lab runs in that pid namespace, so the kernel kills them all when process 1
 * dies, and then frees the namespaces: SIGKILL to the holder (`--kill-child` passes it on) leaves nothing. Without
 * `detached`, `--pdeathsig` ties the holder to the process that made it: that process ending, however, ends the lab.
 *
 * A multi-threaded process (Node) cannot enter a user or mount namespace (setns(2) answers EINVAL): everything is
 * done by processes started inside (see inside.ts, `joinCommand`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { NslabError } from '../sys/errors.js';
import * as sys from '../sys/libc.js';
import { SANDBOX_STATE_DIR } from './inside.js';
import { isRunning, type PrivateRecord, processStart, type RecordedProcess } from './records.js';

/** How long a holder may take to get its mounts in place. */
const START_TIMEOUT_MS = 10_000;

/** A holder started and ready, waiting for `release` (or `abandon`). */
export interface StartedHolder {
  /** What the lab's record must say about the sandbox (name and times to be filled in by the caller). */
  sandbox: Pick<PrivateRecord, 'uid' | 'userns' | 'detached' | 'holder' | 'init' | 'mnt'>;
  /**
   * Lets the sandbox live on: until this is called, the holder ends by itself as soon as its maker does (its
   * standard input reaches end of file), so that a maker killed before it recorded the sandbox leaves nothing.
   */
  release(): void;
  /** Kills the sandbox and everything in it. */
  abandon(): Promise<void>;
}

const NETNS_DIR = '/run/netns';

/**
 * The shell that is process 1 of the sandbox: the mounts, the ready line, then (after `go` on its input) only
 * reaping. Process 1 of a pid namespace inherits every orphan: `wait` in dash reaps any child, so a daemon
 * started with `&` and stopped later does not stay a zombie.
 */
function initScript(mountRun: boolean): string {
  const tmpfs = (dir: string) => `mount -t tmpfs -o mode=0755 nslab ${dir}`;
  const mounts = mountRun
    ? // /run/netns or /run/nslab is missing on the machine and may not be made by this user: a private /run.
      [tmpfs('/run'), `mkdir -p ${NETNS_DIR} ${SANDBOX_STATE_DIR}`]
    : [tmpfs(NETNS_DIR), tmpfs(SANDBOX_STATE_DIR)];
  return [
    'set -e',
    ...mounts,
    'echo ready',
    'read -r go || exit 0',
    '[ "$go" = go ] || exit 0',
    'set +e',
    'exec </dev/null >/dev/null 2>&1',
    'while :; do sleep infinity & wait; done',
  ].join('\n');
}

/** The children of process `pid` (`/proc/PID/task/PID/children`). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((x) => x !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function recorded(pid: number): RecordedProcess {
  const start = processStart(pid);
  if (start === undefined) throw new NslabError(`the sandbox's process ${pid} ended while it was starting`);
  return { pid, start };
}

/**
 * Starts a sandbox and waits until its mounts are in place. As root no user namespace is made (root needs none,
 * and keeps what only the initial user namespace may do, such as SO_RCVBUFFORCE).
 */
export async function startHolder(opts: { detached: boolean }): Promise<StartedHolder> {
  const uid = process.geteuid?.() ?? 0;
  const userns = uid !== 0;
  let mountRun = false;
  for (const dir of [NETNS_DIR, SANDBOX_STATE_DIR]) {
    if (existsSync(dir)) continue;
    if (userns) mountRun = true;
    else mkdirSync(dir, { recursive: true, mode: 0o755 });
  }
  const argv = [
    ...(opts.detached ? [] : ['setpriv', '--pdeathsig', 'KILL', '--']),
    'unshare',
    ...(userns ? ['--user', '--map-root-user'] : []),
    '--mount',
    '--net',
    '--pid',
    '--fork',
    '--kill-child=SIGKILL',
    '--mount-proc',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    initScript(mountRun),
  ];
  // cwd /: the sandbox never keeps the caller's directory busy. detached: a session of its own (setsid), so that
  // the terminal's signals and the end of the CLI's process group do not reach it.
  const child = spawn(argv[0], argv.slice(1), { cwd: '/', detached: opts.detached, stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  try {
    await ready(child, () => stderr);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const holderPid = child.pid!;
  try {
    const [init] = childrenOf(holderPid);
    if (init === undefined) throw new NslabError('the sandbox has no process 1');
    const sandbox = {
      uid,
      userns,
      detached: opts.detached,
      holder: recorded(holderPid),
      init: recorded(init),
      mnt: readlinkSync(`/proc/${init}/ns/mnt`),
    };
    let released = false;
    return {
      sandbox,
      release() {
        if (released) return;
        released = true;
        child.stdin.end('go\n');
        child.stdout.destroy();
        child.stderr.destroy();
        child.unref();
      },
      abandon: async () => {
        child.stdin.destroy();
        await stopSandbox(sandbox);
      },
    };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}

/** Resolves once the holder says `ready`; rejects with what it printed when it ends first or takes too long. */
function ready(child: ChildProcess, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      const said = stderr().trim();
      reject(
        new NslabError(
          `cannot make the sandbox of a private lab: ${why}${said ? `: ${said}` : ''}` +
            (said.includes('Operation not permitted') || said.includes('Permission denied')
              ? ' (this machine may not allow user namespaces to users: see /proc/sys/user/max_user_namespaces and kernel.unprivileged_userns_clone)'
              : ''),
        ),
      );
    };
    const timer = setTimeout(
      () => fail(`it was not ready after ${START_TIMEOUT_MS / 1000} s`),
      START_TIMEOUT_MS,
    );
    child.on('error', (e) => fail(`${(e as Error).message} (util-linux's unshare and setpriv are needed)`));
    child.on('exit', (code, signal) => fail(`unshare ended (${signal ?? `exit code ${code}`})`));
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        resolve();
      }
    });
  });
}

/** SIGKILL through a pidfd to `p` if it still is the recorded process; the pidfd (to wait on), or undefined. */
function kill(p: RecordedProcess): number | undefined {
  const fd = sys.pidfdOpen(p.pid);
  if (fd === undefined) return undefined;
  // Checked once the pidfd is open: the process it holds cannot be replaced any more.
  if (!isRunning(p) || !sys.pidfdSendSignal(fd, 9)) {
    sys.close(fd);
    return undefined;
  }
  return fd;
}

/**
 * Kills a sandbox: SIGKILL to its process 1 (the kernel then kills every process in its pid namespace) and to the
 * holder, and waits until both have exited. A process that is no longer the recorded one is left alone.
 */
export async function stopSandbox(
  s: Pick<PrivateRecord, 'holder' | 'init'>,
  timeoutMs = 10_000,
): Promise<boolean> {
  let fds = [kill(s.init), kill(s.holder)].filter((fd): fd is number => fd !== undefined);
  const deadline = performance.now() + timeoutMs;
  while (fds.length > 0 && performance.now() < deadline) {
    const exited = new Set(sys.pollIn(fds, 10));
    for (const fd of exited) sys.close(fd);
    fds = fds.filter((fd) => !exited.has(fd));
    if (fds.length > 0) await sleep(0);
  }
  for (const fd of fds) sys.close(fd);
  return fds.length === 0;
}
