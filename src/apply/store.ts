/**
 * Where nslab records what it owns: one JSON ledger per lab under /run/nslab (tmpfs: a reboot, which takes the
 * namespaces away, takes the ledgers too), and a lock file per lab so that two `up`/`down` of the same lab
 * never interleave.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Ledger } from '../plan/types.js';
import { NslabError } from '../sys/errors.js';

/** Directory of ledgers and locks; NSLAB_STATE_DIR overrides it. */
export function stateDir(): string {
  return process.env.NSLAB_STATE_DIR ?? '/run/nslab';
}

/** Key of a lab on this machine: its name, and the namespace playing the host when it is not the real one. */
export function labKey(lab: string, hostNetns: string | null): string {
  return hostNetns ? `${lab}@${hostNetns}` : lab;
}

function ledgerFile(key: string): string {
  return join(stateDir(), `${key}.json`);
}

export function readLedger(lab: string, hostNetns: string | null): Ledger | undefined {
  try {
    return JSON.parse(readFileSync(ledgerFile(labKey(lab, hostNetns)), 'utf8')) as Ledger;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new NslabError(`cannot read the state of lab ${lab}: ${(e as Error).message}`);
  }
}

/** Writes the ledger atomically (write to a temporary file, then rename). */
export function writeLedger(ledger: Ledger): void {
  mkdirSync(stateDir(), { recursive: true, mode: 0o755 });
  const file = ledgerFile(labKey(ledger.lab, ledger.hostNetns));
  writeFileSync(`${file}.tmp`, `${JSON.stringify(ledger, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

export function removeLedger(lab: string, hostNetns: string | null): void {
  rmSync(ledgerFile(labKey(lab, hostNetns)), { force: true });
}

/** Every recorded lab (those deployed and not yet taken down). */
export function listLedgers(): Ledger[] {
  let files: string[];
  try {
    files = readdirSync(stateDir()).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.flatMap((f) => {
    try {
      return [JSON.parse(readFileSync(join(stateDir(), f), 'utf8')) as Ledger];
    } catch {
      return [];
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lab's lock (`<key>.lock`, created exclusively, holding our pid), waiting while another live process
 * holds it; a lock left by a dead process is taken over. Returns the release function.
 */
export async function lockLab(key: string, timeoutMs = 30_000): Promise<() => void> {
  mkdirSync(stateDir(), { recursive: true, mode: 0o755 });
  const file = join(stateDir(), `${key}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(file, 'utf8'));
    } catch {
      continue; // released between our two calls
    }
    if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new NslabError(
        `lab ${key} is being changed by process ${holder}; try again when it has finished`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
