/**
 * Where nslab records what it owns: one JSON ledger per lab under /run/nslab (tmpfs: a reboot, which takes the
 * namespaces away, takes the ledgers too) and an append-only journal next to it while a run is going on (the
 * lock of each lab is in lock.ts).
 *
 * Every file is opened without following symlinks (O_NOFOLLOW), with an explicit mode (umask does not matter),
 * and replaced by writing a uniquely named temporary file in the same directory and renaming it.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ExecDone, Ledger, OwnedNamespace, ProcessRecord } from '../plan/types.js';
import { NslabError } from '../sys/errors.js';
import { readFileNoFollow, writeFileAtomic } from '../sys/files.js';
import { randomHex } from '../sys/lazy.js';

/** Directory of ledgers, journals and locks; NSLAB_STATE_DIR overrides it. */
export function stateDir(): string {
  return process.env.NSLAB_STATE_DIR ?? '/run/nslab';
}

/** Key of a lab on this machine: its name, and the namespace playing the host when it is not the real one. */
export function labKey(lab: string, hostNetns: string | null): string {
  return hostNetns ? `${lab}@${hostNetns}` : lab;
}

/** The lab and host namespace of a key (lab names never hold '@'; namespace names may). */
export function parseLabKey(key: string): { lab: string; hostNetns: string | null } {
  const at = key.indexOf('@');
  return at < 0 ? { lab: key, hostNetns: null } : { lab: key.slice(0, at), hostNetns: key.slice(at + 1) };
}

/** The ledger of a lab cannot be read: nothing is assumed from it, and nothing is changed. */
export class LedgerDamagedError extends NslabError {
  readonly lab: string;
  readonly hostNetns: string | null;
  constructor(lab: string, hostNetns: string | null, file: string, why: string) {
    const host = hostNetns ? ` --host-netns ${hostNetns}` : '';
    super(
      `the ledger of lab ${lab} (${file}) is damaged: ${why}. nslab trusts nothing in it and changed nothing; ` +
        `\`nslab down --force ${lab}${host}\` removes what carries the lab's mark (its devices, its namespaces and ` +
        `the processes in them), found from the kernel alone`,
      1,
    );
    this.name = 'LedgerDamagedError';
    this.lab = lab;
    this.hostNetns = hostNetns;
  }
}

const O_NOFOLLOW = constants.O_NOFOLLOW;

/**
 * Makes the state directory exist (mode 0755, root's), and refuses one that another user could write into or
 * that is a symlink: every decision about what to delete is read from it.
 */
export function ensureStateDir(): string {
  const dir = stateDir();
  try {
    // mkdir's mode goes through the umask: set it explicitly on a directory made now.
    if (mkdirSync(dir, { recursive: true, mode: 0o755 }) !== undefined) chmodSync(dir, 0o755);
  } catch (e) {
    throw new NslabError(`cannot create the state directory ${dir}: ${(e as Error).message}`);
  }
  const st = lstatSync(dir);
  const euid = process.geteuid?.() ?? 0;
  if (!st.isDirectory() || (st.uid !== euid && st.uid !== 0) || (st.mode & 0o022) !== 0) {
    throw new NslabError(
      `the state directory ${dir} is not a directory owned by root and writable by it alone ` +
        `(${st.isSymbolicLink() ? 'a symlink' : `mode ${(st.mode & 0o7777).toString(8)}, owner ${st.uid}`}): ` +
        'nslab will not trust or write its ledgers there',
    );
  }
  return dir;
}

/** Reads a state file without following a symlink; undefined when it does not exist. */
export function readStateFileText(file: string): string | undefined {
  return readFileNoFollow(file);
}

/**
 * Replaces a state file atomically: a temporary file with a unique name, created exclusively without following
 * links and with mode `mode` (fchmod: the umask does not matter), then renamed over the file.
 */
export function writeStateFile(file: string, text: string, mode = 0o644): void {
  ensureStateDir();
  writeFileAtomic(file, text, mode);
}

function ledgerFile(key: string): string {
  return join(stateDir(), `${key}.json`);
}

/** True when a ledger (readable or not) exists for the key. */
export function ledgerExists(key: string): boolean {
  try {
    lstatSync(ledgerFile(key));
    return true;
  } catch {
    return false;
  }
}

function journalFile(key: string): string {
  return join(stateDir(), `${key}.journal`);
}

