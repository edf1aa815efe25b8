/**
 * The CLI and private labs: a command about a private lab runs inside the lab's sandbox, by running nslab again
 * there (`nsenter -t INIT -U -m -p -n -- node nslab ARGS...`, stdio passed through, so that `nslab exec` stays
 * interactive), and `up` of a private lab makes its sandbox first.
 *
 * `privateDispatch` decides before anything heavy is loaded (no koffi, yaml, zod or renderer): from the command
 * line and the records of private labs alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { listRecorded, recordedKeys } from '../apply/store.js';
import { privileged } from '../lab/privilege.js';
import { insideSandbox, joinCommand, sandboxEnv } from '../sandbox/inside.js';
import { liveRecord, liveRecords, type PrivateRecord } from '../sandbox/records.js';
import { NslabError } from '../sys/errors.js';
import { childProcess } from '../sys/lazy.js';

/** Options that take a value, so that the value is not read as the command's argument. */
const VALUE_OPTIONS = new Set([
  '--host-netns',
  '--grace',
  '--lab',
  '--family',
  '--addresses',
  '--timeout',
  '--wait',
  '-f',
  '--format',
  '-o',
  '--output',
  '--rate',
  '--loss',
  '--delay',
  '--jitter',
  '--name',
]);

/** Commands about one lab, and which of their arguments names it (a file or a lab name). */
const LAB_ARGUMENT: Record<string, number> = {
  status: 0,
  down: 0,
  ping: 0,
  check: 0,
  plan: 0,
  graph: 0,
  logs: 0,
  link: 1,
  impair: 0,
  partition: 0,
  heal: 0,
  addr: 0,
  play: 0,
};

interface Parsed {
  command?: string;
  args: string[];
  options: Map<string, string | true>;
}

/** The command, its arguments and its options, as far as deciding needs (commander parses for real later). */
function scan(argv: string[]): Parsed {
  const out: Parsed = { args: [], options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break; // `exec NODE -- CMD...`: what follows is the command's
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const key = eq > 0 ? a.slice(0, eq) : a;
      if (eq > 0) out.options.set(key, a.slice(eq + 1));
      else if (VALUE_OPTIONS.has(key) && i + 1 < argv.length) out.options.set(key, argv[++i]);
      else if (key === '--live' && out.command === 'graph' && argv[i + 1] && !argv[i + 1].startsWith('-'))
        out.options.set(key, argv[++i]); // `graph --live NAME`
      else out.options.set(key, true);
      continue;
    }
    if (out.command === undefined) out.command = a;
    else out.args.push(a);
  }
  return out;
}

/** True when `arg` names a topology file rather than a lab (as `Lab.isFileArgument` decides). */
function isFile(arg: string): boolean {
  return /\.ya?ml$/.test(arg) || existsSync(arg);
}

/** The private lab `arg` names: by name, or the one made from that file. */
function byArgument(arg: string): PrivateRecord | undefined {
  if (!isFile(arg)) return liveRecord(arg);
  const file = resolve(arg);
  const made = liveRecords().filter((r) => r.file === file);
  if (made.length > 1)
    throw new NslabError(
      `several private labs are up from ${arg} (${made.map((r) => r.name).join(', ')}): name one of them`,
      2,
    );
  return made[0];
}

/** The private lab that has node `node`, when it is the only lab that has one. */
function byNode(node: string): PrivateRecord | undefined {
  const own = liveRecords().filter((r) => r.nodes?.includes(node));
  if (own.length === 0) return undefined;
  // Labs of the machine count only for who may use them. Their ledgers are read only now: a private lab has it.
  const machine = privileged() ? machineLabsWithNode(node) : [];
  if (own.length + machine.length > 1) {
    const names = [...machine, ...own.map((r) => `${r.name} (private)`)];
    throw new NslabError(
      `several labs have a node called ${node} (${names.join(', ')}): choose one with --lab NAME`,
      2,
    );
  }
  return own[0];
}

/** The machine's labs that have node `node` (their ledgers are JSON files: nothing heavy is needed to read them). */
function machineLabsWithNode(node: string): string[] {
  return listRecorded()
    .filter((l) => l.ledger?.applied.nodes.some((n) => n.name === node))
    .map((l) => l.lab);
}

/** The private lab a command line is about, or undefined when it is about none (or runs inside one already). */
export function privateTarget(argv: string[]): PrivateRecord | undefined {
  if (insideSandbox()) return undefined;
  const p = scan(argv);
  if (p.command === undefined || p.options.has('--host-netns')) return undefined;
  if (p.command === 'exec') {
    const lab = p.options.get('--lab');
    if (typeof lab === 'string') return byArgument(lab);
    return p.args[0] === undefined ? undefined : byNode(p.args[0]);
  }
  const at = LAB_ARGUMENT[p.command];
  if (at === undefined) return undefined;
  if (p.command === 'check' && p.options.has('--predict')) return undefined;
  if (p.command === 'graph' && !p.options.has('--live')) return undefined;
  const live = p.options.get('--live');
  const arg = p.args[at] ?? (p.command === 'graph' && typeof live === 'string' ? live : undefined);
  return arg === undefined ? undefined : byArgument(arg);
}

/**
 * Runs this very command line again inside the sandbox of `r`, with the terminal passed through, and resolves
 * with its exit code. Signals sent to this process are passed on to it (Ctrl-C reaches it from the terminal too);
 * this process waits for it whatever they are.
 */
