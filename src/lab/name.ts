/**
 * Lab names given from outside the file: `--name NAME` (`name` in `Lab.up`'s options), which overrides the file's
 * `name:` everywhere (ledger, device marks `nslab:NAME`, nftables tables `nslab_NAME`), and the unique names the
 * library gives private labs (`seed-7f3a`), so that parallel test workers never collide.
 */
import { randomBytes } from 'node:crypto';
import { NslabError } from '../sys/errors.js';
import { labNameProblem, MAX_LAB_NAME_BYTES } from '../topology/names.js';
import type { ResolvedLab } from '../topology/types.js';

/** The lab under another name; a name that cannot name a lab is refused with a sentence (exit code 2). */
export function renamed(lab: ResolvedLab, name: string | undefined): ResolvedLab {
  if (name === undefined || name === lab.name) return lab;
  const problem = labNameProblem(name);
  if (problem) throw new NslabError(`the lab name given (--name) ${problem}`, 2);
  return { ...lab, name };
}

/** `BASE-XXXX` with four random hex digits, cut to fit a lab name. */
export function uniqueLabName(base: string): string {
  const suffix = randomBytes(2).toString('hex');
  return `${base.slice(0, MAX_LAB_NAME_BYTES - suffix.length - 1)}-${suffix}`;
}
