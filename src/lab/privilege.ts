/**
 * Whether this process may change network namespaces: CAP_SYS_ADMIN and CAP_NET_ADMIN in its effective set, as
 * /proc/self/status shows them.
 */
import { readFileSync } from 'node:fs';
import { NslabError } from '../sys/errors.js';

/** True when this process may change network namespaces (CAP_SYS_ADMIN and CAP_NET_ADMIN). */
export function privileged(): boolean {
  try {
    requirePrivilege();
    return true;
  } catch {
    return false;
  }
}

/** Throws, with the privilege needed, when this process cannot change network namespaces. */
export function requirePrivilege(): void {
  let capEff = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    capEff = m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    capEff = process.getuid?.() === 0 ? -1n : 0n;
  }
  const CAP_NET_ADMIN = 1n << 12n;
  const CAP_SYS_ADMIN = 1n << 21n;
  if ((capEff & CAP_NET_ADMIN) === 0n || (capEff & CAP_SYS_ADMIN) === 0n) {
    throw new NslabError(
      'nslab needs root to create network namespaces and interfaces (CAP_SYS_ADMIN and CAP_NET_ADMIN): run it with sudo.',
      1,
    );
  }
}