export function runInside(r: PrivateRecord, argv: string[]): Promise<number> {
  const cmd = [...joinCommand(r), process.execPath, ...process.execArgv, process.argv[1], ...argv];
  const child = childProcess().spawn(cmd[0], cmd.slice(1), { stdio: 'inherit', env: sandboxEnv(r) });
  const pass = (sig: NodeJS.Signals) => {
    // nsenter forked the command into the sandbox's pid namespace, and passes nothing on itself.
    for (const pid of childrenOfPid(child.pid)) {
      try {
        process.kill(pid, sig);
      } catch {
        // ended meanwhile
      }
    }
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, pass);
  return new Promise((done) => {
    const finish = (code: number) => {
      for (const s of signals) process.off(s, pass);
      done(code);
    };
    child.on('error', (e) => {
      process.stderr.write(`error: cannot enter the sandbox of private lab ${r.name}: ${e.message}\n`);
      finish(1);
    });
    child.on('exit', (code, signal) => {
      finish(code ?? 128 + (signal ? signalNumber(signal) : 0));
    });
  });
}

function childrenOfPid(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

/**
 * When the command line is about a private lab: runs it inside the lab's sandbox and resolves with the exit code
 * (after `down`, the sandbox is removed too). Undefined when it is not: the CLI then runs as usual.
 */
export async function privateDispatch(argv: string[]): Promise<number | undefined> {
  let r: PrivateRecord | undefined;
  try {
    r = privateTarget(argv);
  } catch (e) {
    if (!(e instanceof NslabError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
  if (!r) return undefined;
  const code = await runInside(r, argv);
  if (scan(argv).command === 'down') await removeSandbox(r, code);
  return code;
}

/** After `down` inside: the sandbox goes, with whatever the lab left in it. */
async function removeSandbox(r: PrivateRecord, code: number): Promise<void> {
  const { stopSandbox } = await import('../sandbox/holder.js');
  const { removeRecord } = await import('../sandbox/records.js');
  await stopSandbox(r);
  removeRecord(r);
  if (code !== 0)
    process.stderr.write(`the sandbox of private lab ${r.name} was removed, and everything in it with it\n`);
}

let given: string[] = [];

/** Remembers the command line (main does), to be run again inside a sandbox. */
export function rememberCommandLine(argv: string[]): void {
  given = [...argv];
}

/** The command line main was given. */
export function commandLine(): string[] {
  return given;
}

/** What `up` was given that decides where its lab is made. */
export interface UpFlags {
  private?: boolean;
  hostNetns?: string;
  dryRun?: boolean;
}

/**
 * `up` of a private lab (asked with --private, written `private: true` in the file, already up privately, or made
 * by a user who is not root, which is then said in one line): the sandbox is made when the lab has none (detached:
 * it outlives this command, until `nslab down`), and `up` runs again inside it. A sandbox made here is removed
 * again when that `up` fails, is interrupted, or was a dry run. Resolves with the exit code, or undefined when
 * the lab is not private (the caller then goes on as usual).
 */
export async function upInSandbox(
  lab: { name: string; file?: string; private?: boolean; nodes: { name: string }[] },
  o: UpFlags,
  argv: string[],
): Promise<number | undefined> {
  if (insideSandbox()) return undefined;
  const root = privileged();
  let record = liveRecord(lab.name);
  // A lab of the machine unless asked (or written) otherwise: for root, and always with --host-netns.
  if (!o.private && !lab.private && root && (!record || o.hostNetns !== undefined)) return undefined;
  if (o.hostNetns !== undefined)
    throw new NslabError(
      `lab ${lab.name} is private: it has a host namespace of its own, and cannot use ${o.hostNetns} of the machine (--host-netns)${root ? '' : ', which only root may do'}`,
      2,
    );
  if (!root && !o.private && !lab.private && !record)
    process.stderr.write(
      `not root: lab ${lab.name} is made private, in a sandbox of its own (the machine's \`ip netns list\` does not show it)\n`,
    );
  if (!record && root && recordedKeys(lab.name).length > 0)
    throw new NslabError(
      `a lab named ${lab.name} is up on the machine (not private): give the private one another name (--name NAME)`,
      2,
    );
  const { startHolder, stopSandbox } = await import('../sandbox/holder.js');
  const { createRecord, removeRecord, updateRecord } = await import('../sandbox/records.js');
  let made = false;
  while (!record) {
    const holder = await startHolder({ detached: true });
    const now = new Date().toISOString();
    const fresh: PrivateRecord = {
      version: 1,
      name: lab.name,
      ...holder.sandbox,
      ...(lab.file ? { file: resolve(lab.file) } : {}),
      nodes: lab.nodes.map((n) => n.name),
      createdAt: now,
      updatedAt: now,
    };
    if (createRecord(fresh)) {
      holder.release();
      record = fresh;
      made = true;
    } else {
      // Another `up` of this lab made its sandbox meanwhile: this one goes in there too (its lock serialises).
      await holder.abandon();
      record = liveRecord(lab.name);
    }
  }
  const code = await runInside(record, argv);
  if (made && (code !== 0 || o.dryRun)) {
    await stopSandbox(record);
    removeRecord(record);
  } else if (code === 0) {
    updateRecord({
      ...record,
      nodes: lab.nodes.map((n) => n.name),
      ...(lab.file ? { file: resolve(lab.file) } : {}),
    });
  }
  return code;
}