const isString = (x: unknown): x is string => typeof x === 'string';
const isArrayOf = (x: unknown, item: (y: unknown) => boolean) => Array.isArray(x) && x.every(item);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/** Why `x` is not a ledger nslab can act on, or undefined when it is one. */
function ledgerProblem(x: unknown, lab: string, hostNetns: string | null): string | undefined {
  if (!isObject(x)) return 'it is not a JSON object';
  if (x.version === undefined)
    return 'it was written by an older nslab, which did not record the identity of the namespaces it made';
  if (x.version !== 2) return `it has format version ${String(x.version)}, which this nslab does not know`;
  if (x.lab !== lab) return `it names lab ${String(x.lab)}`;
  if (x.hostNetns !== hostNetns) return `it names host namespace ${String(x.hostNetns)}`;
  const applied = x.applied;
  if (!isObject(applied) || !Array.isArray(applied.nodes) || !Array.isArray(applied.links))
    return 'the applied lab is missing';
  if (!isArrayOf(x.namespaces, isString)) return 'the namespace list is not a list of names';
  const id = (y: unknown) =>
    isObject(y) && isString(y.name) && Number.isInteger(y.dev) && Number.isInteger(y.ino);
  if (!isArrayOf(x.identities, id)) return 'the namespace identities are not readable';
  if (!isArrayOf(x.hostLinks, isString)) return 'the host device list is not a list of names';
  if (!isArrayOf(x.hostAddrs, (a) => isObject(a) && isString(a.dev) && isString(a.cidr)))
    return 'the host address list is not readable';
  if (!isArrayOf(x.hostRoutes, (r) => isObject(r) && isString(r.dst)))
    return 'the host route list is not readable';
  if (
    !isArrayOf(x.sysctls, (s) => isObject(s) && isString(s.node) && isString(s.key) && isString(s.previous))
  )
    return 'the sysctl list is not readable';
  if (!isArrayOf(x.execDone, (e) => isObject(e) && isString(e.node) && Number.isInteger(e.index)))
    return 'the list of exec: entries done is not readable';
  const proc = (p: unknown) =>
    isObject(p) &&
    isString(p.node) &&
    isString(p.name) &&
    Number.isInteger(p.pid) &&
    Number.isInteger(p.startTime) &&
    Number.isInteger(p.ino);
  if (x.processes !== undefined && !isArrayOf(x.processes, proc)) return 'the process list is not readable';
  return undefined;
}

/** One line of a journal: a namespace made (with its identity) or deleted, or an `exec:` entry finished. */
type JournalEntry =
  | ({ t: 'ns' } & OwnedNamespace)
  | { t: 'ns-del'; name: string }
  | ({ t: 'exec' } & ExecDone)
  | ({ t: 'proc' } & ProcessRecord)
  | { t: 'proc-stop'; node: string; name: string; pid: number };

/** What a journal records, in order; a last line cut short by a kill is ignored. */
function readJournal(key: string, lab: string, hostNetns: string | null): JournalEntry[] {
  const file = journalFile(key);
  const text = readStateFileText(file);
  if (text === undefined) return [];
  const lines = text.split('\n');
  const out: JournalEntry[] = [];
  lines.forEach((line, i) => {
    if (line === '') return;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // The last line may be cut short by a kill during its write; one before it is damage.
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l !== ''))
        throw new LedgerDamagedError(lab, hostNetns, file, `line ${i + 1} of its journal is not readable`);
    }
  });
  return out;
}

/** The ledger with what the journal of an unfinished run adds: namespaces made and deleted, `exec:` entries done. */
function fold(ledger: Ledger, journal: JournalEntry[]): Ledger {
  if (journal.length === 0) return ledger;
  const ids = new Map(ledger.identities.map((id) => [id.name, id]));
  const names = new Set(ledger.namespaces);
  const done = new Map(ledger.execDone.map((e) => [`${e.node}\u0000${e.index}`, e]));
  const procs = new Map((ledger.processes ?? []).map((p) => [`${p.node}\u0000${p.name}`, p]));
  for (const e of journal) {
    if (e.t === 'proc') {
      const { t: _, ...rec } = e;
      procs.set(`${e.node}\u0000${e.name}`, rec);
      continue;
    }
    if (e.t === 'proc-stop') {
      const key = `${e.node}\u0000${e.name}`;
      if (procs.get(key)?.pid === e.pid) procs.delete(key);
      continue;
    }
    if (e.t === 'ns') {
      ids.set(e.name, { name: e.name, dev: e.dev, ino: e.ino });
      names.add(e.name);
    } else if (e.t === 'ns-del') ids.delete(e.name);
    else if (e.t === 'exec')
      done.set(`${e.node}\u0000${e.index}`, { node: e.node, index: e.index, command: e.command, ino: e.ino });
  }
  // An entry done in a namespace that is gone, or was made again since, is to be run again.
  const netnsOf = new Map(ledger.applied.nodes.map((n) => [n.name, n.netns]));
  const execDone = [...done.values()].filter((d) => {
    const id = ids.get(netnsOf.get(d.node) ?? '');
    return id !== undefined && (d.ino === undefined || d.ino === id.ino);
  });
  const processes = [...procs.values()];
  return {
    ...ledger,
    namespaces: [...names],
    identities: [...ids.values()],
    execDone,
    ...(processes.length > 0 || ledger.processes ? { processes } : {}),
  };
}

/**
 * The ledger of a lab, with its journal folded in (what a run killed half way made), or undefined when the lab
 * is not recorded. Throws LedgerDamagedError when the ledger cannot be trusted.
 */
