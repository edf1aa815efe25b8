/**
 * What of a lab's names the lab really owns, proven from the kernel rather than from a list of names: a namespace
 * is the lab's when the identity recorded when nslab made it (the nsfs device and inode of /run/netns/NAME) is
 * still the one at that name, and it is neither the namespace playing the host nor the one nslab runs in.
 */
import { fstatSync } from 'node:fs';
import { type NetnsId, namedNetnsId, sameNetnsId } from '../netns/named.js';
import { homeNetnsFd } from '../netns/thread.js';
import type { Ledger } from '../plan/types.js';

/** What is at one of the lab's namespace names now. */
export type NamespaceClaim =
  /** The namespace the lab made. */
  | { name: string; state: 'owned'; id: NetnsId }
  /** A namespace the lab did not make (another identity, none recorded, or the host's). */
  | { name: string; state: 'foreign'; id: NetnsId; why: string }
  /** A plain file, the placeholder of a creation killed before its bind mount. */
  | { name: string; state: 'placeholder' }
  /** Nothing. */
  | { name: string; state: 'gone' };

/** Identity of the namespace this process started in. */
export function homeNetnsId(): NetnsId {
  const st = fstatSync(homeNetnsFd);
  return { dev: st.dev, ino: st.ino };
}

/** Identities that are never a lab's: the namespace nslab runs in, and the one playing the host. */
function protectedIds(hostNetns: string | null): NetnsId[] {
  const ids = [homeNetnsId()];
  if (hostNetns !== null) {
    const h = namedNetnsId(hostNetns);
    if (typeof h === 'object') ids.push(h.id);
  }
  return ids;
}

/** Checks every namespace name of the ledger (intents included) against the kernel. */
export function claimNamespaces(ledger: Ledger, hostNetns: string | null): NamespaceClaim[] {
  const recorded = new Map(ledger.identities.map((id) => [id.name, id]));
  const guarded = protectedIds(hostNetns);
  return ledger.namespaces.map((name): NamespaceClaim => {
    const now = namedNetnsId(name);
    if (now === undefined) return { name, state: 'gone' };
    if (now === 'file') return { name, state: 'placeholder' };
    if (name === hostNetns || guarded.some((g) => sameNetnsId(g, now.id)))
      return { name, state: 'foreign', id: now.id, why: 'it is the namespace playing the host' };
    const rec = recorded.get(name);
    if (!rec)
      return { name, state: 'foreign', id: now.id, why: `lab ${ledger.lab} never recorded making it` };
    if (!sameNetnsId(rec, now.id))
      return {
        name,
        state: 'foreign',
        id: now.id,
        why: `it is another namespace than the one lab ${ledger.lab} made (inode ${now.id.ino}, not ${rec.ino})`,
      };
    return { name, state: 'owned', id: now.id };
  });
}

/** The sentence for a namespace that has a lab's name and is left alone. */
export function foreignNote(c: Extract<NamespaceClaim, { state: 'foreign' }>): string {
  return `namespace ${c.name} has a name of the lab but is not the lab's (${c.why}): left alone`;
}
