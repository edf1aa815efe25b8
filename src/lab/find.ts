/**
 * Finding labs that are up, from the ledgers in the state directory: by name, whatever host namespace a lab was
 * built against (the host namespace is asked for only when two labs share the name), or by one of its nodes.
 */
import { existsSync } from 'node:fs';
import { listRecorded, type RecordedLab, recordedKeys } from '../apply/store.js';
import { namedNetnsExists } from '../netns/named.js';
import { insideSandbox } from '../sandbox/inside.js';
import { liveRecords } from '../sandbox/records.js';
import { NslabError } from '../sys/errors.js';

/** A lab recorded as up on this machine. */
export interface LabSummary {
  name: string;
  hostNetns: string | null;
  /** The namespace that played the host is gone (and the lab with it, most likely). */
  hostMissing: boolean;
  file?: string;
  nodes: number;
  updatedAt: string;
  /** Set when its ledger is damaged: the sentence saying so, with how to recover. */
  damaged?: string;
  /** Set for a private lab: the pid of its sandbox's holder, and whether it outlives its maker (CLI labs do). */
  private?: { holder: number; detached: boolean };
}

/** True when `arg` names a topology file rather than a lab (an existing path, or a .yml/.yaml name). */
export function isFileArgument(arg: string): boolean {
  return /\.ya?ml$/.test(arg) || existsSync(arg);
}

/** No lab of that name (or with that node) is up. */
export class NotUpError extends NslabError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'NotUpError';
  }
}

function hostNote(hostNetns: string | null | undefined): string {
  return hostNetns ? ` with host namespace ${hostNetns}` : '';
}

/** Private labs of this user whose sandbox runs (none from inside a sandbox, which sees its own ledger). */
function privateLabs(): LabSummary[] {
  if (insideSandbox()) return [];
  return liveRecords().map((r) => ({
    name: r.name,
    hostNetns: null,
    hostMissing: false,
    ...(r.file ? { file: r.file } : {}),
    nodes: r.nodes?.length ?? 0,
    updatedAt: r.updatedAt,
    private: { holder: r.holder.pid, detached: r.detached },
  }));
}

/** Labs recorded as up, damaged ledgers included, and this user's private labs. */
export function listLabs(): LabSummary[] {
  const machine = listRecorded().map((r) => ({
    name: r.lab,
    hostNetns: r.hostNetns,
    hostMissing: r.hostNetns !== null && !namedNetnsExists(r.hostNetns),
    file: r.ledger?.file,
    nodes: r.ledger?.applied.nodes.length ?? 0,
    updatedAt: r.ledger?.updatedAt ?? '',
    ...(r.damaged ? { damaged: r.damaged.message } : {}),
  }));
  return [...machine, ...privateLabs()];
}

/**
 * The records of labs named `name`: the one with host namespace `hostNetns` when it is given (null: the real
 * default namespace), else those of every host namespace.
 */
function named(name: string, hostNetns: string | null | undefined): RecordedLab[] {
  return listRecorded(name).filter((r) => hostNetns === undefined || r.hostNetns === hostNetns);
}

/**
 * The host namespace of the lab `name` for `down`, from the names of the state files alone (a damaged ledger
 * counts): `hostNetns` when given; else the one host namespace a lab of that name is recorded with; null when
 * none is (the real default namespace). Several: a sentence asking for --host-netns.
 */
export function hostForDown(name: string, hostNetns: string | null | undefined): string | null {
  if (hostNetns !== undefined) return hostNetns;
  const hosts = recordedKeys(name).map((k) => k.hostNetns);
  if (hosts.length > 1) {
    const list = hosts.map((h) => h ?? '(the default namespace)').join(', ');
    throw new NslabError(
      `several labs named ${name} are up, with host namespaces ${list}: choose one with --host-netns NAME`,
      2,
    );
  }
  return hosts[0] ?? null;
}

/** The one record among `found`, or a sentence: none is up, or several share the name (then --host-netns). */
function one(
  found: RecordedLab[],
  what: string,
  hostNetns: string | null | undefined,
  none = `no lab ${what} is up`,
): RecordedLab {
  if (found.length === 0) throw new NotUpError(`${none}${hostNote(hostNetns)}`);
  if (found.length > 1) {
    const hosts = found.map((r) => r.hostNetns ?? '(the default namespace)').join(', ');
    throw new NslabError(
      `several labs ${what} are up, with host namespaces ${hosts}: choose one with --host-netns NAME`,
      2,
    );
  }
  if (found[0].damaged) throw found[0].damaged;
  return found[0];
}

/** The lab that is up under `name` (see `named`); throws a sentence when none or several are, or it is damaged. */
export function findLab(name: string, hostNetns: string | null | undefined): RecordedLab {
  return one(named(name, hostNetns), `named ${name}`, hostNetns);
}

/**
 * The host namespace of the lab `name` as recorded: `hostNetns` when given; else the one host namespace it is
 * up with; null when it is not up (or is up with the real default namespace). Several: a sentence.
 */
export function recordedHost(name: string, hostNetns: string | null | undefined): string | null {
  if (hostNetns !== undefined) return hostNetns;
  const found = named(name, undefined);
  if (found.length === 0) return null;
  return one(found, `named ${name}`, undefined).hostNetns;
}

/**
 * The lab that is up and has a node called `node`: the one named `lab` when given, else the only one that has
 * it. Throws a sentence when none or several do.
 */
export function findNodeLab(node: string, opts: { lab?: string; hostNetns?: string | null }): RecordedLab {
  if (opts.lab) return findLab(opts.lab, opts.hostNetns);
  const found = listRecorded().filter(
    (r) =>
      r.ledger?.applied.nodes.some((n) => n.name === node) &&
      (opts.hostNetns === undefined || r.hostNetns === opts.hostNetns),
  );
  if (found.length > 1 && new Set(found.map((r) => r.lab)).size > 1) {
    throw new NslabError(
      `several labs have a node called ${node} (${[...new Set(found.map((r) => r.lab))].join(', ')}): choose one with --lab NAME`,
      2,
    );
  }
  return one(
    found,
    `that have a node called ${node}`,
    opts.hostNetns,
    `no lab that is up has a node called ${node}`,
  );
}
