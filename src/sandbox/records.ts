/**
 * The records of private labs: one JSON file per lab in the user's own state directory
 * (`$XDG_RUNTIME_DIR/nslab/private/NAME.json`, else `/tmp/nslab-UID/private/NAME.json`, mode 0700), naming the
 * sandbox's holder process so that later commands can join it. Files only, no libc: the CLI reads these before it
 * loads anything heavy, to decide whether to re-execute itself inside a sandbox.
 *
 * A record is trusted only while the processes it names are the ones it recorded: same pid and same start time
 * (`/proc/PID/stat` field 22), since a pid is reused after its process is gone.
 */
import { linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NslabError } from '../sys/errors.js';
import { readFileNoFollow, writeFileAtomic } from '../sys/files.js';

/** A process as a record names it: its pid in the caller's pid namespace, and its start time in clock ticks. */
export interface RecordedProcess {
  pid: number;
  start: number;
}

/** What nslab keeps about a private lab outside its sandbox. */
export interface PrivateRecord {
  version: 1;
  /** Lab name: the ledger inside the sandbox has the same. */
  name: string;
  /** Who made it (the owner of the sandbox's user namespace). */
  uid: number;
  /** True when the sandbox has a user namespace of its own (made by a user who is not root). */
  userns: boolean;
  /** Made by the CLI, which leaves it running; false: it ends when the process that made it ends. */
  detached: boolean;
  /** `unshare`, which holds the sandbox's user, mount and network namespaces. */
  holder: RecordedProcess;
  /** Process 1 of the sandbox's pid namespace (a child of the holder): the process others join (nsenter -t). */
  init: RecordedProcess;
  /** The sandbox's mount namespace (`mnt:[INODE]`), which tells a process it runs inside. */
  mnt: string;
  /** Absolute path of the topology file, once the lab is up. */
  file?: string;
  /** Node names, once the lab is up (`nslab exec NODE` finds the lab by them). */
  nodes?: string[];
  createdAt: string;
  updatedAt: string;
}

/** The user's own state directory: `$XDG_RUNTIME_DIR/nslab` when that is a directory of this user, else /tmp. */
export function userStateDir(): string {
  const uid = process.geteuid?.() ?? 0;
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg?.startsWith('/')) {
    try {
      const st = lstatSync(xdg);
      if (st.isDirectory() && st.uid === uid) return join(xdg, 'nslab');
    } catch {
      // not there: use /tmp
    }
  }
  return `/tmp/nslab-${uid}`;
}

function recordsDir(): string {
  return join(userStateDir(), 'private');
}

function recordFile(name: string): string {
  return join(recordsDir(), `${name}.json`);
}

/**
 * Makes `dir` exist as this user's own directory (mode 0700), and refuses one that is a symlink, another user's,
 * or open to others: in /tmp anybody could have made it first, to read or forge records.
 */
function ownDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new NslabError(`cannot create ${dir}: ${(e as Error).message}`);
  }
  const st = lstatSync(dir);
  const uid = process.geteuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new NslabError(
      `${dir} is not a directory of user ${uid} closed to others ` +
        `(${st.isSymbolicLink() ? 'a symlink' : `mode ${(st.mode & 0o7777).toString(8)}, owner ${st.uid}`}): ` +
        'nslab keeps the records of private labs there, and will not trust or write it',
    );
  }
}

/** Makes the records directory exist (mode 0700, this user's) and returns it. */
export function ensureRecordsDir(): string {
  ownDirectory(userStateDir());
  const dir = recordsDir();
  ownDirectory(dir);
  return dir;
}

/**
 * Start time of process `pid` in clock ticks since boot (`/proc/PID/stat` field 22), or undefined when it is gone
 * or has ended (a zombie, not yet reaped by its parent, is no sandbox any more).
 */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** True while `p` is the very process recorded (a pid given to another process since does not count). */
export function isRunning(p: RecordedProcess): boolean {
  return processStart(p.pid) === p.start;
}

/** True while the sandbox of `r` exists: its process 1 runs (the kernel ends everything inside with it). */
export function recordAlive(r: PrivateRecord): boolean {
  return isRunning(r.init);
}

const isProcess = (x: unknown): x is RecordedProcess =>
  typeof x === 'object' &&
  x !== null &&
  Number.isInteger((x as RecordedProcess).pid) &&
  Number.isInteger((x as RecordedProcess).start);

function parseRecord(text: string, name: string): PrivateRecord | undefined {
  let r: PrivateRecord;
  try {
    r = JSON.parse(text) as PrivateRecord;
  } catch {
    return undefined;
  }
  if (r?.version !== 1 || r.name !== name || !isProcess(r.holder) || !isProcess(r.init)) return undefined;
  if (typeof r.mnt !== 'string' || !Number.isInteger(r.uid)) return undefined;
  return r;
}

/** The record of private lab `name`, whether its sandbox still runs or not; undefined when there is none. */
export function readRecord(name: string): PrivateRecord | undefined {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') return undefined;
  const text = readFileNoFollow(recordFile(name));
  return text === undefined ? undefined : parseRecord(text, name);
}

/**
 * The record of private lab `name` when its sandbox still runs. A record whose sandbox is gone (killed, or the
 * machine rebooted) is removed on the way: there is nothing left of that lab.
 */
export function liveRecord(name: string): PrivateRecord | undefined {
  const r = readRecord(name);
  if (!r) return undefined;
  if (recordAlive(r)) return r;
  removeRecord(r);
  return undefined;
}

/** Every private lab of this user whose sandbox runs, by name (records of gone sandboxes are removed). */
export function liveRecords(): PrivateRecord[] {
  let files: string[];
  try {
    files = readdirSync(recordsDir());
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.json') && !f.includes('.tmp'))
    .sort()
    .flatMap((f) => liveRecord(f.slice(0, -'.json'.length)) ?? []);
}

/**
 * Writes a new record, only if none of that name exists (link(2) of a complete temporary file: the name is
 * taken atomically, with its whole content). False when another record has the name.
 */
export function createRecord(r: PrivateRecord): boolean {
  ensureRecordsDir();
  const file = recordFile(r.name);
  const tmp = `${file}.new.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileAtomic(tmp, `${JSON.stringify(r)}\n`, 0o600);
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Replaces a record (what is known once the lab is up: its file and nodes). */
export function updateRecord(r: PrivateRecord): void {
  ensureRecordsDir();
  writeFileAtomic(
    recordFile(r.name),
    `${JSON.stringify({ ...r, updatedAt: new Date().toISOString() })}\n`,
    0o600,
  );
}

/**
 * Removes the record of `r`, unless the file now holds another sandbox's (made under the same name since `r` was
 * read).
 */
export function removeRecord(r: PrivateRecord): void {
  const file = recordFile(r.name);
  const now = readFileNoFollow(file);
  if (now === undefined) return;
  const there = parseRecord(now, r.name);
  if (there && (there.init.pid !== r.init.pid || there.init.start !== r.init.start)) return;
  rmSync(file, { force: true });
}