export function readLedger(lab: string, hostNetns: string | null): Ledger | undefined {
  const key = labKey(lab, hostNetns);
  const file = ledgerFile(key);
  const text = readStateFileText(file);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new LedgerDamagedError(
      lab,
      hostNetns,
      file,
      text.trim() === '' ? 'it is empty' : `it is not valid JSON (${(e as Error).message})`,
    );
  }
  const problem = ledgerProblem(parsed, lab, hostNetns);
  if (problem) throw new LedgerDamagedError(lab, hostNetns, file, problem);
  return fold(parsed as Ledger, readJournal(key, lab, hostNetns));
}

/** Writes the ledger atomically; the journal, now folded into it, is removed. */
export function writeLedger(ledger: Ledger): void {
  const key = labKey(ledger.lab, ledger.hostNetns);
  writeStateFile(ledgerFile(key), `${JSON.stringify(ledger)}\n`);
  rmSync(journalFile(key), { force: true });
}

/** Removes the ledger and the journal of a lab (it is down). */
export function removeLedger(lab: string, hostNetns: string | null): void {
  const key = labKey(lab, hostNetns);
  rmSync(ledgerFile(key), { force: true });
  rmSync(journalFile(key), { force: true });
}

/**
 * The journal of a run: one short line appended (O_APPEND, one write each) per namespace made or deleted and per
 * `exec:` entry finished, so that a run killed at any point leaves what it made recorded, without rewriting the
 * ledger a thousand times. `writeLedger` folds it in and removes it.
 */
export class Journal {
  private readonly fd: number;

  constructor(lab: string, hostNetns: string | null) {
    ensureStateDir();
    const file = journalFile(labKey(lab, hostNetns));
    this.fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | O_NOFOLLOW, 0o644);
    fchmodSync(this.fd, 0o644);
  }

  private append(e: JournalEntry): void {
    writeSync(this.fd, `${JSON.stringify(e)}\n`);
  }

  /** A namespace was made, with this identity (recorded before it gets its name). */
  made(ns: OwnedNamespace): void {
    this.append({ t: 'ns', ...ns });
  }

  /** A namespace is about to be deleted (recorded first: its identity may be given to a namespace made later). */
  deleting(name: string): void {
    this.append({ t: 'ns-del', name });
  }

  /** An `exec:` entry ran to its end. */
  ran(e: ExecDone): void {
    this.append({ t: 'exec', ...e });
  }

  /** Named processes this run started, in order (what `started` recorded). */
  readonly processes: ProcessRecord[] = [];

  /** A named process was started (recorded as soon as its pid is known, before its ready check). */
  started(p: ProcessRecord): void {
    this.processes.push(p);
    this.append({ t: 'proc', ...p });
  }

  /** A named process was stopped. */
  stopped(node: string, name: string, pid: number): void {
    this.append({ t: 'proc-stop', node, name, pid });
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** A lab recorded on this machine: its ledger, or why it cannot be read. */
export interface RecordedLab {
  lab: string;
  hostNetns: string | null;
  ledger?: Ledger;
  /** Set when the ledger is damaged: the sentence saying so. */
  damaged?: LedgerDamagedError;
}

/** The labs recorded in the state directory, from the file names alone (nothing is read): optionally of one name. */
export function recordedKeys(lab?: string): { lab: string; hostNetns: string | null }[] {
  let files: string[];
  try {
    files = readdirSync(stateDir());
  } catch {
    return [];
  }
  return files
    .sort()
    .filter((f) => f.endsWith('.json') && !f.startsWith('+') && !f.includes('.tmp'))
    .map((f) => parseLabKey(f.slice(0, -'.json'.length)))
    .filter((k) => lab === undefined || k.lab === lab);
}

/**
 * Every recorded lab (deployed and not yet taken down), damaged ledgers included; with `lab`, only the ledgers
 * of that name are read.
 */
export function listRecorded(lab?: string): RecordedLab[] {
  const out: RecordedLab[] = [];
  for (const { lab: name, hostNetns } of recordedKeys(lab)) {
    try {
      const ledger = readLedger(name, hostNetns);
      if (ledger) out.push({ lab: name, hostNetns, ledger });
    } catch (e) {
      if (!(e instanceof LedgerDamagedError)) throw e;
      out.push({ lab: name, hostNetns, damaged: e });
    }
  }
  return out;
}

/**
 * An unnamed file in the state directory (O_TMPFILE), open for reading and writing, for the output of an `exec:`
 * entry: nothing is left behind whenever nslab dies. Where O_TMPFILE is not supported, a file made and unlinked
 * at once.
 */
export function anonymousFile(): number {
  const dir = ensureStateDir();
  const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;
  try {
    return openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    const file = join(dir, `+exec-${process.pid}-${randomHex(6)}`);
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
    rmSync(file, { force: true });
    return fd;
  }
}
